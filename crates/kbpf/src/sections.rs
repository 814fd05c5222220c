//! Program types by name: libbpf's ELF section names and the kernel's program type names, and
//! which of them the verifier models. Anything else is an error that names what was asked for
//! and lists what is supported; nothing is verified as a guessed type.

use kbpf_verifier::ProgType;
use thiserror::Error;

/// Declares [`KernelProgType`] once: each variant with the short name libbpf and bpftool print,
/// in the kernel's numbering order (`enum bpf_prog_type`, from 1).
macro_rules! kernel_prog_types {
    ($($variant:ident => $name:literal,)*) => {
        /// The kernel's program types (`enum bpf_prog_type`) that libbpf's section names map to.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum KernelProgType {
            $($variant,)*
        }

        impl KernelProgType {
            /// Every type, in the kernel's numbering order.
            pub const ALL: &'static [KernelProgType] = &[$(KernelProgType::$variant,)*];

            /// The short name libbpf and bpftool print (`kprobe`, `sched_cls`).
            pub fn name(self) -> &'static str {
                match self {
                    $(KernelProgType::$variant => $name,)*
                }
            }
        }
    };
}

kernel_prog_types! {
    SocketFilter => "socket_filter",
    Kprobe => "kprobe",
    SchedCls => "sched_cls",
    SchedAct => "sched_act",
    Tracepoint => "tracepoint",
    Xdp => "xdp",
    PerfEvent => "perf_event",
    CgroupSkb => "cgroup_skb",
    CgroupSock => "cgroup_sock",
    LwtIn => "lwt_in",
    LwtOut => "lwt_out",
    LwtXmit => "lwt_xmit",
    SockOps => "sock_ops",
    SkSkb => "sk_skb",
    CgroupDevice => "cgroup_device",
    SkMsg => "sk_msg",
    RawTracepoint => "raw_tracepoint",
    CgroupSockAddr => "cgroup_sock_addr",
    LwtSeg6local => "lwt_seg6local",
    LircMode2 => "lirc_mode2",
    SkReuseport => "sk_reuseport",
    FlowDissector => "flow_dissector",
    CgroupSysctl => "cgroup_sysctl",
    RawTracepointWritable => "raw_tracepoint_writable",
    CgroupSockopt => "cgroup_sockopt",
    Tracing => "tracing",
    StructOps => "struct_ops",
    Ext => "ext",
    Lsm => "lsm",
    SkLookup => "sk_lookup",
    Syscall => "syscall",
    Netfilter => "netfilter",
}

impl KernelProgType {
    /// The uapi constant, `BPF_PROG_TYPE_KPROBE`.
    pub fn uapi_name(self) -> String {
        format!("BPF_PROG_TYPE_{}", self.name().to_ascii_uppercase())
    }

    /// The verifier's model of this type, if it has one.
    pub fn modelled(self) -> Option<ProgType> {
        Some(match self {
            KernelProgType::SocketFilter => ProgType::SocketFilter,
            KernelProgType::SchedCls => ProgType::SchedCls,
            KernelProgType::Xdp => ProgType::Xdp,
            KernelProgType::Syscall => ProgType::Syscall,
            _ => return None,
        })
    }
}

