//! libbpf's `SEC()` table (libbpf 1.5, Linux 6.12 `section_defs`): the program type, expected
//! attach type and load flags each ELF section name implies, and how BTF-attached programs name
//! their target. The loader owns it; the facade decides which of these types it can verify.

pub use kbpf_isa::uapi::{AttachType, KernelProgType};

/// libbpf's `SEC_*` cookie bits that change what is loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecFlags {
    /// `SEC_SLEEPABLE`: loaded with `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
    /// `SEC_XDP_FRAGS`: loaded with `BPF_F_XDP_HAS_FRAGS`.
    pub xdp_frags: bool,
    /// `SEC_ATTACH_BTF`: the text after `/` names a BTF target whose id goes into
    /// `attach_btf_id`.
    pub attach_btf: bool,
    /// `SEC_USDT`: libbpf switches the expected attach type to `BPF_TRACE_UPROBE_MULTI` on a
    /// kernel with uprobe-multi links (6.6+).
    pub usdt: bool,
}

/// `BPF_F_SLEEPABLE`.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS`.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecDef {
    /// The pattern: `name+` = `name` or `name/...`; `name/` = any name with that prefix;
    /// otherwise exact.
    pub pattern: &'static str,
    /// The program type.
    pub prog_type: KernelProgType,
    /// The expected attach type libbpf passes to `BPF_PROG_LOAD` (`None` = 0 unset).
    pub attach: Option<AttachType>,
    /// Flags.
    pub flags: SecFlags,
}

impl SecDef {
    /// `prog_flags` libbpf passes for this section.
    pub fn prog_flags(&self) -> u32 {
        let mut f = 0;
        if self.flags.sleepable {
            f |= BPF_F_SLEEPABLE;
        }
        if self.flags.xdp_frags && self.prog_type == KernelProgType::Xdp {
            f |= BPF_F_XDP_HAS_FRAGS;
        }
        f
    }

    /// The expected attach type libbpf loads with on Linux 6.18 (USDT programs become
    /// uprobe-multi ones).
    pub fn load_attach(&self) -> Option<AttachType> {
        if self.flags.usdt { Some(AttachType::TraceUprobeMulti) } else { self.attach }
    }

    /// Whether `section` matches this row.
    pub fn matches(&self, section: &str) -> bool {
        pattern_matches(self.pattern, section)
    }
}

/// libbpf's `sec_def_matches`.
fn pattern_matches(pattern: &str, section: &str) -> bool {
    if pattern.ends_with('/') {
        section.starts_with(pattern)
    } else if let Some(stem) = pattern.strip_suffix('+') {
        section.strip_prefix(stem).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    } else {
        section == pattern
    }
}

const NONE: SecFlags = SecFlags { sleepable: false, xdp_frags: false, attach_btf: false, usdt: false };
const SLEEP: SecFlags = SecFlags { sleepable: true, ..NONE };
const BTF: SecFlags = SecFlags { attach_btf: true, ..NONE };
const BTF_SLEEP: SecFlags = SecFlags { attach_btf: true, sleepable: true, ..NONE };
const FRAGS: SecFlags = SecFlags { xdp_frags: true, ..NONE };
const USDT: SecFlags = SecFlags { usdt: true, ..NONE };
const USDT_SLEEP: SecFlags = SecFlags { usdt: true, sleepable: true, ..NONE };

macro_rules! defs {
    ($(($pat:literal, $pt:ident, $at:expr, $fl:expr),)*) => {
        &[$(SecDef { pattern: $pat, prog_type: KernelProgType::$pt, attach: $at, flags: $fl },)*]
    };
}

