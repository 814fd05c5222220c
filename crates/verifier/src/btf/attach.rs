//! `check_attach_btf_id` for tracing and LSM programs (`bpf_check_attach_target`): the
//! attach target named by `attach_btf_id` must be of the kind the expected attach type wants
//! (a `btf_trace_<tp>` typedef for tp_btf, a `bpf_iter_<target>` function for iterators, a
//! function for fentry / fexit / fmod_ret / lsm), and its prototype becomes the program's
//! context ([`super::ctx`]).

use super::KernelBtf;
use crate::domain::state::{MAYBE_NULL, PTR_TRUSTED};
use kbpf_elf::btf::{Btf, BtfType};
use kbpf_isa::AttachType;
use kbpf_passes::Errno;

/// The resolved attach target (`prog->aux->attach_func_proto` / `attach_func_name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachInfo {
    /// The expected attach type.
    pub attach: AttachType,
    /// The target's `FUNC_PROTO` id.
    pub proto: u32,
    /// `attach_func_name`: the function, or the tracepoint without `btf_trace_`.
    pub func_name: String,
    /// A raw tracepoint: the prototype's first argument (`void *__data`) is not in the context.
    pub trace: bool,
    /// `prog_args_trusted`: pointer arguments are `PTR_TRUSTED`.
    pub args_trusted: bool,
    /// An iterator's target (`task` for `bpf_iter_task`).
    pub iter_target: Option<String>,
    /// The target returns `void`.
    pub ret_void: bool,
    /// A struct_ops program's struct and member.
    pub struct_ops: Option<crate::prog_types::struct_ops::StructOpsMember>,
}

/// How an iterator target registers its context pointers (`ctx_arg_info`): maybe NULL, and
/// trusted for the targets that say so; `None` for buffers (`PTR_TO_BUF`).
fn iter_ctx_arg(target: &str) -> Option<u16> {
    match target {
        // key / value buffers of map element iterators
        "bpf_map_elem" | "bpf_sk_storage_map" | "sockmap" => None,
        "task" | "cgroup" | "bpf_map" | "tcp" | "udp" | "kmem_cache" | "dmabuf" => {
            Some(MAYBE_NULL | PTR_TRUSTED)
        }
        _ => Some(MAYBE_NULL),
    }
}

impl AttachInfo {
    /// For an iterator, the flags of context argument `arg` (`meta` is argument 0 and takes
    /// the default rule).
    pub fn iter_arg_flags(&self, arg: usize) -> Option<u16> {
        let target = self.iter_target.as_deref()?;
        if arg == 0 {
            return None;
        }
        iter_ctx_arg(target)
    }

    /// An iterator argument the kernel types as a buffer.
    pub fn iter_buffer_arg(&self, arg: usize) -> bool {
        arg > 0 && self.iter_target.as_deref().is_some_and(|t| iter_ctx_arg(t).is_none())
    }

    /// `check_return_code` for the attach type: the range `r0` must lie in, `None` = any.
    pub fn retval_range(&self) -> Option<(i64, i64)> {
        match self.attach {
            AttachType::TraceFentry | AttachType::TraceFexit => Some((0, 0)),
            AttachType::TraceIter => Some((0, 1)),
            AttachType::LsmMac if self.ret_void => None,
            // MAX_ERRNO
            AttachType::LsmMac => Some((-4095, 0)),
            AttachType::LsmCgroup if self.ret_void => Some((1, 1)),
            AttachType::LsmCgroup => Some((0, 1)),
            _ => None,
        }
    }
}

