//! Program types by name: libbpf's ELF section names (the loader's table,
//! [`kbpf_elf::sections`]) and the kernel's program type names, and which of them the verifier
//! models. Anything else is an error that names what was asked for and lists what is
//! supported; nothing is verified as a guessed type.

pub use kbpf_elf::sections::{AttachType, KernelProgType, SECTION_DEFS, SecDef, find_sec_def};
use kbpf_verifier::{KprobeAttach, KprobeProg, LwtKind, ProgType, TargetArch};
use thiserror::Error;

/// The verifier's model of a kernel program type, if it has one.
pub fn modelled(kind: KernelProgType) -> Option<ProgType> {
    Some(match kind {
        KernelProgType::SocketFilter => ProgType::SocketFilter,
        KernelProgType::SchedCls => ProgType::SchedCls,
        KernelProgType::Xdp => ProgType::Xdp,
        KernelProgType::Syscall => ProgType::Syscall,
        KernelProgType::CgroupSkb => ProgType::CgroupSkb,
        KernelProgType::CgroupSock => ProgType::CgroupSock,
        KernelProgType::CgroupSockAddr => ProgType::CgroupSockAddr,
        KernelProgType::CgroupSockopt => ProgType::CgroupSockopt,
        KernelProgType::CgroupSysctl => ProgType::CgroupSysctl,
        KernelProgType::CgroupDevice => ProgType::CgroupDevice,
        KernelProgType::SockOps => ProgType::SockOps,
        KernelProgType::SkSkb => ProgType::SkSkb,
        KernelProgType::SkMsg => ProgType::SkMsg,
        KernelProgType::SkLookup => ProgType::SkLookup,
        KernelProgType::SkReuseport => ProgType::SkReuseport,
        KernelProgType::FlowDissector => ProgType::FlowDissector,
        KernelProgType::LwtIn => ProgType::Lwt(LwtKind::In),
        KernelProgType::LwtOut => ProgType::Lwt(LwtKind::Out),
        KernelProgType::LwtXmit => ProgType::Lwt(LwtKind::Xmit),
        KernelProgType::LwtSeg6local => ProgType::Lwt(LwtKind::Seg6local),
        KernelProgType::Tracing => ProgType::Tracing,
        KernelProgType::Lsm => ProgType::Lsm,
        KernelProgType::Kprobe => ProgType::Kprobe(KprobeProg::default()),
        KernelProgType::Tracepoint => ProgType::Tracepoint,
        KernelProgType::RawTracepoint => ProgType::RawTracepoint,
        KernelProgType::RawTracepointWritable => ProgType::RawTracepointWritable,
        KernelProgType::PerfEvent => ProgType::PerfEvent { arch: TargetArch::default() },
        KernelProgType::SchedAct => ProgType::SchedAct,
        KernelProgType::Netfilter => ProgType::Netfilter,
        KernelProgType::LircMode2 => ProgType::LircMode2,
        KernelProgType::StructOps => ProgType::StructOps,
        _ => return None,
    })
}

/// The verifier's model of a section's program, with what its expected attach type and
/// flags change: a kprobe's link flavour (libbpf's load-time attach type, so USDTs are
/// uprobe-multi programs) and whether it may sleep.
fn modelled_def(def: &SecDef) -> Option<ProgType> {
    let pt = modelled(def.prog_type)?;
    Some(match pt {
        ProgType::Kprobe(k) => ProgType::Kprobe(KprobeProg {
            attach: match def.load_attach() {
                Some(AttachType::TraceKprobeMulti) => KprobeAttach::KprobeMulti,
                Some(AttachType::TraceKprobeSession) => KprobeAttach::KprobeSession,
                Some(AttachType::TraceUprobeMulti) => KprobeAttach::UprobeMulti,
                _ => KprobeAttach::Single,
            },
            sleepable: def.flags.sleepable,
            ..k
        }),
        other => other,
    })
}

/// The kernel program type libbpf gives an ELF section, whether kbpf models it or not.
pub fn kernel_prog_type_for_section(section: &str) -> Option<KernelProgType> {
    find_sec_def(section).map(|d| d.prog_type)
}

/// What the program types kbpf models are called: for `--prog-type` and in errors.
pub const SUPPORTED_PROG_TYPES: &str = "socket_filter, sched_cls (tc), xdp, syscall, kprobe, tracepoint, raw_tracepoint, raw_tracepoint_writable, perf_event, tracing, lsm, cgroup_skb, cgroup_sock, cgroup_sock_addr, cgroup_sockopt, cgroup_sysctl, cgroup_device, sock_ops, sk_skb, sk_msg, sk_lookup, sk_reuseport, flow_dissector, lwt_in, lwt_out, lwt_xmit, lwt_seg6local, sched_act, netfilter, lirc_mode2, struct_ops, mem";