/// libbpf's section names (its `section_defs` table, in its order: the first match wins) and the
/// program type each implies. A trailing `+` matches the name alone or followed by `/...`; a
/// trailing `/` matches any name with that prefix; anything else matches exactly.
const SECTIONS: &[(&str, KernelProgType)] = {
    use KernelProgType::*;
    &[
        ("socket", SocketFilter),
        ("sk_reuseport/migrate", SkReuseport),
        ("sk_reuseport", SkReuseport),
        ("kprobe+", Kprobe),
        ("uprobe+", Kprobe),
        ("uprobe.s+", Kprobe),
        ("kretprobe+", Kprobe),
        ("uretprobe+", Kprobe),
        ("uretprobe.s+", Kprobe),
        ("kprobe.multi+", Kprobe),
        ("kretprobe.multi+", Kprobe),
        ("uprobe.multi+", Kprobe),
        ("uretprobe.multi+", Kprobe),
        ("uprobe.multi.s+", Kprobe),
        ("uretprobe.multi.s+", Kprobe),
        ("ksyscall+", Kprobe),
        ("kretsyscall+", Kprobe),
        ("usdt+", Kprobe),
        ("usdt.s+", Kprobe),
        ("tc/ingress", SchedCls),
        ("tc/egress", SchedCls),
        ("tcx/ingress", SchedCls),
        ("tcx/egress", SchedCls),
        ("tc", SchedCls),
        ("classifier", SchedCls),
        ("action", SchedAct),
        ("netkit/primary", SchedCls),
        ("netkit/peer", SchedCls),
        ("tracepoint+", Tracepoint),
        ("tp+", Tracepoint),
        ("raw_tracepoint+", RawTracepoint),
        ("raw_tp+", RawTracepoint),
        ("raw_tracepoint.w+", RawTracepointWritable),
        ("raw_tp.w+", RawTracepointWritable),
        ("tp_btf+", Tracing),
        ("fentry+", Tracing),
        ("fmod_ret+", Tracing),
        ("fexit+", Tracing),
        ("fentry.s+", Tracing),
        ("fmod_ret.s+", Tracing),
        ("fexit.s+", Tracing),
        ("freplace+", Ext),
        ("lsm+", Lsm),
        ("lsm.s+", Lsm),
        ("lsm_cgroup+", Lsm),
        ("iter+", Tracing),
        ("iter.s+", Tracing),
        ("syscall", Syscall),
        ("xdp.frags/devmap", Xdp),
        ("xdp/devmap", Xdp),
        ("xdp.frags/cpumap", Xdp),
        ("xdp/cpumap", Xdp),
        ("xdp.frags", Xdp),
        ("xdp", Xdp),
        ("perf_event", PerfEvent),
        ("lwt_in", LwtIn),
        ("lwt_out", LwtOut),
        ("lwt_xmit", LwtXmit),
        ("lwt_seg6local", LwtSeg6local),
        ("sockops", SockOps),
        ("sk_skb/stream_parser", SkSkb),
        ("sk_skb/stream_verdict", SkSkb),
        ("sk_skb", SkSkb),
        ("sk_msg", SkMsg),
        ("lirc_mode2", LircMode2),
        ("flow_dissector", FlowDissector),
        ("cgroup_skb/ingress", CgroupSkb),
        ("cgroup_skb/egress", CgroupSkb),
        ("cgroup/skb", CgroupSkb),
        ("cgroup/sock_create", CgroupSock),
        ("cgroup/sock_release", CgroupSock),
        ("cgroup/sock", CgroupSock),
        ("cgroup/post_bind4", CgroupSock),
        ("cgroup/post_bind6", CgroupSock),
        ("cgroup/bind4", CgroupSockAddr),
        ("cgroup/bind6", CgroupSockAddr),
        ("cgroup/connect4", CgroupSockAddr),
        ("cgroup/connect6", CgroupSockAddr),
        ("cgroup/connect_unix", CgroupSockAddr),
        ("cgroup/sendmsg4", CgroupSockAddr),
        ("cgroup/sendmsg6", CgroupSockAddr),
        ("cgroup/sendmsg_unix", CgroupSockAddr),
        ("cgroup/recvmsg4", CgroupSockAddr),
        ("cgroup/recvmsg6", CgroupSockAddr),
        ("cgroup/recvmsg_unix", CgroupSockAddr),
        ("cgroup/getpeername4", CgroupSockAddr),
        ("cgroup/getpeername6", CgroupSockAddr),
        ("cgroup/getpeername_unix", CgroupSockAddr),
        ("cgroup/getsockname4", CgroupSockAddr),
        ("cgroup/getsockname6", CgroupSockAddr),
        ("cgroup/getsockname_unix", CgroupSockAddr),
        ("cgroup/sysctl", CgroupSysctl),
        ("cgroup/getsockopt", CgroupSockopt),
        ("cgroup/setsockopt", CgroupSockopt),
        ("cgroup/dev", CgroupDevice),
        ("struct_ops+", StructOps),
        ("struct_ops.s+", StructOps),
        ("sk_lookup", SkLookup),
        ("netfilter", Netfilter),
    ]
};

/// Whether `section` matches libbpf's pattern `pattern` (see [`SECTIONS`]).
fn matches(pattern: &str, section: &str) -> bool {
    if pattern.ends_with('/') {
        section.starts_with(pattern)
    } else if let Some(stem) = pattern.strip_suffix('+') {
        section.strip_prefix(stem).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    } else {
        section == pattern
    }
}