/// Why the attach target is refused; `Display` is the kernel's log line, empty when it logs
/// none.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    /// A sleepable program of a type that may not sleep.
    #[error("Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable")]
    NotSleepable,
    /// No `attach_btf_id`.
    #[error("Tracing programs must provide btf_id")]
    NoBtfId,
    /// No target BTF to resolve it in.
    #[error("FENTRY/FEXIT program can only be attached to another program annotated with BTF")]
    NoBtf,
    /// The id is not in the target BTF.
    #[error("attach_btf_id {0} is invalid")]
    Invalid(u32),
    /// The type has no name.
    #[error("attach_btf_id {0} doesn't have a name")]
    NoName(u32),
    /// tp_btf: no typedef.
    #[error("attach_btf_id {0} is not a typedef")]
    NotTypedef(u32),
    /// The name lacks the prefix (`btf_trace_`, `bpf_lsm_`).
    #[error("attach_btf_id {0} points to wrong type name {1}")]
    WrongName(u32, String),
    /// Not a function.
    #[error("attach_btf_id {0} is not a function")]
    NotFunc(u32),
    /// An LSM program without a GPL-compatible license.
    #[error("LSM programs must have a GPL compatible license")]
    LsmLicense,
    /// A struct_ops program without a GPL-compatible license.
    #[error("struct ops programs must have a GPL compatible license")]
    StructOpsLicense,
    /// A struct_ops program without an attach BTF id (`ENOTSUPP`, no line).
    #[error("")]
    StructOpsNoBtfId,
    /// The attach BTF id names no struct the kernel registered (`ENOTSUPP`).
    #[error("attach_btf_id {0} is not a supported struct")]
    NotSupportedStruct(u32),
    /// The member index is past the struct's members.
    #[error("attach to invalid member idx {0} of struct {1}")]
    InvalidMemberIdx(u32, String),
    /// The member is no function pointer.
    #[error("attach to invalid member {0}(@idx {1}) of struct {2}")]
    InvalidMember(String, u32, String),
    /// The registration has no stub for the member (`ENOTSUPP`), or its `check_member`
    /// refuses it (`EINVAL`).
    #[error("attach to unsupported member {0} of struct {1}")]
    UnsupportedMember(String, String, Errno),
    /// A struct the kernel registered whose rules kbpf does not model.
    #[error("kbpf: the struct_ops rules of struct {0} are not modelled")]
    UnmodelledStructOps(String),
    /// Refused without a log line (a malformed prototype, an unknown iterator target, an
    /// expected attach type tracing programs do not have).
    #[error("")]
    Silent,
    /// An iterator with buffer arguments on a kernel that refuses them (`EPERM`, no line).
    #[error("")]
    IterBuffersRefused,
}

impl AttachError {
    /// `EINVAL`, or `EPERM` for a refused buffer iterator.
    pub fn errno(&self) -> Errno {
        match self {
            AttachError::IterBuffersRefused => Errno::EPERM,
            AttachError::StructOpsNoBtfId | AttachError::NotSupportedStruct(_) => Errno::ENOTSUPP,
            AttachError::UnsupportedMember(.., e) => *e,
            AttachError::UnmodelledStructOps(_) => Errno::ENOTSUPP,
            _ => Errno::EINVAL,
        }
    }
}

/// What `check_attach_btf_id` needs to know about the program.
#[derive(Clone, Copy, Debug)]
pub struct AttachQuery {
    /// `BPF_PROG_TYPE_LSM` (else tracing).
    pub lsm: bool,
    /// The expected attach type (`None` = 0).
    pub attach: Option<AttachType>,
    /// `attach_btf_id`.
    pub btf_id: u32,
    /// `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
    /// GPL-compatible license.
    pub gpl: bool,
    /// The kernel loads iterators with buffer arguments.
    pub iter_buffers: bool,
}

