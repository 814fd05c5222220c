//! The helpers a program type may call, with their prototypes in the kernel's spelling
//! (`enum bpf_arg_type` / `enum bpf_return_type` and their flags): what `kbpf helpers
//! --prog-type T` prints. The lookup is the one `check_helper_call` makes, so the listing and
//! the verifier never disagree.

use crate::ProgType;
use crate::protos::func_id::BpfFunc;
use crate::protos::helper_names::{helper_name, max_id};
use crate::protos::helpers::{Arg, Proto, Ret};
use kbpf_isa::AttachType;

/// How kbpf knows a helper the program type may call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperModel {
    /// Every argument and the return value are modelled.
    Modelled,
    /// The kernel offers the helper; kbpf does not model this part of it (a call to it gets
    /// no verdict).
    Unmodelled(String),
}

/// One helper of a program type.
#[derive(Clone, Debug)]
pub struct HelperEntry {
    /// `enum bpf_func_id`.
    pub id: i32,
    /// `bpf_<name>`.
    pub name: String,
    /// The declared arguments, r1 first, in the kernel's spelling.
    pub args: Vec<String>,
    /// The return kind.
    pub ret: String,
    /// GPL-only.
    pub gpl_only: bool,
    /// The map types (`enum bpf_map_type` numbers) the helper accepts; empty = any.
    pub map_types: Vec<u32>,
    /// How far kbpf models it.
    pub model: HelperModel,
}

/// The helpers a program of type `pt` loaded with expected attach type `attach` may call,
/// by id. A tracing or LSM program's set depends on its attach type (`None`: the union).
pub fn helpers_for(pt: ProgType, attach: Option<AttachType>) -> Vec<HelperEntry> {
    let ops = pt.ops_with(attach);
    let mut out = Vec::new();
    for id in 1..max_id() {
        let Some(f) = BpfFunc::from_id(id) else { continue };
        let proto = match pt {
            ProgType::Tracing => crate::protos::btf_helpers::tracing_func_proto(f, attach),
            ProgType::Lsm => crate::protos::btf_helpers::lsm_func_proto(f),
            _ => ops.func_proto(f),
        };
        let name = helper_name(id).unwrap_or_default();
        let entry = match proto {
            Some(p) => entry(id, name, &p),
            None if ops.unmodelled_helper(f) => HelperEntry {
                id,
                name,
                args: vec!["...".into()],
                ret: "?".into(),
                gpl_only: false,
                map_types: Vec::new(),
                model: HelperModel::Unmodelled("the prototype".into()),
            },
            None => continue,
        };
        out.push(entry);
    }
    out
}

fn entry(id: i32, name: String, p: &Proto) -> HelperEntry {
    let declared = p.args.iter().take_while(|a| **a != Arg::DontCare);
    let model = match p.args.iter().find_map(|a| if let Arg::Unmodelled(w) = a { Some(*w) } else { None }) {
        Some(what) => HelperModel::Unmodelled(what.to_string()),
        None => HelperModel::Modelled,
    };
    // a placeholder prototype (the unmodelled part first) says nothing of the rest
    let placeholder = matches!(p.args[0], Arg::Unmodelled(_));
    HelperEntry {
        id,
        name,
        args: if placeholder { vec!["...".into()] } else { declared.map(|a| arg_name(*a)).collect() },
        ret: if placeholder { "?".into() } else { ret_name(p.ret) },
        gpl_only: p.gpl_only,
        map_types: p.map_types.to_vec(),
        model,
    }
}

