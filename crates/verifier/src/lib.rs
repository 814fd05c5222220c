//! The kernel-faithful BPF verifier (Linux 6.18, privileged loader): symbolic execution of every
//! path with tnum + 64/32-bit range tracking, stack slot tracking with spills, maps, packets,
//! tc (`sched_cls`) sockets and references, bpf-to-bpf calls, checkpoints and pruning, and the
//! kernel's log and error lines.
//!
//! Owns: abstract state, transfer functions, pruning, the verifier log and every verifier error
//! string (in [`messages`]), and the program types' rules ([`prog_types`]: context, helpers,
//! the load-time attach check `bpf_prog_load_check_attach`). Must not touch: instruction encoding (kbpf-isa), static passes
//! (kbpf-passes), the uapi enums and helper ids (kbpf-isa), execution. See `README.md` for the list of implemented kernel behaviours.

pub mod btf;
mod calls;
mod check;
pub mod domain;
mod env;
pub mod fixups;
pub mod log;
mod maps;
pub mod messages;
mod pipeline;
mod precision;
pub mod prog_types;
pub mod protos;
pub mod proven;
mod prune;
mod witness;

pub use maps::{BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, MapDef, MapKind};

// The public paths of the flat layout, kept for the crates and branches that use them.
pub use domain::{bounds, scalar_ops, state, tnum, width};
pub use log::line_info;
pub use protos::{func_id, func_info, helper_names};

pub use btf::KernelBtf;
pub use env::insn_aux::{CallMap, InsnAux, KfuncFix, SockPtr};
pub use kbpf_isa::FuncDecl;
pub use kbpf_passes::Errno;
pub use line_info::{LineInfo, source_comments};
pub use messages::{
    AttachReject, BtfInfoReject, Bug, RegName, Reject, RejectKind, StackArgError, TypeName, Unsupported,
};
pub use prog_types::hooks::LwtKind;
pub use protos::func_info::{IterRole, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTraits};
pub use protos::helpers::helper_arg_count;
pub use protos::kfunc_table::KfuncTable;
pub use witness::{CallKind, CalledFn, InsnFacts, SYSCALL_CTX_BYTES, Verified};

use kbpf_isa::RawInsn;
use thiserror::Error;

/// Linked-scalar flag in `RegState::id`: this register = base + `off` by 64-bit add.
pub const ADD_CONST64: u32 = 1 << 31;
/// Linked-scalar flag: this register's low 32 bits = base + `off` by 32-bit add.
pub const ADD_CONST32: u32 = 1 << 30;
/// Either linked-scalar flag (`BPF_ADD_CONST`).
pub const ADD_CONST: u32 = ADD_CONST64 | ADD_CONST32;
/// Processed-instruction budget (`BPF_COMPLEXITY_LIMIT_INSNS`).
pub const COMPLEXITY_LIMIT_INSNS: u64 = 1_000_000;
/// Pending-branch limit (`BPF_COMPLEXITY_LIMIT_JMP_SEQ`).
pub const COMPLEXITY_LIMIT_JMP_SEQ: usize = 8192;

