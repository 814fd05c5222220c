//! Program types as the kernel's `bpf_verifier_ops`: one module per type says which context
//! bytes a program may touch and what a load yields (`is_valid_access`), which helpers it may
//! call (`get_func_proto`), whether it may read the packet through `LD_ABS`/`LD_IND` or write
//! it directly, whether it may sleep, what `r0` must hold at exit and how many context bytes a
//! run hands it, and which load attributes (expected attach type, attach BTF id) it accepts
//! (`bpf_prog_load_check_attach`). The rest of the verifier asks [`ProgType::ops`], never
//! matches on the type.

mod cgroup_misc;
mod cgroup_skb;
mod cgroup_sock;
mod cgroup_sock_addr;
mod flow_dissector;
pub mod hooks;
mod kprobe;
mod lirc_mode2;
mod lsm;
mod lwt;
mod mem;
#[cfg(test)]
mod net_tests;
mod netfilter;
mod perf_event;
mod raw_tp;
mod sched_cls;
mod sk_lookup;
mod sk_msg;
mod sk_reuseport;
mod sk_skb;
mod skb;
mod skb_kernel;
mod sock_ops;
mod socket_filter;
pub mod struct_ops;
mod syscall;
mod tracepoint;
mod tracing;
mod xdp;

use crate::ProgType;
use crate::domain::state::RegType;
use crate::fixups::{CtxConv, XInsn};
use crate::messages::AttachReject;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::Proto;
use kbpf_isa::{AttachType, Insn, KernelProgType};

/// What a valid context load yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxField {
    /// An unknown scalar.
    Scalar,
    /// A pointer of this type with offset 0.
    Pointer(RegType),
    /// A pointer that must be NULL-checked (gets a fresh id).
    PointerOrNull(RegType),
    /// `PTR_TO_BTF_ID` to the struct `btf_id` of the target BTF, with these type flags
    /// (`MAYBE_NULL` gives it a fresh id).
    Btf {
        /// Struct id.
        btf_id: u32,
        /// `PTR_TRUSTED`, `MAYBE_NULL`, ...
        flags: u16,
    },
    /// `PTR_TO_BTF_ID` to the target BTF's struct of this name (the context of a type that
    /// holds kernel pointers, like netfilter's), with these type flags.
    BtfNamed {
        /// The struct's name.
        name: &'static str,
        /// `PTR_TRUSTED`, ...
        flags: u16,
    },
    /// A context field of a kind kbpf does not model (the program gets no verdict).
    Unmodelled(&'static str),
}

/// One context access as the instruction makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxAccess {
    /// Byte offset into the context (register offset plus instruction offset).
    pub off: i64,
    /// Access size in bytes.
    pub size: i64,
    /// A store rather than a load.
    pub write: bool,
    /// A sign-extending load (`BPF_MEMSX`).
    pub ldsx: bool,
    /// The program's expected attach type (some fields exist for one attach point only).
    pub attach: Option<AttachType>,
}

/// A context access kbpf cannot translate for a layout (yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {prog_type} context access `{}`", kbpf_isa::disasm::format_insn(.insn, 0, kbpf_isa::disasm::Syntax::Kernel))]
pub struct CtxUnsupported {
    /// The program type.
    pub prog_type: &'static str,
    /// The access.
    pub insn: Insn,
}

/// Why a context access does not convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CtxError {
    /// kbpf does not translate this access (yet).
    #[error(transparent)]
    Unsupported(#[from] CtxUnsupported),
    /// The conversion addresses a kernel structure field the target's BTF does not describe.
    #[error("the target kernel's BTF does not describe {0}")]
    NoLayout(crate::fixups::KernelField),
}

/// The load attributes `bpf_prog_load_check_attach` judges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadAttach {
    /// `expected_attach_type` (`None` = 0).
    pub expected_attach_type: Option<AttachType>,
    /// `attach_btf_id` (0 = none).
    pub attach_btf_id: u32,
}

impl LoadAttach {
    /// The uapi number the kernel sees: 0 when unset.
    pub fn attach_number(&self) -> u32 {
        self.expected_attach_type.map_or(0, AttachType::number)
    }
}

/// The per-type rules (`struct bpf_verifier_ops` plus the `may_*` predicates the kernel keeps
/// as switches over the type).
pub trait ProgTypeOps {
    /// The kernel's name without `BPF_PROG_TYPE_`, lower case (`sched_cls`), as messages
    /// print it.
    fn name(&self) -> &'static str;

