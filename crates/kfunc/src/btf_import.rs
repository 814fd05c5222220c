//! Prototypes from BTF: a kernel's (or module's) `FUNC` + `FUNC_PROTO`, read with the
//! parameter-name suffix rules the verifier applies to kfunc arguments.

use kbpf_elf::btf::{Btf, BtfType};
use thiserror::Error;

use crate::proto::{ArgKind, ArgProto, KfuncFlags, Proto, RetKind};

/// Why a function could not be imported.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ImportError {
    /// No `FUNC` of that name.
    #[error("no BTF FUNC named {0}")]
    NotFound(String),
    /// The `FUNC` has no usable `FUNC_PROTO`.
    #[error("BTF FUNC {0} has no prototype")]
    NoProto(String),
    /// More parameters than a BPF call can pass (the kernel's `gen_kfunc_arg_proto` message).
    #[error("{}", kbpf_isa::KernelMsg::TooManyArgs(.0.clone(), *.1))]
    TooManyArgs(String, usize),
}

/// Context structs: a pointer to one of them is the program's context.
const CTX_STRUCTS: [&str; 6] =
    ["__sk_buff", "xdp_md", "bpf_sock_ops", "pt_regs", "bpf_raw_tracepoint_args", "sk_msg_md"];

/// Splits `name__suffix` into `(name, suffix)`.
fn suffix(name: &str) -> Option<&str> {
    name.rfind("__").map(|i| &name[i + 2..])
}

fn pointee_kind(btf: &Btf, pointee: u32) -> (ArgKind, Option<u32>) {
    match btf.resolve(pointee) {
        Some((_, BtfType::Struct { name, .. })) => {
            let kind = match name.as_str() {
                "bpf_dynptr" | "bpf_dynptr_kern" => ArgKind::Dynptr,
                "bpf_timer" => ArgKind::Timer,
                "bpf_map" => ArgKind::Map,
                "bpf_prog_aux" => ArgKind::ProgAux,
                n if n.starts_with("bpf_iter_") => ArgKind::Iter(n["bpf_iter_".len()..].to_string()),
                n if CTX_STRUCTS.contains(&n) => ArgKind::Ctx,
                n => ArgKind::BtfId(n.to_string()),
            };
            (kind, None)
        }
        Some((id, _)) => (ArgKind::Mem { size: None, uninit: false }, btf.size_of(id).map(|s| s as u32)),
        None => (ArgKind::Mem { size: None, uninit: false }, None),
    }
}

/// Imports the prototype of `FUNC` `name`; returns its BTF id and prototype (flags: only the
/// iterator ones, which follow from the name; the kernel keeps the others in its kfunc id sets).
pub fn import(btf: &Btf, name: &str) -> Result<(u32, Proto), ImportError> {
    let (id, _) = btf.func_by_name(name).ok_or_else(|| ImportError::NotFound(name.to_string()))?;
    Ok((id, import_id(btf, id, name)?))
}

/// Imports the prototype of the `FUNC` with BTF id `id`, named `name` (a call's target).
pub fn import_id(btf: &Btf, id: u32, name: &str) -> Result<Proto, ImportError> {
    let params = btf.func_params(id).ok_or_else(|| ImportError::NoProto(name.to_string()))?;
    if params.len() > crate::MAX_ARGS {
        return Err(ImportError::TooManyArgs(name.to_string(), params.len()));
    }
    let sized_next =
        |i: usize| params.get(i + 1).and_then(|p| suffix(&p.name)).is_some_and(|s| s == "sz" || s == "szk");
    let mut args = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        let sfx = suffix(&p.name).unwrap_or("");
        let nullable = matches!(sfx, "opt" | "nullable");
        let kind = match sfx {
            "sz" => ArgKind::MemSize { constant: false },
            "szk" => ArgKind::MemSize { constant: true },
            "k" => ArgKind::Const,
            "ign" => ArgKind::Ignored,
            "str" => ArgKind::ConstStr,
            "map" => ArgKind::Map,
            "prog" | "aux" => ArgKind::ProgAux,
            "arena" => ArgKind::Arena,
            _ => match btf.resolve(p.type_id) {
                Some((_, BtfType::Ptr { type_id })) => match pointee_kind(btf, *type_id) {
                    (ArgKind::Iter(n), _) => ArgKind::Iter(n),
                    (ArgKind::Mem { .. }, size) => ArgKind::Mem {
                        size: if sized_next(i) { None } else { size },
                        uninit: sfx == "uninit",
                    },
                    (k, _) if sfx == "iter" => match k {
                        ArgKind::BtfId(n) => ArgKind::Iter(n),
                        other => other,
                    },
                    (k, _) => k,
                },
                _ => ArgKind::Scalar,
            },
        };
        args.push(ArgProto { name: p.name.clone(), kind, nullable });
    }
    let ret = match btf.get(id) {
        Some(BtfType::Func { proto, .. }) => match btf.get(*proto) {
            Some(BtfType::FuncProto { ret, .. }) => match btf.resolve(*ret) {
                None | Some((0, _)) => RetKind::Void,
                Some((_, BtfType::Ptr { type_id })) => match pointee_kind(btf, *type_id) {
                    (ArgKind::BtfId(n), _) => RetKind::BtfId(n),
                    (_, size) => RetKind::Mem(size.unwrap_or(0)),
                },
                Some(_) => RetKind::Scalar,
            },
            _ => RetKind::Scalar,
        },
        _ => RetKind::Scalar,
    };
    let flags = iter_flags(name, &args);
    Ok(Proto { args, ret: Some(ret), flags, prog_types: None })
}

/// `KF_ITER_*` from the name: the kernel requires iterator kfuncs to be named
/// `bpf_iter_<type>_{new,next,destroy}` with the iterator first (`btf_check_iter_kfuncs`), and
/// `_next` is always `KF_RET_NULL`. Other flags live only in the kernel's id sets.
fn iter_flags(name: &str, args: &[ArgProto]) -> KfuncFlags {
    let Some(ArgKind::Iter(ty)) = args.first().map(|a| &a.kind) else { return KfuncFlags::NONE };
    let Some(method) = name.strip_prefix("bpf_iter_").and_then(|r| r.strip_prefix(ty.as_str())) else {
        return KfuncFlags::NONE;
    };
    match method {
        "_new" => KfuncFlags::ITER_NEW,
        "_next" => KfuncFlags::ITER_NEXT | KfuncFlags::RET_NULL,
        "_destroy" => KfuncFlags::ITER_DESTROY,
        _ => KfuncFlags::NONE,
    }
}