/// The table in libbpf's order: the first match wins.
pub const SECTION_DEFS: &[SecDef] = {
    use AttachType as A;
    defs![
        ("socket", SocketFilter, None, NONE),
        ("sk_reuseport/migrate", SkReuseport, Some(A::SkReuseportSelectOrMigrate), NONE),
        ("sk_reuseport", SkReuseport, Some(A::SkReuseportSelect), NONE),
        ("kprobe+", Kprobe, None, NONE),
        ("uprobe+", Kprobe, None, NONE),
        ("uprobe.s+", Kprobe, None, SLEEP),
        ("kretprobe+", Kprobe, None, NONE),
        ("uretprobe+", Kprobe, None, NONE),
        ("uretprobe.s+", Kprobe, None, SLEEP),
        ("kprobe.multi+", Kprobe, Some(A::TraceKprobeMulti), NONE),
        ("kretprobe.multi+", Kprobe, Some(A::TraceKprobeMulti), NONE),
        ("kprobe.session+", Kprobe, Some(A::TraceKprobeSession), NONE),
        ("uprobe.multi+", Kprobe, Some(A::TraceUprobeMulti), NONE),
        ("uretprobe.multi+", Kprobe, Some(A::TraceUprobeMulti), NONE),
        ("uprobe.multi.s+", Kprobe, Some(A::TraceUprobeMulti), SLEEP),
        ("uretprobe.multi.s+", Kprobe, Some(A::TraceUprobeMulti), SLEEP),
        ("ksyscall+", Kprobe, None, NONE),
        ("kretsyscall+", Kprobe, None, NONE),
        ("usdt+", Kprobe, None, USDT),
        ("usdt.s+", Kprobe, None, USDT_SLEEP),
        ("tc/ingress", SchedCls, Some(A::TcxIngress), NONE),
        ("tc/egress", SchedCls, Some(A::TcxEgress), NONE),
        ("tcx/ingress", SchedCls, Some(A::TcxIngress), NONE),
        ("tcx/egress", SchedCls, Some(A::TcxEgress), NONE),
        ("tc", SchedCls, None, NONE),
        ("classifier", SchedCls, None, NONE),
        ("action", SchedAct, None, NONE),
        ("netkit/primary", SchedCls, Some(A::NetkitPrimary), NONE),
        ("netkit/peer", SchedCls, Some(A::NetkitPeer), NONE),
        ("tracepoint+", Tracepoint, None, NONE),
        ("tp+", Tracepoint, None, NONE),
        ("raw_tracepoint+", RawTracepoint, None, NONE),
        ("raw_tp+", RawTracepoint, None, NONE),
        ("raw_tracepoint.w+", RawTracepointWritable, None, NONE),
        ("raw_tp.w+", RawTracepointWritable, None, NONE),
        ("tp_btf+", Tracing, Some(A::TraceRawTp), BTF),
        ("fentry+", Tracing, Some(A::TraceFentry), BTF),
        ("fmod_ret+", Tracing, Some(A::ModifyReturn), BTF),
        ("fexit+", Tracing, Some(A::TraceFexit), BTF),
        ("fentry.s+", Tracing, Some(A::TraceFentry), BTF_SLEEP),
        ("fmod_ret.s+", Tracing, Some(A::ModifyReturn), BTF_SLEEP),
        ("fexit.s+", Tracing, Some(A::TraceFexit), BTF_SLEEP),
        ("freplace+", Ext, None, BTF),
        ("lsm+", Lsm, Some(A::LsmMac), BTF),
        ("lsm.s+", Lsm, Some(A::LsmMac), BTF_SLEEP),
        ("lsm_cgroup+", Lsm, Some(A::LsmCgroup), BTF),
        ("iter+", Tracing, Some(A::TraceIter), BTF),
        ("iter.s+", Tracing, Some(A::TraceIter), BTF_SLEEP),
        ("syscall", Syscall, None, SLEEP),
        ("xdp.frags/devmap", Xdp, Some(A::XdpDevmap), FRAGS),
        ("xdp/devmap", Xdp, Some(A::XdpDevmap), NONE),
        ("xdp.frags/cpumap", Xdp, Some(A::XdpCpumap), FRAGS),
        ("xdp/cpumap", Xdp, Some(A::XdpCpumap), NONE),
        ("xdp.frags", Xdp, Some(A::Xdp), FRAGS),
        ("xdp", Xdp, Some(A::Xdp), NONE),
        ("perf_event", PerfEvent, None, NONE),
        ("lwt_in", LwtIn, None, NONE),
        ("lwt_out", LwtOut, None, NONE),
        ("lwt_xmit", LwtXmit, None, NONE),
        ("lwt_seg6local", LwtSeg6local, None, NONE),
        ("sockops", SockOps, Some(A::CgroupSockOps), NONE),
        ("sk_skb/stream_parser", SkSkb, Some(A::SkSkbStreamParser), NONE),
        ("sk_skb/stream_verdict", SkSkb, Some(A::SkSkbStreamVerdict), NONE),
        ("sk_skb/verdict", SkSkb, Some(A::SkSkbVerdict), NONE),
        ("sk_skb", SkSkb, None, NONE),
        ("sk_msg", SkMsg, Some(A::SkMsgVerdict), NONE),
        ("lirc_mode2", LircMode2, Some(A::LircMode2), NONE),
        ("flow_dissector", FlowDissector, Some(A::FlowDissector), NONE),
        ("cgroup_skb/ingress", CgroupSkb, Some(A::CgroupInetIngress), NONE),
        ("cgroup_skb/egress", CgroupSkb, Some(A::CgroupInetEgress), NONE),
        ("cgroup/skb", CgroupSkb, None, NONE),
        ("cgroup/sock_create", CgroupSock, Some(A::CgroupInetSockCreate), NONE),
        ("cgroup/sock_release", CgroupSock, Some(A::CgroupInetSockRelease), NONE),
        ("cgroup/sock", CgroupSock, Some(A::CgroupInetSockCreate), NONE),
        ("cgroup/post_bind4", CgroupSock, Some(A::CgroupInet4PostBind), NONE),
        ("cgroup/post_bind6", CgroupSock, Some(A::CgroupInet6PostBind), NONE),
        ("cgroup/bind4", CgroupSockAddr, Some(A::CgroupInet4Bind), NONE),
        ("cgroup/bind6", CgroupSockAddr, Some(A::CgroupInet6Bind), NONE),
        ("cgroup/connect4", CgroupSockAddr, Some(A::CgroupInet4Connect), NONE),
        ("cgroup/connect6", CgroupSockAddr, Some(A::CgroupInet6Connect), NONE),
        ("cgroup/connect_unix", CgroupSockAddr, Some(A::CgroupUnixConnect), NONE),
        ("cgroup/sendmsg4", CgroupSockAddr, Some(A::CgroupUdp4Sendmsg), NONE),
        ("cgroup/sendmsg6", CgroupSockAddr, Some(A::CgroupUdp6Sendmsg), NONE),
        ("cgroup/sendmsg_unix", CgroupSockAddr, Some(A::CgroupUnixSendmsg), NONE),
        ("cgroup/recvmsg4", CgroupSockAddr, Some(A::CgroupUdp4Recvmsg), NONE),
        ("cgroup/recvmsg6", CgroupSockAddr, Some(A::CgroupUdp6Recvmsg), NONE),
        ("cgroup/recvmsg_unix", CgroupSockAddr, Some(A::CgroupUnixRecvmsg), NONE),
        ("cgroup/getpeername4", CgroupSockAddr, Some(A::CgroupInet4Getpeername), NONE),
        ("cgroup/getpeername6", CgroupSockAddr, Some(A::CgroupInet6Getpeername), NONE),
        ("cgroup/getpeername_unix", CgroupSockAddr, Some(A::CgroupUnixGetpeername), NONE),
        ("cgroup/getsockname4", CgroupSockAddr, Some(A::CgroupInet4Getsockname), NONE),
        ("cgroup/getsockname6", CgroupSockAddr, Some(A::CgroupInet6Getsockname), NONE),
        ("cgroup/getsockname_unix", CgroupSockAddr, Some(A::CgroupUnixGetsockname), NONE),
        ("cgroup/sysctl", CgroupSysctl, Some(A::CgroupSysctl), NONE),
        ("cgroup/getsockopt", CgroupSockopt, Some(A::CgroupGetsockopt), NONE),
        ("cgroup/setsockopt", CgroupSockopt, Some(A::CgroupSetsockopt), NONE),
        ("cgroup/dev", CgroupDevice, Some(A::CgroupDevice), NONE),
        ("struct_ops+", StructOps, None, NONE),
        ("struct_ops.s+", StructOps, None, SLEEP),
        ("sk_lookup", SkLookup, Some(A::SkLookup), NONE),
        ("netfilter", Netfilter, Some(A::Netfilter), NONE),
    ]
};