/// The kernel's spelling of an argument kind.
pub(crate) fn arg_name(a: Arg) -> String {
    let with = |base: &str, flags: &[(bool, &str)]| {
        let mut s = base.to_string();
        for (on, f) in flags {
            if *on {
                s.push_str(" | ");
                s.push_str(f);
            }
        }
        s
    };
    match a {
        Arg::DontCare => "ARG_DONTCARE".into(),
        Arg::Anything => "ARG_ANYTHING".into(),
        Arg::ConstMapPtr => "ARG_CONST_MAP_PTR".into(),
        Arg::MapKey => "ARG_PTR_TO_MAP_KEY".into(),
        Arg::MapValue => "ARG_PTR_TO_MAP_VALUE".into(),
        Arg::MapValueOrNull => "ARG_PTR_TO_MAP_VALUE_OR_NULL".into(),
        Arg::Mem { write, maybe_null } => with(
            "ARG_PTR_TO_MEM",
            &[(maybe_null, "PTR_MAYBE_NULL"), (write, "MEM_UNINIT | MEM_WRITE"), (!write, "MEM_RDONLY")],
        ),
        Arg::MemRw => "ARG_PTR_TO_MEM | MEM_WRITE".into(),
        Arg::ConstSize => "ARG_CONST_SIZE".into(),
        Arg::ConstSizeOrZero => "ARG_CONST_SIZE_OR_ZERO".into(),
        Arg::Ctx => "ARG_PTR_TO_CTX".into(),
        Arg::CtxOrNull => "ARG_PTR_TO_CTX_OR_NULL".into(),
        Arg::Timer => "ARG_PTR_TO_TIMER".into(),
        Arg::SpinLock => "ARG_PTR_TO_SPIN_LOCK".into(),
        Arg::KptrXchgDest => "ARG_KPTR_XCHG_DEST".into(),
        Arg::KptrXchgSrc => "ARG_PTR_TO_BTF_ID_OR_NULL | OBJ_RELEASE".into(),
        Arg::Func => "ARG_PTR_TO_FUNC".into(),
        Arg::ConstAllocSizeOrZero => "ARG_CONST_ALLOC_SIZE_OR_ZERO".into(),
        Arg::Dynptr { uninit, ringbuf, release } => with(
            "ARG_PTR_TO_DYNPTR",
            &[
                (uninit, "MEM_UNINIT"),
                (!uninit, "MEM_RDONLY"),
                (uninit && !ringbuf, "DYNPTR_TYPE_LOCAL"),
                (ringbuf, "DYNPTR_TYPE_RINGBUF"),
                (release, "OBJ_RELEASE"),
            ],
        ),
        Arg::SockCommon => "ARG_PTR_TO_SOCK_COMMON".into(),
        Arg::SocketOrNull => "ARG_PTR_TO_SOCKET_OR_NULL".into(),
        Arg::ConstStr => "ARG_PTR_TO_CONST_STR".into(),
        Arg::ReleaseSock => "ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE".into(),
        Arg::BtfSockCommon => "ARG_PTR_TO_BTF_ID_SOCK_COMMON".into(),
        Arg::FixedMem { size, aligned, uninit } => format!(
            "{} (size {size})",
            with(
                "ARG_PTR_TO_FIXED_SIZE_MEM",
                &[(uninit, "MEM_UNINIT"), (true, "MEM_WRITE"), (aligned, "MEM_ALIGNED")]
            )
        ),
        Arg::FixedMemRd(n) => format!("ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY (size {n})"),
        Arg::BtfObj { name, null } => {
            format!("{} (struct {name})", with("ARG_PTR_TO_BTF_ID", &[(null, "PTR_MAYBE_NULL")]))
        }
        Arg::Unmodelled(what) => format!("<not modelled: {what}>"),
        Arg::ReleaseRingbufMem => "ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE".into(),
        Arg::StackOrNull => "ARG_PTR_TO_STACK_OR_NULL".into(),
        Arg::PercpuBtfId => "ARG_PTR_TO_PERCPU_BTF_ID".into(),
    }
}