/// Program types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProgType {
    /// `BPF_PROG_TYPE_SOCKET_FILTER` (`__sk_buff` context).
    #[default]
    SocketFilter,
    /// `BPF_PROG_TYPE_XDP` (`xdp_md` context, packet pointers).
    Xdp,
    /// `BPF_PROG_TYPE_SCHED_CLS` (tc: `__sk_buff` context with direct packet access, socket
    /// lookups).
    SchedCls,
    /// `BPF_PROG_TYPE_SYSCALL` (context = user buffer, any offset below 64K).
    Syscall,
    /// `BPF_PROG_TYPE_TRACING` (fentry, fexit, fmod_ret, tp_btf, iter by the expected attach
    /// type): the context is the attach target's arguments, typed by the target BTF.
    Tracing,
    /// `BPF_PROG_TYPE_LSM` (`BPF_LSM_MAC`, `BPF_LSM_CGROUP`): an LSM hook's arguments.
    Lsm,
    /// Userspace embedding: the context is a buffer of `ctx_size` bytes.
    Mem {
        /// Context size in bytes.
        ctx_size: u32,
    },
    /// `BPF_PROG_TYPE_CGROUP_SKB` (`__sk_buff`, read-only packet; the return range depends on
    /// the expected attach type).
    CgroupSkb,
    /// `BPF_PROG_TYPE_CGROUP_SOCK` (`struct bpf_sock` context; fields by attach type).
    CgroupSock,
    /// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` (`struct bpf_sock_addr`; fields, helpers and return
    /// range by attach type).
    CgroupSockAddr,
    /// `BPF_PROG_TYPE_CGROUP_SOCKOPT` (`struct bpf_sockopt`; getsockopt or setsockopt).
    CgroupSockopt,
    /// `BPF_PROG_TYPE_CGROUP_SYSCTL` (`struct bpf_sysctl`).
    CgroupSysctl,
    /// `BPF_PROG_TYPE_CGROUP_DEVICE` (`struct bpf_cgroup_dev_ctx`).
    CgroupDevice,
    /// `BPF_PROG_TYPE_SOCK_OPS` (`struct bpf_sock_ops`).
    SockOps,
    /// `BPF_PROG_TYPE_SK_SKB` (`__sk_buff` with packet access).
    SkSkb,
    /// `BPF_PROG_TYPE_SK_MSG` (`struct sk_msg_md`).
    SkMsg,
    /// `BPF_PROG_TYPE_SK_LOOKUP` (`struct bpf_sk_lookup`).
    SkLookup,
    /// `BPF_PROG_TYPE_SK_REUSEPORT` (`struct sk_reuseport_md`).
    SkReuseport,
    /// `BPF_PROG_TYPE_FLOW_DISSECTOR` (`__sk_buff` with `flow_keys`).
    FlowDissector,
    /// `BPF_PROG_TYPE_LWT_IN` / `_OUT` / `_XMIT` / `_SEG6LOCAL`.
    Lwt(LwtKind),
    /// `BPF_PROG_TYPE_KPROBE` (kprobe, kretprobe, uprobe, uretprobe, ksyscall, usdt and their
    /// multi/session links: the target architecture's `struct pt_regs`).
    Kprobe(KprobeProg),
    /// `BPF_PROG_TYPE_TRACEPOINT` (the raw trace event record, read only).
    Tracepoint,
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT` (the tracepoint's arguments as `u64`s).
    RawTracepoint,
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE` (`raw_tp.w`: argument 0 points to the
    /// tracepoint's writable buffer).
    RawTracepointWritable,
    /// `BPF_PROG_TYPE_PERF_EVENT` (`struct bpf_perf_event_data` of the target architecture).
    PerfEvent {
        /// The target architecture (the size of the registers in the context).
        arch: TargetArch,
    },
    /// `BPF_PROG_TYPE_SCHED_ACT` (tc actions: the classifier's rules under another name).
    SchedAct,
    /// `BPF_PROG_TYPE_NETFILTER` (`struct bpf_nf_ctx`: the hook state and the `sk_buff`).
    Netfilter,
    /// `BPF_PROG_TYPE_LIRC_MODE2` (an infrared sample: one read-only `u32`).
    LircMode2,
    /// `BPF_PROG_TYPE_STRUCT_OPS`: a member of a kernel struct of function pointers, named by
    /// `attach_btf_id` (the struct) and [`VerifyOptions::struct_ops_member`]; the context is
    /// the member's arguments, typed by its BTF prototype.
    StructOps,
}