/// The row libbpf picks for `section` (`find_sec_def`), if any.
pub fn find_sec_def(section: &str) -> Option<&'static SecDef> {
    SECTION_DEFS.iter().find(|d| d.matches(section))
}

/// How a BTF-attached program names its target in the target BTF (libbpf's
/// `btf_get_kernel_prefix_kind`): raw tracepoints are `typedef btf_trace_NAME`, LSM hooks
/// `bpf_lsm_NAME` functions, iterators `bpf_iter_NAME` functions, the rest plain functions.
pub fn attach_target_prefix(attach: Option<AttachType>) -> (&'static str, TargetKind) {
    match attach {
        Some(AttachType::TraceRawTp) => ("btf_trace_", TargetKind::Typedef),
        Some(AttachType::LsmMac | AttachType::LsmCgroup) => ("bpf_lsm_", TargetKind::Func),
        Some(AttachType::TraceIter) => ("bpf_iter_", TargetKind::Func),
        _ => ("", TargetKind::Func),
    }
}

/// The BTF kind an attach target has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// `BTF_KIND_FUNC`.
    Func,
    /// `BTF_KIND_TYPEDEF`.
    Typedef,
}

/// The attach target a BTF-attached section names: the text after its first `/` (libbpf's
/// `strchr(sec_name, '/')`), with an optional `module:` prefix split off.
pub fn attach_target_name(section: &str) -> Option<(Option<&str>, &str)> {
    let (_, rest) = section.split_once('/')?;
    Some(match rest.split_once(':') {
        Some((module, name)) => (Some(module), name),
        None => (None, rest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rules() {
        assert_eq!(find_sec_def("kprobe/do_exit").unwrap().pattern, "kprobe+");
        assert_eq!(find_sec_def("kprobe").unwrap().pattern, "kprobe+");
        assert!(find_sec_def("kprobefoo").is_none());
        assert!(find_sec_def("socket/x").is_none());
        assert_eq!(find_sec_def("kprobe.multi/x").unwrap().attach, Some(AttachType::TraceKprobeMulti));
        assert_eq!(find_sec_def("xdp.frags").unwrap().prog_flags(), BPF_F_XDP_HAS_FRAGS);
        assert_eq!(find_sec_def("fentry.s/x").unwrap().prog_flags(), BPF_F_SLEEPABLE);
        assert_eq!(find_sec_def("syscall").unwrap().prog_flags(), BPF_F_SLEEPABLE);
        assert_eq!(find_sec_def("usdt/a:b:c").unwrap().load_attach(), Some(AttachType::TraceUprobeMulti));
        assert_eq!(find_sec_def("xdp_vlan01"), None);
        assert_eq!(find_sec_def("sk_skb/verdict").unwrap().attach, Some(AttachType::SkSkbVerdict));
        assert_eq!(find_sec_def("sk_skb/other"), None);
        assert_eq!(KernelProgType::Netfilter.number(), 32);
        assert_eq!(KernelProgType::SocketFilter.number(), 1);
        assert_eq!(AttachType::TraceKprobeSession as u32, 56);
    }

    #[test]
    fn attach_targets() {
        assert_eq!(attach_target_name("fentry/do_exit"), Some((None, "do_exit")));
        assert_eq!(attach_target_name("fentry/bpf_testmod:foo"), Some((Some("bpf_testmod"), "foo")));
        assert_eq!(attach_target_name("fentry"), None);
        assert_eq!(attach_target_prefix(Some(AttachType::TraceRawTp)), ("btf_trace_", TargetKind::Typedef));
        assert_eq!(attach_target_prefix(Some(AttachType::LsmCgroup)), ("bpf_lsm_", TargetKind::Func));
        assert_eq!(attach_target_prefix(Some(AttachType::TraceIter)), ("bpf_iter_", TargetKind::Func));
    }
}