/// Sections whose expected attach type changes what the verifier allows, where kbpf models
/// only the type's default (a devmap program may read `egress_ifindex`), with that attach type.
const UNMODELLED_ATTACH: &[(&str, &str)] = &[
    ("xdp.frags/devmap", "BPF_XDP_DEVMAP"),
    ("xdp/devmap", "BPF_XDP_DEVMAP"),
    ("xdp.frags/cpumap", "BPF_XDP_CPUMAP"),
    ("xdp/cpumap", "BPF_XDP_CPUMAP"),
];

/// The kernel program type libbpf gives an ELF section, whether kbpf models it or not.
pub fn kernel_prog_type_for_section(section: &str) -> Option<KernelProgType> {
    SECTIONS.iter().find(|(p, _)| matches(p, section)).map(|&(_, t)| t)
}

/// What the program types kbpf models are called: for `--prog-type` and in errors.
pub const SUPPORTED_PROG_TYPES: &str = "socket_filter, sched_cls (tc), xdp, syscall, mem";

/// The section names that imply a modelled program type, as libbpf spells them.
fn supported_sections() -> String {
    SECTIONS
        .iter()
        .filter(|(p, t)| t.modelled().is_some() && !UNMODELLED_ATTACH.iter().any(|(a, _)| a == p))
        .map(|(p, _)| p.trim_end_matches('+'))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A program type that cannot be verified: kbpf does not model it, or no one knows the name.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProgTypeError {
    /// An ELF section libbpf maps to a program type the verifier does not model.
    #[error(
        "section {section} is {}, which kbpf does not model yet; supported: {}",
        kind.uapi_name(),
        supported_sections()
    )]
    UnmodelledSection {
        /// The section name.
        section: String,
        /// The program type libbpf gives it.
        kind: KernelProgType,
    },
    /// An ELF section of a modelled type whose expected attach type kbpf does not model.
    #[error(
        "section {section} is {} with expected attach type {attach}, which kbpf does not model yet; supported: {}",
        kind.uapi_name(),
        supported_sections()
    )]
    UnmodelledAttach {
        /// The section name.
        section: String,
        /// The program type libbpf gives it.
        kind: KernelProgType,
        /// The uapi name of its expected attach type.
        attach: &'static str,
    },
    /// An ELF section name that is none of libbpf's.
    #[error(
        "unknown section {section:?} (libbpf gives it no program type); supported: {}",
        supported_sections()
    )]
    UnknownSection {
        /// The section name.
        section: String,
    },
    /// A program type name of the kernel's that the verifier does not model.
    #[error(
        "program type {name} is {}, which kbpf does not model yet; supported: {SUPPORTED_PROG_TYPES}",
        kind.uapi_name()
    )]
    UnmodelledType {
        /// The name as given.
        name: String,
        /// The kernel's type of that name.
        kind: KernelProgType,
    },
    /// A name that is no program type.
    #[error("unknown program type {name:?}; supported: {SUPPORTED_PROG_TYPES}")]
    UnknownType {
        /// The name as given.
        name: String,
    },
}

/// The program type an ELF section name implies, by libbpf's table: `socket`, `tc`,
/// `classifier`, `tc/ingress`, `tcx/egress`, `xdp`, `xdp.frags`, `syscall` ... A section of a
/// type the verifier does not model (`kprobe/...`), or no libbpf section at all, is an error.
pub fn prog_type_for_section(section: &str) -> Result<ProgType, ProgTypeError> {
    let pattern = SECTIONS.iter().find(|(p, _)| matches(p, section)).map(|(p, _)| *p);
    if let Some(&(_, attach)) = UNMODELLED_ATTACH.iter().find(|(p, _)| Some(*p) == pattern) {
        let kind = KernelProgType::Xdp;
        return Err(ProgTypeError::UnmodelledAttach { section: section.to_string(), kind, attach });
    }
    match kernel_prog_type_for_section(section) {
        Some(kind) => kind
            .modelled()
            .ok_or_else(|| ProgTypeError::UnmodelledSection { section: section.to_string(), kind }),
        None => Err(ProgTypeError::UnknownSection { section: section.to_string() }),
    }
}