impl ProgType {
    /// The networking types (whose helpers fall back to `bpf_sk_base_func_proto`): BTF
    /// pointers reach them only through the socket casts, and what is walked from those is
    /// untrusted.
    pub fn is_networking(self) -> bool {
        use ProgType as P;
        matches!(
            self,
            P::SocketFilter
                | P::Xdp
                | P::SchedCls
                | P::SchedAct
                | P::CgroupSkb
                | P::CgroupSock
                | P::CgroupSockAddr
                | P::SockOps
                | P::SkSkb
                | P::SkMsg
                | P::SkLookup
                | P::SkReuseport
                | P::FlowDissector
                | P::Lwt(_)
        )
    }

    /// This type for a kernel of `arch`: the types whose context holds registers take the
    /// architecture's layout; the rest are the same everywhere.
    pub fn with_arch(self, arch: TargetArch) -> ProgType {
        match self {
            ProgType::Kprobe(k) => ProgType::Kprobe(KprobeProg { arch, ..k }),
            ProgType::PerfEvent { .. } => ProgType::PerfEvent { arch },
            other => other,
        }
    }

    /// This type as loaded with `expected_attach_type`: a kprobe's link flavour is its
    /// attach type (unset or another type: a single kprobe); other types are unchanged.
    pub fn with_expected_attach(self, attach: Option<kbpf_isa::AttachType>) -> ProgType {
        use kbpf_isa::AttachType as A;
        let ProgType::Kprobe(k) = self else { return self };
        let attach = match attach {
            Some(A::TraceKprobeMulti) => KprobeAttach::KprobeMulti,
            Some(A::TraceKprobeSession) => KprobeAttach::KprobeSession,
            Some(A::TraceUprobeMulti) => KprobeAttach::UprobeMulti,
            _ => KprobeAttach::Single,
        };
        ProgType::Kprobe(KprobeProg { attach, ..k })
    }
}

/// The architecture a tracing program's `struct pt_regs` belongs to: the kernel it will be
/// loaded into, not the machine kbpf runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TargetArch {
    /// x86_64 (`struct pt_regs`: 21 registers, 168 bytes).
    #[default]
    X86_64,
    /// arm64 (`user_pt_regs` for perf events, the kernel's `struct pt_regs` for kprobes).
    Arm64,
}

impl std::str::FromStr for TargetArch {
    type Err = String;

    fn from_str(s: &str) -> Result<TargetArch, String> {
        match s {
            "x86_64" | "x86" | "amd64" => Ok(TargetArch::X86_64),
            "arm64" | "aarch64" => Ok(TargetArch::Arm64),
            _ => Err(format!("unknown target architecture {s:?}; supported: x86_64, arm64")),
        }
    }
}

/// The link a `BPF_PROG_TYPE_KPROBE` program is loaded for (its `expected_attach_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KprobeAttach {
    /// A single kprobe/uprobe through perf (`expected_attach_type` 0).
    #[default]
    Single,
    /// `BPF_TRACE_KPROBE_MULTI` (`kprobe.multi`, `kretprobe.multi`).
    KprobeMulti,
    /// `BPF_TRACE_KPROBE_SESSION` (`kprobe.session`: returns 0 or 1).
    KprobeSession,
    /// `BPF_TRACE_UPROBE_MULTI` (`uprobe.multi`, `usdt`).
    UprobeMulti,
    /// `BPF_TRACE_UPROBE_SESSION` (`uprobe.session`: returns 0 or 1).
    UprobeSession,
}

/// A kprobe-family program: its link, whether it is sleepable (`uprobe.s`) and the target
/// architecture of its `struct pt_regs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KprobeProg {
    /// The expected attach type.
    pub attach: KprobeAttach,
    /// `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
    /// The target architecture.
    pub arch: TargetArch,
}