    /// The kernel's program type (`None` for kbpf's own `mem`): kfunc registrations name the
    /// types that may call them this way.
    fn kernel_type(&self) -> Option<KernelProgType>;

    /// `bpf_prog_load_check_attach`, which runs before the verifier (a refusal is `EINVAL`
    /// with an empty log). The default is the kernel's `default:` case: any expected attach
    /// type (the type ignores it), but no attach BTF id, which only BTF-attached types
    /// (tracing, lsm, struct_ops, ext) take.
    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        no_attach_btf(self.name(), a)
    }

    /// `is_valid_access`: `None` = the access is invalid.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField>;

    /// `convert_ctx_access`: the instructions that replace the context load or store `insn`
    /// (which the walk accepted) for the context layout `target`. The default refuses: a type
    /// says how its context translates or kbpf says it cannot.
    fn convert_ctx_access(&self, insn: &Insn, cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        let _ = cx;
        Err(CtxUnsupported { prog_type: self.name(), insn: *insn }.into())
    }

    /// `gen_prologue`: instructions the kernel puts before the program's first (given
    /// `env->seen_direct_write`); none by default.
    fn gen_prologue(&self, direct_write: bool, cx: &CtxConv<'_>) -> Result<Vec<XInsn>, CtxError> {
        let _ = (direct_write, cx);
        Ok(Vec::new())
    }

    /// `get_func_proto`: the prototype of helper `f`, `None` when this type may not call it
    /// (or kbpf does not model it).
    fn func_proto(&self, f: BpfFunc) -> Option<Proto>;

    /// A helper the kernel offers this type whose prototype kbpf does not model yet: a call
    /// to it is unsupported rather than refused.
    fn unmodelled_helper(&self, _f: BpfFunc) -> bool {
        false
    }

    /// `check_get_func_ip`: whether a program of this type that has `bpf_get_func_ip` may
    /// call it (only the tracing types have the helper at all).
    fn get_func_ip_support(&self) -> bool {
        true
    }

    /// `is_tracing_prog_type`: kprobes, tracepoints, raw tracepoints and perf events, which
    /// may not use maps holding timers (or locks and graph roots, which kbpf's maps lack).
    fn is_tracing(&self) -> bool {
        false
    }

    /// `may_access_skb`: `LD_ABS` / `LD_IND` allowed.
    fn may_access_skb(&self) -> bool {
        false
    }

    /// Direct packet writes allowed (`may_access_direct_pkt_data` for a write).
    fn may_write_packet(&self) -> bool {
        false
    }

    /// Sleepable: helpers that may sleep are allowed.
    fn sleepable(&self) -> bool {
        false
    }

    /// `check_return_code`: the range `r0` must lie in at the main program's exit; `None` = any
    /// readable value (every type kbpf models so far).
    fn retval_range(&self) -> Option<(i64, i64)> {
        None
    }

    /// Context bytes a caller supplies for a run (`None`: the context holds pointers and is
    /// built by the test run).
    fn ctx_bytes(&self) -> Option<usize> {
        None
    }

    /// `may_access_direct_pkt_data` for a helper argument: whether a packet pointer may be
    /// passed to a helper declared with `pkt_access` (`declared`). The types with direct
    /// packet access take the helper's word; cgroup sockopt programs (whose "packet" is the
    /// option buffer) pass it to any helper; the rest never.
    fn helper_packet_access(&self, declared: bool) -> bool {
        declared
    }

    /// `may_update_sockmap`: `bpf_map_update_elem` (or, with `delete`, `bpf_map_delete_elem`)
    /// on a sockmap or sockhash is allowed where no locked socket can be reached.
    fn may_update_sockmap(&self, _delete: bool) -> bool {
        false
    }

    /// The name of the context struct as BTF spells it in programs (`__sk_buff`, `xdp_md`):
    /// a global function's parameter pointing to it takes the context
    /// (`btf_is_prog_ctx_type`); empty = only an `arg:ctx` tag does.
    fn ctx_type_name(&self) -> &'static str {
        ""
    }

    /// When the context type is a typedef (`bpf_user_pt_regs_t`), the struct it names: a
    /// parameter pointing to that struct takes the context too.
    fn ctx_typedef_target(&self) -> &'static str {
        ""
    }
}