/// The kernel's spelling of a return kind.
pub(crate) fn ret_name(r: Ret) -> String {
    use crate::domain::state::{MAYBE_NULL, PTR_TRUSTED};
    match r {
        Ret::Integer => "RET_INTEGER".into(),
        Ret::Void => "RET_VOID".into(),
        Ret::MapValueOrNull => "RET_PTR_TO_MAP_VALUE_OR_NULL".into(),
        Ret::MapValue => "RET_PTR_TO_MAP_VALUE".into(),
        Ret::DynptrMemOrNull => "RET_PTR_TO_DYNPTR_MEM_OR_NULL".into(),
        Ret::SocketOrNull => "RET_PTR_TO_SOCKET_OR_NULL".into(),
        Ret::SockCommonOrNull => "RET_PTR_TO_SOCK_COMMON_OR_NULL".into(),
        Ret::TcpSockOrNull => "RET_PTR_TO_TCP_SOCK_OR_NULL".into(),
        Ret::RingbufMemOrNull => "RET_PTR_TO_RINGBUF_MEM_OR_NULL".into(),
        Ret::KptrXchg => "RET_PTR_TO_BTF_ID_OR_NULL".into(),
        Ret::PercpuObj { null } => {
            format!("RET_PTR_TO_MEM_OR_BTF_ID{} | MEM_RDONLY", if null { " | PTR_MAYBE_NULL" } else { "" })
        }
        Ret::BtfObj { name, flags } => {
            let base =
                if flags & PTR_TRUSTED != 0 { "RET_PTR_TO_BTF_ID_TRUSTED" } else { "RET_PTR_TO_BTF_ID" };
            let null = if flags & MAYBE_NULL != 0 { " | PTR_MAYBE_NULL" } else { "" };
            format!("{base}{null} (struct {name})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(pt: ProgType, name: &str) -> Option<HelperEntry> {
        helpers_for(pt, None).into_iter().find(|e| e.name == name)
    }

    #[test]
    fn base_and_type_helpers_are_listed_with_kernel_spelling() {
        let lookup = find(ProgType::SocketFilter, "bpf_map_lookup_elem").unwrap();
        assert_eq!(lookup.args, ["ARG_CONST_MAP_PTR", "ARG_PTR_TO_MAP_KEY"]);
        assert_eq!(lookup.ret, "RET_PTR_TO_MAP_VALUE_OR_NULL");
        assert_eq!(lookup.model, HelperModel::Modelled);
        // a tc-only helper is not a socket filter's
        assert!(find(ProgType::SocketFilter, "bpf_skb_store_bytes").is_none());
        assert!(find(ProgType::SchedCls, "bpf_skb_store_bytes").is_some());
        let reserve = find(ProgType::Xdp, "bpf_ringbuf_reserve").unwrap();
        assert_eq!(reserve.ret, "RET_PTR_TO_RINGBUF_MEM_OR_NULL");
        assert_eq!(reserve.map_types, [27]);
    }

    #[test]
    fn helper_models_are_marked() {
        let percpu = find(ProgType::CgroupSkb, "bpf_this_cpu_ptr").unwrap();
        assert_eq!(percpu.model, HelperModel::Modelled);
        assert_eq!(percpu.args, ["ARG_PTR_TO_PERCPU_BTF_ID"]);
        assert_eq!(percpu.ret, "RET_PTR_TO_MEM_OR_BTF_ID | MEM_RDONLY");
        let drain = find(ProgType::CgroupSkb, "bpf_user_ringbuf_drain").unwrap();
        assert_eq!(drain.model, HelperModel::Modelled);
        let lock = find(ProgType::CgroupSkb, "bpf_spin_lock").unwrap();
        assert_eq!(lock.args, ["ARG_PTR_TO_SPIN_LOCK"]);
        let cast = find(ProgType::SockOps, "bpf_skc_to_tcp_sock").unwrap();
        assert_eq!(cast.args, ["ARG_PTR_TO_BTF_ID_SOCK_COMMON"]);
        assert_eq!(cast.ret, "RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL (struct tcp_sock)");
    }
}