/// A program type name kbpf does not know (from the command line or a section name).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "unknown program type {0:?}; supported: socket_filter, sched_cls (tc), xdp, syscall, kprobe, tracepoint, raw_tracepoint, raw_tracepoint_writable, perf_event, tracing, lsm, cgroup_skb, cgroup_sock, cgroup_sock_addr, cgroup_sockopt, cgroup_sysctl, cgroup_device, sock_ops, sk_skb, sk_msg, sk_lookup, sk_reuseport, flow_dissector, lwt_in, lwt_out, lwt_xmit, lwt_seg6local, sched_act, netfilter, lirc_mode2, struct_ops"
)]
pub struct UnknownProgType(pub String);

impl std::str::FromStr for ProgType {
    type Err = UnknownProgType;

    /// Kernel and libbpf names: `socket_filter`, `xdp`, `tc` / `sched_cls`, `syscall`.
    fn from_str(s: &str) -> Result<ProgType, UnknownProgType> {
        Ok(match s {
            "socket_filter" | "socket" => ProgType::SocketFilter,
            "xdp" => ProgType::Xdp,
            "tc" | "sched_cls" | "classifier" => ProgType::SchedCls,
            "syscall" => ProgType::Syscall,
            "cgroup_skb" => ProgType::CgroupSkb,
            "cgroup_sock" => ProgType::CgroupSock,
            "cgroup_sock_addr" => ProgType::CgroupSockAddr,
            "cgroup_sockopt" => ProgType::CgroupSockopt,
            "cgroup_sysctl" => ProgType::CgroupSysctl,
            "cgroup_device" => ProgType::CgroupDevice,
            "sock_ops" => ProgType::SockOps,
            "sk_skb" => ProgType::SkSkb,
            "sk_msg" => ProgType::SkMsg,
            "sk_lookup" => ProgType::SkLookup,
            "sk_reuseport" => ProgType::SkReuseport,
            "flow_dissector" => ProgType::FlowDissector,
            "lwt_in" => ProgType::Lwt(LwtKind::In),
            "lwt_out" => ProgType::Lwt(LwtKind::Out),
            "lwt_xmit" => ProgType::Lwt(LwtKind::Xmit),
            "lwt_seg6local" => ProgType::Lwt(LwtKind::Seg6local),
            "tracing" => ProgType::Tracing,
            "lsm" => ProgType::Lsm,
            "kprobe" => ProgType::Kprobe(KprobeProg::default()),
            "tracepoint" => ProgType::Tracepoint,
            "raw_tracepoint" => ProgType::RawTracepoint,
            "raw_tracepoint_writable" => ProgType::RawTracepointWritable,
            "perf_event" => ProgType::PerfEvent { arch: TargetArch::default() },
            "sched_act" | "action" => ProgType::SchedAct,
            "netfilter" => ProgType::Netfilter,
            "lirc_mode2" => ProgType::LircMode2,
            "struct_ops" => ProgType::StructOps,
            _ => return Err(UnknownProgType(s.to_string())),
        })
    }
}