/// A program type's rules, borrowed or (for the types that carry parameters: a size, a link,
/// an architecture) owned.
pub enum Ops {
    /// A type without parameters.
    Static(&'static dyn ProgTypeOps),
    /// The userspace memory context.
    Mem(mem::Mem),
    /// A type whose rules depend on its expected attach type.
    Hooked(Box<dyn ProgTypeOps>),
    /// A kprobe-family program (its link and architecture).
    Kprobe(kprobe::Kprobe),
    /// A perf event program (its architecture).
    PerfEvent(perf_event::PerfEvent),
}

impl std::ops::Deref for Ops {
    type Target = dyn ProgTypeOps;

    fn deref(&self) -> &(dyn ProgTypeOps + 'static) {
        match self {
            Ops::Static(o) => *o,
            Ops::Mem(m) => m,
            Ops::Hooked(o) => o.as_ref(),
            Ops::Kprobe(k) => k,
            Ops::PerfEvent(p) => p,
        }
    }
}

impl ProgType {
    /// The rules of this program type loaded without an expected attach type.
    pub fn ops(self) -> Ops {
        self.ops_with(None)
    }

    /// The rules of this program type loaded with expected attach type `attach` (the cgroup
    /// socket types read it for their fields, helpers and return range).
    pub fn ops_with(self, attach: Option<AttachType>) -> Ops {
        match self {
            ProgType::SocketFilter => Ops::Static(&socket_filter::SocketFilter),
            ProgType::Xdp => Ops::Static(&xdp::Xdp),
            ProgType::SchedCls => Ops::Static(&sched_cls::SchedCls),
            ProgType::Syscall => Ops::Static(&syscall::Syscall),
            ProgType::Tracing => Ops::Static(&tracing::Tracing),
            ProgType::Lsm => Ops::Static(&lsm::Lsm),
            ProgType::Mem { ctx_size } => Ops::Mem(mem::Mem { ctx_size }),
            ProgType::CgroupSkb => Ops::Hooked(Box::new(cgroup_skb::CgroupSkb::new(attach))),
            ProgType::CgroupSock => Ops::Hooked(Box::new(cgroup_sock::CgroupSock::new(attach))),
            ProgType::CgroupSockAddr => Ops::Hooked(Box::new(cgroup_sock_addr::CgroupSockAddr::new(attach))),
            ProgType::CgroupSockopt => Ops::Hooked(Box::new(cgroup_misc::CgroupSockopt::new(attach))),
            ProgType::CgroupSysctl => Ops::Hooked(Box::new(cgroup_misc::CgroupSysctl { attach })),
            ProgType::CgroupDevice => Ops::Hooked(Box::new(cgroup_misc::CgroupDevice { attach })),
            ProgType::SockOps => Ops::Hooked(Box::new(sock_ops::SockOps { attach })),
            ProgType::SkSkb => Ops::Static(&sk_skb::SkSkb),
            ProgType::SkMsg => Ops::Static(&sk_msg::SkMsg),
            ProgType::SkLookup => Ops::Static(&sk_lookup::SkLookup),
            ProgType::SkReuseport => Ops::Static(&sk_reuseport::SkReuseport),
            ProgType::FlowDissector => Ops::Static(&flow_dissector::FlowDissector),
            ProgType::Lwt(kind) => Ops::Hooked(Box::new(lwt::Lwt { kind })),
            ProgType::Kprobe(k) => Ops::Kprobe(kprobe::Kprobe(k)),
            ProgType::Tracepoint => Ops::Static(&tracepoint::Tracepoint),
            ProgType::RawTracepoint => Ops::Static(&raw_tp::RawTp { writable: false }),
            ProgType::RawTracepointWritable => Ops::Static(&raw_tp::RawTp { writable: true }),
            ProgType::PerfEvent { arch } => Ops::PerfEvent(perf_event::PerfEvent { arch }),
            ProgType::SchedAct => Ops::Static(&sched_cls::SchedAct),
            ProgType::Netfilter => Ops::Static(&netfilter::Netfilter),
            ProgType::LircMode2 => Ops::Static(&lirc_mode2::LircMode2),
            ProgType::StructOps => Ops::Static(&struct_ops::StructOps),
        }
    }
}

/// The attach BTF id check every type kbpf models shares: none may be given.
fn no_attach_btf(prog_type: &'static str, a: LoadAttach) -> Result<(), AttachReject> {
    match a.attach_btf_id {
        0 => Ok(()),
        btf_id => Err(AttachReject::AttachBtfId { prog_type, btf_id }),
    }
}

/// `bpf_prog_load_check_attach` for a type that takes only the attach types in `allowed`
/// (an unset one is 0, `BPF_CGROUP_INET_INGRESS`), and no attach BTF id.
fn attach_one_of(prog_type: &'static str, a: LoadAttach, allowed: &[AttachType]) -> Result<(), AttachReject> {
    let attach = a.expected_attach_type.unwrap_or(AttachType::CgroupInetIngress);
    if !allowed.contains(&attach) {
        return Err(AttachReject::UnexpectedAttachType { prog_type, attach });
    }
    no_attach_btf(prog_type, a)
}

/// Whether `off` lies in `[start, start + len)`.
fn in_range(off: i64, start: i64, len: i64) -> bool {
    off >= start && off < start + len
}

/// `bpf_ctx_narrow_access_ok`: a power-of-two load no wider than the field.
fn narrow_ok(size: i64, field: i64) -> bool {
    size > 0 && size <= field && size & (size - 1) == 0
}

/// `bpf_ctx_wide_access_ok`: an aligned 8-byte access inside an array field of `[start, end)`.
fn wide_ok(off: i64, size: i64, start: i64, end: i64) -> bool {
    off >= start && off + size <= end && off % 8 == 0 && size == 8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(pt: ProgType, off: i64, size: i64, write: bool) -> Option<CtxField> {
        pt.ops().ctx_access(CtxAccess { off, size, write, ldsx: false, attach: None })
    }

    #[test]
    fn skb_rules() {
        let sf = ProgType::SocketFilter;
        assert_eq!(access(sf, 0, 4, false), Some(CtxField::Scalar));
        assert_eq!(access(sf, 0, 8, false), None);
        assert_eq!(access(sf, 0, 4, true), None);
        assert_eq!(access(sf, 48, 4, true), Some(CtxField::Scalar));
        assert_eq!(access(sf, 76, 4, false), None);
        assert_eq!(access(sf, 1000, 8, false), None);
    }

    #[test]
    fn xdp_rules() {
        assert_eq!(access(ProgType::Xdp, 0, 4, false), Some(CtxField::Pointer(RegType::Packet)));
        assert_eq!(access(ProgType::Xdp, 4, 4, false), Some(CtxField::Pointer(RegType::PacketEnd)));
        assert_eq!(access(ProgType::Xdp, 0, 8, false), None);
        assert_eq!(access(ProgType::Xdp, 12, 4, false), Some(CtxField::Scalar));
    }

    fn xdp_read(off: i64, attach: Option<AttachType>) -> Option<CtxField> {
        ProgType::Xdp.ops().ctx_access(CtxAccess { off, size: 4, write: false, ldsx: false, attach })
    }

    #[test]
    fn egress_ifindex_is_for_devmap_programs() {
        assert_eq!(xdp_read(20, Some(AttachType::XdpDevmap)), Some(CtxField::Scalar));
        for other in [None, Some(AttachType::Xdp), Some(AttachType::XdpCpumap), Some(AttachType::TraceFentry)]
        {
            assert_eq!(xdp_read(20, other), None, "{other:?}");
        }
        // the other fields do not depend on it
        assert_eq!(xdp_read(16, Some(AttachType::XdpDevmap)), Some(CtxField::Scalar));
        assert_eq!(xdp_read(0, Some(AttachType::XdpCpumap)), Some(CtxField::Pointer(RegType::Packet)));
        let write =
            CtxAccess { off: 20, size: 4, write: true, ldsx: false, attach: Some(AttachType::XdpDevmap) };
        assert_eq!(ProgType::Xdp.ops().ctx_access(write), None);
    }

    #[test]
    fn check_attach_follows_bpf_prog_load() {
        let at = |t: Option<AttachType>| LoadAttach { expected_attach_type: t, attach_btf_id: 0 };
        // socket filters, tc and xdp ignore the expected attach type, whatever it is
        for pt in [ProgType::SocketFilter, ProgType::SchedCls, ProgType::Xdp, ProgType::Mem { ctx_size: 8 }] {
            for t in [
                None,
                Some(AttachType::XdpDevmap),
                Some(AttachType::TraceFentry),
                Some(AttachType::TcxEgress),
            ] {
                assert_eq!(pt.ops().check_attach(at(t)), Ok(()), "{pt:?} {t:?}");
            }
        }
        // syscall programs take none; 0 (BPF_CGROUP_INET_INGRESS) is "none" to the kernel
        let sys = ProgType::Syscall.ops();
        assert_eq!(sys.check_attach(at(None)), Ok(()));
        assert_eq!(sys.check_attach(at(Some(AttachType::CgroupInetIngress))), Ok(()));
        let e = sys.check_attach(at(Some(AttachType::Xdp))).unwrap_err();
        assert_eq!(e, AttachReject::UnexpectedAttachType { prog_type: "syscall", attach: AttachType::Xdp });
        assert_eq!(e.errno(), kbpf_passes::Errno::EINVAL);
        // no modelled type attaches by BTF id
        for pt in [ProgType::SocketFilter, ProgType::SchedCls, ProgType::Xdp, ProgType::Syscall] {
            let a = LoadAttach { expected_attach_type: None, attach_btf_id: 5 };
            assert!(matches!(pt.ops().check_attach(a), Err(AttachReject::AttachBtfId { btf_id: 5, .. })));
        }
    }

    #[test]
    fn names_are_the_kernels() {
        for pt in [ProgType::SocketFilter, ProgType::SchedCls, ProgType::Xdp, ProgType::Syscall] {
            assert_eq!(pt.ops().kernel_type().map(KernelProgType::name), Some(pt.ops().name()));
        }
        assert_eq!(ProgType::Mem { ctx_size: 64 }.ops().kernel_type(), None);
        assert_eq!(ProgType::SocketFilter.ops().name(), "socket_filter");
        assert_eq!(ProgType::SchedCls.ops().name(), "sched_cls");
        assert_eq!(ProgType::Xdp.ops().name(), "xdp");
        assert_eq!(ProgType::Syscall.ops().name(), "syscall");
        assert_eq!(ProgType::Mem { ctx_size: 64 }.ops().name(), "mem");
    }

    #[test]
    fn helper_sets_differ_by_type() {
        // skb_load_bytes: socket filters and tc, not xdp
        assert!(ProgType::SocketFilter.ops().func_proto(BpfFunc::SkbLoadBytes).is_some());
        assert!(ProgType::SchedCls.ops().func_proto(BpfFunc::SkbLoadBytes).is_some());
        assert!(ProgType::Xdp.ops().func_proto(BpfFunc::SkbLoadBytes).is_none());
        // copy_from_user_task: not for syscall programs
        assert!(ProgType::Syscall.ops().func_proto(BpfFunc::CopyFromUserTask).is_none());
        assert!(ProgType::Mem { ctx_size: 8 }.ops().func_proto(BpfFunc::CopyFromUserTask).is_some());
        // get_netns_cookie: socket filters and tc only
        assert!(ProgType::SocketFilter.ops().func_proto(BpfFunc::GetNetnsCookie).is_some());
        assert!(ProgType::Xdp.ops().func_proto(BpfFunc::GetNetnsCookie).is_none());
    }

    fn kprobe(attach: crate::KprobeAttach, arch: crate::TargetArch) -> ProgType {
        ProgType::Kprobe(crate::KprobeProg { attach, sleepable: false, arch })
    }

    #[test]
    fn kprobe_rules() {
        use crate::{KprobeAttach::*, TargetArch::*};
        let k = kprobe(Single, X86_64);
        assert_eq!(access(k, 0, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(k, 160, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(k, 164, 4, false), Some(CtxField::Scalar));
        assert_eq!(access(k, 168, 8, false), None, "past struct pt_regs");
        assert_eq!(access(k, 4, 8, false), None, "misaligned");
        assert_eq!(access(k, 0, 8, true), None, "read only");
        assert_eq!(access(k, -8, 8, false), None);
        // arm64's kernel pt_regs is larger
        assert_eq!(access(kprobe(Single, Arm64), 320, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(kprobe(Single, Arm64), 336, 8, false), None);
        // get_func_ip: GPL-only except for multi-kprobes; sessions return 0 or 1
        assert!(k.ops().func_proto(BpfFunc::GetFuncIp).is_some_and(|p| p.gpl_only));
        let multi = kprobe(KprobeMulti, X86_64).ops();
        assert!(multi.func_proto(BpfFunc::GetFuncIp).is_some_and(|p| !p.gpl_only));
        assert_eq!(multi.retval_range(), None);
        assert_eq!(kprobe(KprobeSession, X86_64).ops().retval_range(), Some((0, 1)));
        // the prototype exists; whether the kernel has it is KernelConfig's
        assert!(k.ops().func_proto(BpfFunc::OverrideReturn).is_some());
        assert!(!crate::KernelConfig::default().offers(BpfFunc::OverrideReturn));
        let locked = crate::KernelConfig {
            lockdown: crate::Lockdown::Integrity,
            kprobe_override: true,
            kallsyms_all: false,
            lirc_mode2: false,
        };
        assert!(locked.offers(BpfFunc::OverrideReturn) && locked.offers(BpfFunc::ProbeReadKernel));
        assert!(!locked.offers(BpfFunc::ProbeWriteUser));
        assert!(k.ops().func_proto(BpfFunc::PerfEventOutput).is_some());
        assert!(k.ops().func_proto(BpfFunc::PerfProgReadValue).is_none());
        assert!(!k.ops().sleepable());
        // the link flavour follows the expected attach type
        assert_eq!(
            k.with_expected_attach(Some(AttachType::TraceKprobeSession)),
            kprobe(KprobeSession, X86_64)
        );
        assert_eq!(kprobe(KprobeMulti, X86_64).with_expected_attach(None), k);
        assert_eq!(
            ProgType::Tracepoint.with_expected_attach(Some(AttachType::TraceKprobeMulti)),
            ProgType::Tracepoint
        );
    }

    #[test]
    fn tracepoint_rules() {
        let t = ProgType::Tracepoint;
        assert_eq!(access(t, 0, 8, false), None, "the hidden pt_regs pointer");
        assert_eq!(access(t, 8, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(t, 12, 4, false), Some(CtxField::Scalar));
        assert_eq!(access(t, 2056, 4, false), Some(CtxField::Scalar));
        assert_eq!(access(t, 8184, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(t, 8192, 1, false), None, "PERF_MAX_TRACE_SIZE");
        assert_eq!(access(t, 10, 4, false), None);
        assert_eq!(access(t, 8, 8, true), None);
        assert!(t.ops().func_proto(BpfFunc::GetAttachCookie).is_some());
        assert!(t.ops().func_proto(BpfFunc::ReadBranchRecords).is_none());
        assert!(t.ops().unmodelled_helper(BpfFunc::GetCurrentTaskBtf));
    }

    #[test]
    fn raw_tracepoint_rules() {
        let r = ProgType::RawTracepoint;
        assert_eq!(access(r, 0, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(r, 88, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(r, 92, 4, false), Some(CtxField::Scalar));
        assert_eq!(access(r, 96, 8, false), None, "MAX_BPF_FUNC_ARGS u64s");
        assert_eq!(access(r, 0, 8, true), None);
        assert!(r.ops().func_proto(BpfFunc::GetAttachCookie).is_some());
        let w = ProgType::RawTracepointWritable;
        assert_eq!(access(w, 0, 8, false), Some(CtxField::Pointer(RegType::TpBuffer)));
        assert_eq!(access(w, 0, 4, false), None);
        assert_eq!(access(w, 8, 8, false), Some(CtxField::Scalar));
        assert_eq!(w.ops().name(), "raw_tracepoint_writable");
    }

    #[test]
    fn perf_event_rules() {
        let p = ProgType::PerfEvent { arch: crate::TargetArch::X86_64 };
        assert_eq!(access(p, 0, 8, false), Some(CtxField::Scalar));
        assert_eq!(access(p, 0, 4, false), None, "registers are read whole");
        assert_eq!(access(p, 168, 8, false), Some(CtxField::Scalar), "sample_period");
        assert_eq!(access(p, 168, 4, false), Some(CtxField::Scalar));
        assert_eq!(access(p, 180, 4, false), Some(CtxField::Scalar), "addr, upper half");
        assert_eq!(access(p, 182, 1, false), Some(CtxField::Scalar));
        assert_eq!(access(p, 184, 8, false), None);
        assert_eq!(access(p, 168, 8, true), None);
        let arm = ProgType::PerfEvent { arch: crate::TargetArch::Arm64 };
        assert_eq!(access(arm, 272, 8, false), Some(CtxField::Scalar), "arm64 sample_period");
        assert!(p.ops().func_proto(BpfFunc::PerfProgReadValue).is_some());
        assert!(p.ops().func_proto(BpfFunc::ReadBranchRecords).is_some());
    }
}