/// The section names that imply a modelled program type, as libbpf spells them.
fn supported_sections() -> String {
    SECTION_DEFS
        .iter()
        .filter(|d| modelled(d.prog_type).is_some())
        .map(|d| d.pattern.trim_end_matches('+'))
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
    /// A name that is no attach type of the kernel's.
    #[error("unknown attach type {name:?}: give a kernel uapi name, like xdp_devmap or BPF_XDP_DEVMAP")]
    UnknownAttachType {
        /// The name as given.
        name: String,
    },
}

/// The program type an ELF section name implies, by libbpf's table: `socket`, `tc`,
/// `classifier`, `tc/ingress`, `tcx/egress`, `xdp`, `xdp.frags`, `syscall` ... A section of a
/// type the verifier does not model (`kprobe/...`), or no libbpf section at all, is an error.
pub fn prog_type_for_section(section: &str) -> Result<ProgType, ProgTypeError> {
    let Some(def) = find_sec_def(section) else {
        return Err(ProgTypeError::UnknownSection { section: section.to_string() });
    };
    modelled_def(def)
        .ok_or_else(|| ProgTypeError::UnmodelledSection { section: section.to_string(), kind: def.prog_type })
}

/// The verifier's model of `kind`, or the refusal naming `section`.
pub fn modelled_type(section: &str, kind: KernelProgType) -> Result<ProgType, ProgTypeError> {
    modelled(kind).ok_or_else(|| ProgTypeError::UnmodelledSection { section: section.to_string(), kind })
}

/// An expected attach type by its kernel uapi name (`--attach-type`): `BPF_XDP_DEVMAP` or
/// `xdp_devmap`, in either case.
pub fn attach_type_by_name(name: &str) -> Result<AttachType, ProgTypeError> {
    AttachType::by_name(name).ok_or_else(|| ProgTypeError::UnknownAttachType { name: name.to_string() })
}