/// Verification options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Program type.
    pub prog_type: ProgType,
    /// Log level bits: 1 basic, 2 verbose, 4 stats.
    pub log_level: u32,
    /// Maps by fd.
    pub maps: Vec<MapDef>,
    /// Slots whose map or map-value `ld_imm64` carries a literal fd of the loading process
    /// (an ELF object's unrelocated reference), not one of `maps`: the kernel finds no map
    /// there. The standard streams (0, 1, 2) are open but not maps (`EINVAL`); any other
    /// number is taken as not open (`EBADF`).
    pub literal_fds: Vec<usize>,
    /// Privileged loader (CAP_BPF + CAP_PERFMON); unprivileged mode is not modelled beyond
    /// back-edges.
    pub privileged: bool,
    /// GPL-compatible license.
    pub gpl: bool,
    /// Subprogram prototypes (start, name, parameter count, linkage): the BTF `func_info`
    /// substitute that decides how many stack arguments each subprogram takes.
    pub funcs: Vec<FuncDecl>,
    /// The main function's BTF carries several `exception_callback:` decl tags (none of
    /// `funcs` is then marked `exception_cb`): refused before the walk, `EEXIST`.
    pub several_exception_cbs: bool,
    /// kfunc prototypes by BTF id (calls to ids not listed are rejected as unknown).
    pub kfuncs: KfuncTable,
    /// kbpf extension: global subprograms may take more than 5 arguments (verified in line,
    /// like static ones).
    pub allow_global_stack_args: bool,
    /// The stack-argument ABI (r11 = `BPF_REG_PARAMS`; default). `false` = Linux 6.18 before
    /// the series: every use of r11 is `R11 is invalid` when the walk reaches it (what a
    /// kernel without the feature, like the captured kernel-diff cases, answers).
    pub stack_args: bool,
    /// The program is bound for a JIT (default). `false` = the kernel's interpreter, which
    /// refuses stack arguments and kfunc calls after verification.
    pub jit: bool,
    /// Size of the caller's log buffer; a log that ever grew larger fails the load with
    /// `ENOSPC` like the kernel (`None` = unlimited).
    pub log_size: Option<usize>,
    /// `nr_cpu_ids`, the bound of `bpf_get_smp_processor_id()` (default: this machine's
    /// possible CPUs).
    pub nr_cpus: u32,
    /// `BPF_F_TEST_STATE_FREQ`: a checkpoint at every prune point, as the selftests ask for.
    pub test_state_freq: bool,
    /// `BPF_F_TEST_REG_INVARIANTS`: a register whose ranges break their invariants fails the
    /// load (`EFAULT`) instead of being reset to unbounded.
    pub test_reg_invariants: bool,
    /// BTF line_info, sorted by instruction: the kernel checks the records and the log
    /// annotates instructions with their source lines (`; x = 1; @ file.c:12`).
    pub line_info: Vec<LineInfo>,
    /// What the target kernel was built and booted with, where it changes which helpers exist.
    pub kernel_config: KernelConfig,
    /// `funcs` is the program's complete BTF func_info (an ELF object's `.BTF.ext`), checked
    /// like the kernel checks func_info records; `false` for `.func` declarations, which
    /// may name only some subprograms.
    pub btf_func_info: bool,
    /// `expected_attach_type` (`None` = 0, which the kernel cannot tell from
    /// `BPF_CGROUP_INET_INGRESS`): checked against the type's attach rules before the walk
    /// (`ProgTypeOps::check_attach`), and some context rules depend on it (xdp's
    /// `egress_ifindex` is for `BPF_XDP_DEVMAP` programs only).
    pub expected_attach_type: Option<kbpf_isa::AttachType>,
    /// `attach_btf_id` (0 = none): only BTF-attached types take one.
    pub attach_btf_id: u32,
    /// The number a `struct_ops` program loads as its expected attach type: the index of the
    /// member it implements in the struct `attach_btf_id` names (libbpf's choice, from the
    /// object's `.struct_ops` maps).
    pub struct_ops_member: u32,
    /// The target kernel's BTF (vmlinux): attach targets, BTF pointers and their struct
    /// walks are typed by it (`None`: a program that needs it is refused as the kernel
    /// refuses one without BTF).
    pub btf: Option<KernelBtf>,
    /// The program's own BTF (`prog->aux->btf`): the local types `bpf_obj_new` allocates and
    /// allocated objects point to (`None`: such a call is refused as the kernel refuses a
    /// program loaded without BTF).
    pub prog_btf: Option<KernelBtf>,
    /// `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
    /// The target kernel loads programs that need a BPF trampoline (fentry, fexit, fmod_ret,
    /// lsm); `false` reproduces a kernel built to refuse them (`EPERM` before verification),
    /// as this machine's 6.18 build does.
    pub trampolines: bool,
    /// The target kernel loads iterators whose context has buffer arguments (the map element
    /// iterators: `bpf_map_elem`, `bpf_sk_storage_map`, `sockmap`); `false` reproduces a kernel
    /// that refuses them in `check_attach_btf_id` with `EPERM` and no message, as this
    /// machine's 6.18 build does.
    pub iter_buffers: bool,
    /// kbpf extension: helpers an embedder adds under ids of its own (host functions), each
    /// taking `args` scalar arguments (any initialised value, like `ARG_ANYTHING`) and
    /// returning a scalar. An id the kernel already names is refused by the embedding API.
    pub host_helpers: Vec<HostHelper>,
}

