//! The context of BTF-attached programs (`btf_ctx_access`): an array of u64 slots holding the
//! attach target's arguments (and, for fexit / fmod_ret / lsm, its return value after them),
//! typed by the target's `FUNC_PROTO`: integers, enums and structs read as scalars, pointers
//! to structs as `PTR_TO_BTF_ID`, trusted when the program type's arguments are.

use super::attach::AttachInfo;
use super::{is_int_ptr, is_small_int, is_struct, kind_str, skip_modifiers};
use crate::domain::state::{MAYBE_NULL, MEM_PERCPU, MEM_USER, PTR_TRUSTED};
use crate::prog_types::CtxField;
use kbpf_elf::btf::{Btf, BtfType, Member};
use kbpf_isa::AttachType;

/// `MAX_BPF_FUNC_ARGS`: the context of a tracing program is at most this many u64 slots.
pub const MAX_FUNC_ARGS: i64 = 12;

/// What an access to the context gives, with the lines the kernel logs on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtxResult {
    /// What the load yields; `None` = invalid (`invalid bpf_context access` follows).
    pub field: Option<CtxField>,
    /// Lines `btf_ctx_access` logs (a note on a typed pointer, or why it refuses).
    pub log: Vec<String>,
}

impl CtxResult {
    fn refuse(line: Option<String>) -> CtxResult {
        CtxResult { field: None, log: line.into_iter().collect() }
    }
    fn scalar() -> CtxResult {
        CtxResult { field: Some(CtxField::Scalar), log: Vec::new() }
    }
}

/// `tracing_prog_is_valid_access`: read-only, aligned to the size, within the twelve slots.
pub fn tracing_access(btf: &Btf, at: &AttachInfo, off: i64, size: i64, write: bool) -> CtxResult {
    if !(0..8 * MAX_FUNC_ARGS).contains(&off) || write || size == 0 || off % size != 0 {
        return CtxResult::refuse(None);
    }
    btf_ctx_access(btf, at, off, size)
}

/// `btf_ctx_arg_idx`: which argument slot `off` falls in (struct arguments may take two).
fn arg_idx(btf: &Btf, params: &[Member], ret: u32, off: i64) -> usize {
    let slots = |id: u32| -> i64 {
        match skip_modifiers(btf, id) {
            Some((_, BtfType::Ptr { .. })) => 8,
            Some((id, _)) => btf.size_of(id).map_or(8, |s| (s as i64 + 7) / 8 * 8),
            None => 8,
        }
    };
    let mut end = 0;
    for (i, p) in params.iter().enumerate() {
        end += slots(p.type_id);
        if off < end {
            return i;
        }
    }
    end += slots(ret);
    if off < end { params.len() } else { params.len() + 1 }
}

/// `btf_ctx_access` for a BTF-attached program.
pub fn btf_ctx_access(btf: &Btf, at: &AttachInfo, off: i64, size: i64) -> CtxResult {
    let tname = &at.func_name;
    if off % 8 != 0 {
        return CtxResult::refuse(Some(format!("func '{tname}' offset {off} is not multiple of 8")));
    }
    let Some(BtfType::FuncProto { ret, params, .. }) = btf.get(at.proto) else {
        return CtxResult::refuse(None);
    };
    let arg = arg_idx(btf, params, *ret, off);
    // a raw tracepoint's prototype starts with the `void *__data` the program does not see
    let params = if at.trace { params.get(1..).unwrap_or(&[]) } else { &params[..] };
    let nr_args = params.len();
    if arg > nr_args {
        return CtxResult::refuse(Some(format!("func '{tname}' doesn't have {}-th argument", arg + 1)));
    }
    let (id, param) = if arg == nr_args {
        match at.attach {
            AttachType::LsmMac | AttachType::LsmCgroup | AttachType::TraceFexit => (*ret, None),
            AttachType::ModifyReturn => {
                let t = skip_modifiers(btf, *ret).map(|(_, t)| t);
                if !t.is_some_and(is_small_int) {
                    let s = t.map_or("UNKN".into(), kind_str);
                    return CtxResult::refuse(Some(format!("ret type {s} not allowed for fmod_ret")));
                }
                (*ret, None)
            }
            _ => {
                return CtxResult::refuse(Some(format!(
                    "func '{tname}' doesn't have {}-th argument",
                    arg + 1
                )));
            }
        }
    } else {
        (params[arg].type_id, Some(&params[arg]))
    };
    let Some((_, t)) = skip_modifiers(btf, id) else { return CtxResult::refuse(None) };
    if is_small_int(t) || t.is_any_enum() || is_struct(t) {
        return CtxResult::scalar();
    }
    let BtfType::Ptr { type_id: target } = t else {
        let line = format!(
            "func '{tname}' arg{arg} '{}' has type {}. Only pointer access is allowed",
            t.name(),
            kind_str(t)
        );
        return CtxResult::refuse(Some(line));
    };
    if size != 8 {
        return CtxResult::refuse(Some(format!("func '{tname}' size {size} must be 8")));
    }
    if at.iter_buffer_arg(arg) {
        // PTR_TO_BUF context arguments (map element iterators) are not modelled
        return CtxResult {
            field: Some(CtxField::Unmodelled("a buffer argument of a map element iterator")),
            log: Vec::new(),
        };
    }
    if *target == 0 || is_int_ptr(btf, t) {
        // `void *` and integer pointers read as scalars: no walking through them
        return CtxResult::scalar();
    }
    if let Some(so) = &at.struct_ops
        && so.ops.nullable_arg(&so.member, arg)
    {
        // the stub's `__nullable` argument (ctx_arg_info): trusted, maybe NULL, no note
        return match skip_modifiers(btf, *target) {
            Some((sid, st)) if is_struct(st) => CtxResult {
                field: Some(CtxField::Btf { btf_id: sid, flags: PTR_TRUSTED | MAYBE_NULL }),
                log: Vec::new(),
            },
            _ => CtxResult::refuse(None),
        };
    }
    let mut flags = 0;
    if at.args_trusted {
        flags |= PTR_TRUSTED;
    }
    if let Some(iter) = at.iter_arg_flags(arg) {
        flags = iter;
    }
    if param.is_some_and(|p| p.name.ends_with("__nullable")) {
        flags |= MAYBE_NULL;
    }
    let mut btf_id = *target;
    if let Some(BtfType::TypeTag { name, attr: false, .. }) = btf.get(*target) {
        match name.as_str() {
            "user" => flags |= MEM_USER,
            "percpu" => flags |= MEM_PERCPU,
            _ => {}
        }
    }
    let Some((sid, st)) = skip_modifiers(btf, btf_id) else { return CtxResult::refuse(None) };
    btf_id = sid;
    if !is_struct(st) {
        return CtxResult::refuse(Some(format!(
            "func '{tname}' arg{arg} type {} is not a struct",
            kind_str(st)
        )));
    }
    // an iterator's registered argument (ctx_arg_info) is typed without the note
    if at.iter_arg_flags(arg).is_some() {
        return CtxResult { field: Some(CtxField::Btf { btf_id, flags }), log: Vec::new() };
    }
    let note = format!("func '{tname}' arg{arg} has btf_id {btf_id} type {} '{}'", kind_str(st), st.name());
    CtxResult { field: Some(CtxField::Btf { btf_id, flags }), log: vec![note] }
}