/// The kernel program type of a name (`--prog-type`): the short names and the aliases
/// `socket`, `tc`, `classifier`.
pub fn kernel_prog_type_by_name(name: &str) -> Option<KernelProgType> {
    match name {
        "socket" => Some(KernelProgType::SocketFilter),
        "tc" | "classifier" => Some(KernelProgType::SchedCls),
        _ => KernelProgType::by_name(name),
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
    match kernel_prog_type_by_name(name) {
        Some(kind) => {
            modelled(kind).ok_or_else(|| ProgTypeError::UnmodelledType { name: name.to_string(), kind })
        }
        None => Err(ProgTypeError::UnknownType { name: name.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_type_names() {
        assert_eq!(attach_type_by_name("xdp_devmap"), Ok(AttachType::XdpDevmap));
        assert_eq!(attach_type_by_name("BPF_XDP_DEVMAP"), Ok(AttachType::XdpDevmap));
        let e = attach_type_by_name("devmap").unwrap_err().to_string();
        assert!(e.starts_with("unknown attach type \"devmap\""), "{e}");
    }

    #[test]
    fn modelled_sections() {
        for s in ["tc", "classifier", "tc/ingress", "tcx/egress", "tcx/ingress", "netkit/peer"] {
            assert_eq!(prog_type_for_section(s), Ok(ProgType::SchedCls), "{s}");
        }
        for s in ["xdp", "xdp.frags"] {
            assert_eq!(prog_type_for_section(s), Ok(ProgType::Xdp), "{s}");
        }
        // the attach type travels beside the type (the verifier's attach rules use it)
        for s in ["xdp/devmap", "xdp.frags/cpumap"] {
            assert_eq!(prog_type_for_section(s), Ok(ProgType::Xdp), "{s}");
        }
        let e = prog_type_for_section("freplace/f").unwrap_err().to_string();
        for part in [
            "netkit/peer",
            "syscall, xdp.frags/devmap, xdp/devmap",
            "kprobe",
            "fentry",
            "cgroup/dev",
            "sk_lookup",
        ] {
            assert!(e.contains(part), "{part}: {e}");
        }
        // the networking and cgroup types: the hook travels as the attach type
        for (s, t) in [
            ("cgroup_skb/egress", ProgType::CgroupSkb),
            ("cgroup/connect4", ProgType::CgroupSockAddr),
            ("cgroup/post_bind6", ProgType::CgroupSock),
            ("cgroup/getsockopt", ProgType::CgroupSockopt),
            ("sockops", ProgType::SockOps),
            ("sk_skb/stream_parser", ProgType::SkSkb),
            ("sk_reuseport/migrate", ProgType::SkReuseport),
            ("lwt_xmit", ProgType::Lwt(LwtKind::Xmit)),
        ] {
            assert_eq!(prog_type_for_section(s), Ok(t), "{s}");
        }
        assert_eq!(prog_type_for_section("socket"), Ok(ProgType::SocketFilter));
        // BTF-attached types: the attach type says fentry, tp_btf, iter ...
        for s in ["fentry/do_exit", "fexit.s/x", "tp_btf/sched_switch", "iter/task", "fmod_ret/f"] {
            assert_eq!(prog_type_for_section(s), Ok(ProgType::Tracing), "{s}");
        }
        for s in ["lsm/file_open", "lsm.s/bprm_committed_creds", "lsm_cgroup/socket_bind"] {
            assert_eq!(prog_type_for_section(s), Ok(ProgType::Lsm), "{s}");
        }
        assert_eq!(prog_type_for_section("syscall"), Ok(ProgType::Syscall));
    }

    #[test]
    fn tracing_sections() {
        let kprobe =
            |attach, sleepable| ProgType::Kprobe(KprobeProg { attach, sleepable, ..Default::default() });
        for s in ["kprobe/f", "kretprobe/f", "uprobe/p:f", "ksyscall/nanosleep", "kretsyscall/x"] {
            assert_eq!(prog_type_for_section(s), Ok(kprobe(KprobeAttach::Single, false)), "{s}");
        }
        assert_eq!(prog_type_for_section("uprobe.s/p:f"), Ok(kprobe(KprobeAttach::Single, true)));
        assert_eq!(prog_type_for_section("kprobe.multi/f*"), Ok(kprobe(KprobeAttach::KprobeMulti, false)));
        assert_eq!(prog_type_for_section("kprobe.session/f"), Ok(kprobe(KprobeAttach::KprobeSession, false)));
        assert_eq!(prog_type_for_section("usdt/a:b:c"), Ok(kprobe(KprobeAttach::UprobeMulti, false)));
        assert_eq!(prog_type_for_section("uprobe.multi.s/p:f"), Ok(kprobe(KprobeAttach::UprobeMulti, true)));
        assert_eq!(prog_type_for_section("tp/sched/sched_switch"), Ok(ProgType::Tracepoint));
        assert_eq!(prog_type_for_section("raw_tp/sys_enter"), Ok(ProgType::RawTracepoint));
        assert_eq!(prog_type_for_section("raw_tp.w/bpf_test_finish"), Ok(ProgType::RawTracepointWritable));
        assert_eq!(prog_type_for_section("perf_event"), Ok(ProgType::PerfEvent { arch: TargetArch::X86_64 }));
    }

    #[test]
    fn unmodelled_sections_name_their_type() {
        let e = prog_type_for_section("freplace/f").unwrap_err();
        assert_eq!(
            e,
            ProgTypeError::UnmodelledSection { section: "freplace/f".into(), kind: KernelProgType::Ext }
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "section freplace/f is BPF_PROG_TYPE_EXT, which kbpf does not model yet; supported: socket, "
            ),
            "{msg}"
        );
        // the types of session 5: tc actions, netfilter, lirc and struct_ops
        assert_eq!(prog_type_for_section("action"), Ok(ProgType::SchedAct));
        assert_eq!(prog_type_for_section("netfilter"), Ok(ProgType::Netfilter));
        assert_eq!(prog_type_for_section("lirc_mode2"), Ok(ProgType::LircMode2));
        assert_eq!(prog_type_for_section("struct_ops/test_1"), Ok(ProgType::StructOps));
        assert_eq!(prog_type_for_section("struct_ops.s/test_2"), Ok(ProgType::StructOps));
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
        assert_eq!(prog_type_by_name("kprobe", 0), Ok(ProgType::Kprobe(KprobeProg::default())));
        assert_eq!(
            prog_type_by_name("ext", 0).unwrap_err().to_string(),
            format!(
                "program type ext is BPF_PROG_TYPE_EXT, which kbpf does not model yet; supported: {SUPPORTED_PROG_TYPES}"
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