/// A helper an embedder adds ([`VerifyOptions::host_helpers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostHelper {
    /// The helper id (`call ID`).
    pub id: i32,
    /// Name printed in messages.
    pub name: String,
    /// Number of arguments, 0..=5.
    pub args: u8,
}

impl VerifyOptions {
    /// The argument count of helper `id`: a host helper's, else the kernel prototype's for the
    /// program type.
    pub fn helper_arg_count(&self, id: i32) -> Option<u8> {
        match self.host_helpers.iter().find(|h| h.id == id) {
            Some(h) => Some(h.args),
            // a struct_ops program's helpers are its struct's (`env->ops` after the attach check)
            None if self.prog_type == ProgType::StructOps => {
                let member = btf::struct_ops::check_struct_ops_btf_id(self).ok()?.struct_ops?;
                let p = member.func_proto(protos::func_id::BpfFunc::from_id(id)?)?;
                Some(p.args.iter().take_while(|a| **a != protos::helpers::Arg::DontCare).count() as u8)
            }
            None => protos::helpers::helper_arg_count(id, self.prog_type),
        }
    }

    /// The parameter count of kfunc `btf_id` (its BTF prototype's), when the program's type
    /// may call it: liveness then reads only those argument registers, as the kernel's
    /// `get_call_summary` does; `None` (every argument register) otherwise.
    pub fn kfunc_arg_count(&self, btf_id: i32) -> Option<u8> {
        let d = self.kfuncs.get(btf_id)?;
        let kind = self.prog_type.ops_with(self.expected_attach_type).kernel_type();
        let allowed = match (&d.prog_types, kind) {
            (None, _) => true,
            (Some(types), Some(k)) => types.contains(&k),
            (Some(_), None) => false,
        };
        allowed.then(|| u8::try_from(d.args.len()).ok()).flatten()
    }
}

/// This machine's possible CPUs (`/sys/devices/system/cpu/possible`, e.g. `0-7`), or the
/// available parallelism when that file cannot be read.
pub fn host_nr_cpus() -> u32 {
    let possible = std::fs::read_to_string("/sys/devices/system/cpu/possible").ok().and_then(|s| {
        s.trim().split(',').map(|r| r.split('-').next_back()?.parse::<u32>().ok()).max().flatten()
    });
    match possible {
        Some(last) => last + 1,
        None => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            prog_type: ProgType::SocketFilter,
            log_level: 0,
            maps: Vec::new(),
            literal_fds: Vec::new(),
            privileged: true,
            gpl: true,
            funcs: Vec::new(),
            several_exception_cbs: false,
            kfuncs: KfuncTable::default(),
            allow_global_stack_args: false,
            stack_args: true,
            jit: true,
            log_size: None,
            nr_cpus: host_nr_cpus(),
            test_state_freq: false,
            test_reg_invariants: false,
            line_info: Vec::new(),
            btf_func_info: false,
            expected_attach_type: None,
            attach_btf_id: 0,
            struct_ops_member: 0,
            btf: None,
            prog_btf: None,
            sleepable: false,
            trampolines: true,
            iter_buffers: true,
            host_helpers: Vec::new(),
            kernel_config: KernelConfig::default(),
        }
    }
}

/// The kernel's lockdown level (`security_locked_down`): what a locked-down kernel withholds
/// from BPF programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Lockdown {
    /// Not locked down.
    #[default]
    None,
    /// `integrity`: no `bpf_probe_write_user`.
    Integrity,
    /// `confidentiality`: no kernel memory reads either.
    Confidentiality,
}