/// A program type by name: the kernel's and libbpf's short names (`socket_filter`, `sched_cls`,
/// `xdp`, `syscall`), the aliases `socket`, `tc` and `classifier`, and kbpf's `mem` (a plain
/// buffer of `ctx_size` bytes as the context).
pub fn prog_type_by_name(name: &str, ctx_size: u32) -> Result<ProgType, ProgTypeError> {
    match name {
        "mem" => return Ok(ProgType::Mem { ctx_size }),
        "socket" => return Ok(ProgType::SocketFilter),
        "tc" | "classifier" => return Ok(ProgType::SchedCls),
        _ => {}
    }
    match KernelProgType::ALL.iter().copied().find(|t| t.name() == name) {
        Some(kind) => {
            kind.modelled().ok_or_else(|| ProgTypeError::UnmodelledType { name: name.to_string(), kind })
        }
        None => Err(ProgTypeError::UnknownType { name: name.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modelled_sections() {
        for s in ["tc", "classifier", "tc/ingress", "tcx/egress", "tcx/ingress", "netkit/peer"] {
            assert_eq!(prog_type_for_section(s), Ok(ProgType::SchedCls), "{s}");
        }
        for s in ["xdp", "xdp.frags"] {
            assert_eq!(prog_type_for_section(s), Ok(ProgType::Xdp), "{s}");
        }
        let e = prog_type_for_section("xdp/devmap").unwrap_err().to_string();
        assert!(
            e.starts_with("section xdp/devmap is BPF_PROG_TYPE_XDP with expected attach type BPF_XDP_DEVMAP"),
            "{e}"
        );
        assert!(e.ends_with("netkit/peer, syscall, xdp.frags, xdp"), "{e}");
        assert_eq!(prog_type_for_section("socket"), Ok(ProgType::SocketFilter));
        assert_eq!(prog_type_for_section("syscall"), Ok(ProgType::Syscall));
    }

    #[test]
    fn unmodelled_sections_name_their_type() {
        for (s, kind) in [
            ("kprobe/foo", KernelProgType::Kprobe),
            ("kprobe", KernelProgType::Kprobe),
            ("tracepoint/syscalls/x", KernelProgType::Tracepoint),
            ("fentry/do_exit", KernelProgType::Tracing),
            ("lsm/file_open", KernelProgType::Lsm),
            ("cgroup_skb/ingress", KernelProgType::CgroupSkb),
            ("action", KernelProgType::SchedAct),
            ("sk_skb/stream_parser", KernelProgType::SkSkb),
        ] {
            let e = prog_type_for_section(s).unwrap_err();
            assert_eq!(e, ProgTypeError::UnmodelledSection { section: s.into(), kind }, "{s}");
        }
        let msg = prog_type_for_section("kprobe/foo").unwrap_err().to_string();
        assert!(
            msg.starts_with("section kprobe/foo is BPF_PROG_TYPE_KPROBE, which kbpf does not model yet; supported: socket, tc/ingress"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_sections() {
        // `+` patterns need the `/` separator; exact names take nothing after them (libbpf)
        for s in ["tcp", "kprobefoo", "tc/a", "socket/x", ".text", ""] {
            assert_eq!(
                prog_type_for_section(s),
                Err(ProgTypeError::UnknownSection { section: s.into() }),
                "{s}"
            );
        }
        let msg = prog_type_for_section("tcp").unwrap_err().to_string();
        assert!(msg.starts_with("unknown section \"tcp\""), "{msg}");
    }

    #[test]
    fn names() {
        assert_eq!(prog_type_by_name("tc", 0), Ok(ProgType::SchedCls));
        assert_eq!(prog_type_by_name("sched_cls", 0), Ok(ProgType::SchedCls));
        assert_eq!(prog_type_by_name("mem", 8), Ok(ProgType::Mem { ctx_size: 8 }));
        assert_eq!(
            prog_type_by_name("kprobe", 0).unwrap_err().to_string(),
            format!(
                "program type kprobe is BPF_PROG_TYPE_KPROBE, which kbpf does not model yet; supported: {SUPPORTED_PROG_TYPES}"
            )
        );
        assert_eq!(
            prog_type_by_name("bogus", 0).unwrap_err().to_string(),
            format!("unknown program type \"bogus\"; supported: {SUPPORTED_PROG_TYPES}")
        );
        assert_eq!(
            KernelProgType::RawTracepointWritable.uapi_name(),
            "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE"
        );
    }
}
