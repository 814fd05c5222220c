//! Program types by name: libbpf's ELF section names (the loader's table,
//! [`kbpf_elf::sections`]) and the kernel's program type names, and which of them the verifier
//! models. Anything else is an error that names what was asked for and lists what is
//! supported; nothing is verified as a guessed type.

pub use kbpf_elf::sections::{AttachType, KernelProgType, SECTION_DEFS, SecDef, find_sec_def};
use kbpf_verifier::{LwtKind, ProgType, SockAddrHook, SockHook};
use thiserror::Error;

/// The verifier's model of a kernel program type, if it has one (with the kernel's default
/// expected attach type, 0 = `BPF_CGROUP_INET_INGRESS`, where the type reads it).
pub fn modelled(kind: KernelProgType) -> Option<ProgType> {
    modelled_with(kind, None)
}

/// The verifier's model of a kernel program type loaded with expected attach type `attach`.
/// A type whose rules need an attach type the kernel would refuse (a sock_addr program
/// without its hook) has none.
pub fn modelled_with(kind: KernelProgType, attach: Option<AttachType>) -> Option<ProgType> {
    use AttachType as A;
    use KernelProgType as K;
    Some(match kind {
        K::SocketFilter => ProgType::SocketFilter,
        K::SchedCls => ProgType::SchedCls,
        K::Xdp => ProgType::Xdp,
        K::Syscall => ProgType::Syscall,
        K::CgroupSkb => ProgType::CgroupSkb { egress: attach == Some(A::CgroupInetEgress) },
        K::CgroupSock => ProgType::CgroupSock(match attach {
            Some(A::CgroupInetSockRelease) => SockHook::Release,
            Some(A::CgroupInet4PostBind) => SockHook::PostBind4,
            Some(A::CgroupInet6PostBind) => SockHook::PostBind6,
            // the kernel turns 0 into BPF_CGROUP_INET_SOCK_CREATE for this type
            _ => SockHook::Create,
        }),
        K::CgroupSockAddr => ProgType::CgroupSockAddr(sock_addr_hook(attach?)?),
        K::CgroupSockopt => match attach? {
            A::CgroupGetsockopt => ProgType::CgroupSockopt { set: false },
            A::CgroupSetsockopt => ProgType::CgroupSockopt { set: true },
            _ => return None,
        },
        K::CgroupSysctl => ProgType::CgroupSysctl,
        K::CgroupDevice => ProgType::CgroupDevice,
        K::SockOps => ProgType::SockOps,
        K::SkSkb => ProgType::SkSkb,
        K::SkMsg => ProgType::SkMsg,
        K::SkLookup => ProgType::SkLookup,
        K::SkReuseport => ProgType::SkReuseport,
        K::FlowDissector => ProgType::FlowDissector,
        K::LwtIn => ProgType::Lwt(LwtKind::In),
        K::LwtOut => ProgType::Lwt(LwtKind::Out),
        K::LwtXmit => ProgType::Lwt(LwtKind::Xmit),
        K::LwtSeg6local => ProgType::Lwt(LwtKind::Seg6local),
        _ => return None,
    })
}

/// The sock_addr hook of an expected attach type.
fn sock_addr_hook(attach: AttachType) -> Option<SockAddrHook> {
    use AttachType as A;
    use SockAddrHook::*;
    Some(match attach {
        A::CgroupInet4Bind => Bind4,
        A::CgroupInet6Bind => Bind6,
        A::CgroupInet4Connect => Connect4,
        A::CgroupInet6Connect => Connect6,
        A::CgroupUdp4Sendmsg => Sendmsg4,
        A::CgroupUdp6Sendmsg => Sendmsg6,
        A::CgroupUdp4Recvmsg => Recvmsg4,
        A::CgroupUdp6Recvmsg => Recvmsg6,
        A::CgroupInet4Getpeername => Getpeername4,
        A::CgroupInet6Getpeername => Getpeername6,
        A::CgroupInet4Getsockname => Getsockname4,
        A::CgroupInet6Getsockname => Getsockname6,
        A::CgroupUnixConnect => UnixConnect,
        A::CgroupUnixSendmsg => UnixSendmsg,
        A::CgroupUnixRecvmsg => UnixRecvmsg,
        A::CgroupUnixGetpeername => UnixGetpeername,
        A::CgroupUnixGetsockname => UnixGetsockname,
        _ => return None,
    })
}

/// Expected attach types that change what the verifier allows where kbpf models only the
/// type's default (a devmap program may read `egress_ifindex`).
fn unmodelled_attach(def: &SecDef) -> Option<AttachType> {
    def.attach.filter(|a| matches!(a, AttachType::XdpDevmap | AttachType::XdpCpumap))
}

/// The kernel program type libbpf gives an ELF section, whether kbpf models it or not.
pub fn kernel_prog_type_for_section(section: &str) -> Option<KernelProgType> {
    find_sec_def(section).map(|d| d.prog_type)
}

/// What the program types kbpf models are called: for `--prog-type` and in errors.
pub const SUPPORTED_PROG_TYPES: &str = "socket_filter, sched_cls (tc), xdp, syscall, mem, cgroup_skb, cgroup_sock, cgroup_sysctl, cgroup_device, sock_ops, sk_skb, sk_msg, sk_lookup, sk_reuseport, flow_dissector, lwt_in, lwt_out, lwt_xmit, lwt_seg6local";

/// The section names that imply a modelled program type, as libbpf spells them.
fn supported_sections() -> String {
    SECTION_DEFS
        .iter()
        .filter(|d| modelled_with(d.prog_type, d.attach).is_some() && unmodelled_attach(d).is_none())
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
    let Some(def) = find_sec_def(section) else {
        return Err(ProgTypeError::UnknownSection { section: section.to_string() });
    };
    if let Some(attach) = unmodelled_attach(def) {
        let (kind, attach) = (def.prog_type, attach.uapi_name());
        return Err(ProgTypeError::UnmodelledAttach { section: section.to_string(), kind, attach });
    }
    modelled_with(def.prog_type, def.attach)
        .ok_or_else(|| ProgTypeError::UnmodelledSection { section: section.to_string(), kind: def.prog_type })
}

/// The verifier's model of `kind`, or the refusal naming `section`.
pub fn modelled_type(section: &str, kind: KernelProgType) -> Result<ProgType, ProgTypeError> {
    modelled(kind).ok_or_else(|| ProgTypeError::UnmodelledSection { section: section.to_string(), kind })
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
            ("action", KernelProgType::SchedAct),
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