/// Build and boot facts of the target kernel that decide whether a helper exists at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KernelConfig {
    /// The lockdown level.
    pub lockdown: Lockdown,
    /// `CONFIG_BPF_KPROBE_OVERRIDE`: kprobes may call `bpf_override_return`.
    pub kprobe_override: bool,
    /// `CONFIG_KALLSYMS_ALL`: kallsyms lists variables too, so `__ksym` variables resolve.
    pub kallsyms_all: bool,
    /// `CONFIG_BPF_LIRC_MODE2`: the kernel has the `lirc_mode2` program type at all (without
    /// it `bpf_prog_load` refuses the type with `EINVAL` and no log).
    pub lirc_mode2: bool,
}

impl KernelConfig {
    /// Whether the kernel offers helper `f` at all (the `security_locked_down` and `#ifdef`
    /// arms of the `*_func_proto` switches): `false` refuses it like an unknown helper.
    pub fn offers(&self, f: protos::func_id::BpfFunc) -> bool {
        use protos::func_id::BpfFunc as F;
        match f {
            F::ProbeWriteUser => self.lockdown < Lockdown::Integrity,
            F::ProbeRead | F::ProbeReadStr | F::ProbeReadKernel | F::ProbeReadKernelStr => {
                self.lockdown < Lockdown::Confidentiality
            }
            F::OverrideReturn => self.kprobe_override,
            _ => true,
        }
    }
}

/// Counters the kernel prints in its `processed ...` line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Instructions simulated.
    pub processed_insns: u64,
    /// Checkpoints created.
    pub total_states: u64,
    /// Most checkpoints alive at once.
    pub peak_states: u64,
    /// Most checkpoints examined at one instruction.
    pub max_states_per_insn: u64,
    /// Always 0 in 6.18.
    pub mark_read: u64,
}

/// A refusal: the typed rejection, what kind it is and the instruction it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{message}{}", .insn.map(|i| format!(" (insn {i})")).unwrap_or_default())]
pub struct VerifyError {
    insn: Option<usize>,
    reject: Reject,
    /// The kernel's last error line, rendered once.
    message: String,
}

impl VerifyError {
    /// `reject` at instruction `insn` (`None`: refused before any instruction was examined).
    pub fn new(insn: Option<usize>, reject: Reject) -> VerifyError {
        let message = reject.last_line();
        VerifyError { insn, reject, message }
    }
    /// The typed rejection.
    pub fn reject(&self) -> &Reject {
        &self.reject
    }
    /// Rejected by the kernel's rules, not modelled by kbpf, or a kbpf bug.
    pub fn kind(&self) -> RejectKind {
        self.reject.kind()
    }
    /// An invariant failure (`verifier bug: ...`), EFAULT like the kernel's `verifier_bug()`.
    pub(crate) fn bug(bug: Bug) -> VerifyError {
        VerifyError::new(None, Reject::Bug(bug))
    }
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        self.reject.errno()
    }
    /// The kernel's last error line.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Instruction index.
    pub fn insn(&self) -> Option<usize> {
        self.insn
    }
    /// The register the error line names, if any.
    pub fn reg(&self) -> Option<RegName> {
        self.reject.reg()
    }
}

/// Result of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOutcome {
    /// Whether the program was accepted.
    pub accepted: bool,
    /// The rejection, if any.
    pub error: Option<VerifyError>,
    /// The log at the requested level.
    pub log: String,
    /// Counters.
    pub stats: Stats,
    /// Per-slot facts (empty when the program was refused before the walk).
    pub insn_aux: Vec<InsnAux>,
    /// The witness engines need to run the program natively: present exactly when the
    /// program was accepted.
    pub witness: Option<Verified>,
}

/// Verifies `slots` as the kernel would load them.
pub fn verify(slots: &[RawInsn], opts: &VerifyOptions) -> VerifyOutcome {
    pipeline::run(slots, opts)
}