/// `check_attach_btf_id` + `bpf_check_attach_target` for tracing and LSM programs.
pub fn check_attach_btf_id(btf: Option<&KernelBtf>, q: AttachQuery) -> Result<AttachInfo, AttachError> {
    let attach = q.attach;
    let can_sleep = q.lsm
        || matches!(
            attach,
            Some(
                AttachType::TraceFentry
                    | AttachType::TraceFexit
                    | AttachType::ModifyReturn
                    | AttachType::TraceIter
            )
        );
    if q.sleepable && !can_sleep {
        return Err(AttachError::NotSleepable);
    }
    if q.btf_id == 0 {
        return Err(AttachError::NoBtfId);
    }
    let Some(btf) = btf else { return Err(AttachError::NoBtf) };
    let id = q.btf_id;
    let t = btf.get(id).filter(|_| id != 0).ok_or(AttachError::Invalid(id))?;
    let tname = t.name().to_string();
    if tname.is_empty() {
        return Err(AttachError::NoName(id));
    }
    let Some(attach) = attach else { return Err(AttachError::Silent) };
    let mut info = AttachInfo {
        attach,
        proto: 0,
        func_name: tname.clone(),
        trace: false,
        args_trusted: matches!(attach, AttachType::TraceRawTp | AttachType::TraceIter) || q.lsm,
        iter_target: None,
        ret_void: false,
        struct_ops: None,
    };
    match attach {
        AttachType::TraceRawTp if !q.lsm => {
            let BtfType::Typedef { type_id, .. } = t else { return Err(AttachError::NotTypedef(id)) };
            let Some(tp) = tname.strip_prefix("btf_trace_") else {
                return Err(AttachError::WrongName(id, tname));
            };
            // the tracepoint's probe function has the argument names; the typedef's pointer
            // to the same prototype stands in when it cannot be found
            let proto = match btf.func_by_name(&format!("__bpf_trace_{tp}")) {
                Some((_, BtfType::Func { proto, .. })) => *proto,
                _ => match btf.get(*type_id) {
                    Some(BtfType::Ptr { type_id }) => *type_id,
                    _ => return Err(AttachError::Silent),
                },
            };
            info.proto = proto;
            info.func_name = tp.to_string();
            info.trace = true;
        }
        AttachType::TraceIter if !q.lsm => {
            info.proto = func_proto(btf, t, id)?;
            let Some(target) = tname.strip_prefix("bpf_iter_") else { return Err(AttachError::Silent) };
            if !q.iter_buffers && iter_ctx_arg(target).is_none() {
                return Err(AttachError::IterBuffersRefused);
            }
            info.iter_target = Some(target.to_string());
        }
        AttachType::TraceFentry | AttachType::TraceFexit | AttachType::ModifyReturn if !q.lsm => {
            info.proto = func_proto(btf, t, id)?;
        }
        AttachType::LsmMac | AttachType::LsmCgroup if q.lsm => {
            info.proto = func_proto(btf, t, id)?;
            if !q.gpl {
                return Err(AttachError::LsmLicense);
            }
            if !tname.starts_with("bpf_lsm_") {
                return Err(AttachError::WrongName(id, tname));
            }
        }
        _ => return Err(AttachError::Silent),
    }
    info.ret_void = matches!(btf.get(info.proto), Some(BtfType::FuncProto { ret: 0, .. }));
    Ok(info)
}

/// The prototype of a `FUNC`.
fn func_proto(btf: &Btf, t: &BtfType, id: u32) -> Result<u32, AttachError> {
    let BtfType::Func { proto, .. } = t else { return Err(AttachError::NotFunc(id)) };
    match btf.get(*proto) {
        Some(BtfType::FuncProto { .. }) => Ok(*proto),
        _ => Err(AttachError::Silent),
    }
}

/// The kernel program type a trampoline program is, if `opts` describes one (fentry, fexit,
/// fmod_ret, lsm, lsm_cgroup).
pub fn needs_trampoline(opts: &crate::VerifyOptions) -> Option<&'static str> {
    match (opts.prog_type, opts.expected_attach_type) {
        (crate::ProgType::Lsm, _) => Some("lsm"),
        (
            crate::ProgType::Tracing,
            Some(AttachType::TraceFentry | AttachType::TraceFexit | AttachType::ModifyReturn),
        ) => Some("fentry/fexit/fmod_ret"),
        _ => None,
    }
}

/// `check_attach_btf_id` for the program `opts` describes: `None` for types that attach by
/// no BTF id.
pub fn for_program(opts: &crate::VerifyOptions) -> Result<Option<AttachInfo>, AttachError> {
    let lsm = match opts.prog_type {
        crate::ProgType::Tracing => false,
        crate::ProgType::Lsm => true,
        crate::ProgType::StructOps => return super::struct_ops::check_struct_ops_btf_id(opts).map(Some),
        _ => return Ok(None),
    };
    let q = AttachQuery {
        lsm,
        attach: opts.expected_attach_type,
        btf_id: opts.attach_btf_id,
        sleepable: opts.sleepable,
        gpl: opts.gpl,
        iter_buffers: opts.iter_buffers,
    };
    check_attach_btf_id(opts.btf.as_ref(), q).map(Some)
}

/// The program is refused by its load attributes alone: a trampoline program on a kernel that
/// loads none, or an attach target `check_attach_btf_id` refuses.
pub fn refused_whatever_the_body(opts: &crate::VerifyOptions) -> bool {
    (!opts.trampolines && needs_trampoline(opts).is_some()) || for_program(opts).is_err()
}
