//! The cgroup program types' shared helpers (kernel/bpf/cgroup.c): `cgroup_common_func_proto`
//! (local storage, `bpf_get_retval` / `bpf_set_retval` where the hook has a return value to
//! report) and `cgroup_current_func_proto` (the current task's identity), plus the prototypes
//! the cgroup types share with the socket types (`bpf_perf_event_output` on raw data, socket
//! storage).

use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret};
use kbpf_isa::AttachType;

const D: Arg = Arg::DontCare;
const A: Arg = Arg::Anything;

/// `BPF_MAP_TYPE_CGROUP_STORAGE`, `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE`.
const CGROUP_STORAGE_MAPS: &[u32] = &[19, 21];
/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
const PERF_EVENT_ARRAY: &[u32] = &[4];
/// `BPF_MAP_TYPE_SK_STORAGE`.
const SK_STORAGE: &[u32] = &[24];

pub(crate) fn p(args: [Arg; 5], ret: Ret) -> Proto {
    Proto { args, ret, gpl_only: false, map_types: &[] }
}

/// `cgroup_common_func_proto` for a program loaded with expected attach type `attach`.
/// `bpf_get_retval` / `bpf_set_retval` are refused at the hooks whose return value is fixed
/// (skb ingress and egress, sock_ops, recvmsg, getpeername, getsockname), and an unset attach
/// type is 0, `BPF_CGROUP_INET_INGRESS`.
pub(crate) fn cgroup_common_proto(f: BpfFunc, attach: Option<AttachType>) -> Option<Proto> {
    use AttachType as At;
    let has_retval = !matches!(
        attach.unwrap_or(At::CgroupInetIngress),
        At::CgroupInetIngress
            | At::CgroupInetEgress
            | At::CgroupSockOps
            | At::CgroupUdp4Recvmsg
            | At::CgroupUdp6Recvmsg
            | At::CgroupUnixRecvmsg
            | At::CgroupInet4Getpeername
            | At::CgroupInet6Getpeername
            | At::CgroupUnixGetpeername
            | At::CgroupInet4Getsockname
            | At::CgroupInet6Getsockname
            | At::CgroupUnixGetsockname
    );
    match f {
        F::GetLocalStorage => Some(Proto {
            args: [Arg::ConstMapPtr, A, D, D, D],
            ret: Ret::MapValue,
            gpl_only: false,
            map_types: CGROUP_STORAGE_MAPS,
        }),
        F::GetRetval if has_retval => Some(p([D; 5], Ret::Integer)),
        F::SetRetval if has_retval => Some(p([A, D, D, D, D], Ret::Integer)),
        _ => None,
    }
}

/// `cgroup_current_func_proto`: the current task's uid/gid, comm, classid and cgroup test.
pub(crate) fn cgroup_current_proto(f: BpfFunc) -> Option<Proto> {
    match f {
        F::GetCurrentUidGid | F::GetCgroupClassid => Some(p([D; 5], Ret::Integer)),
        F::GetCurrentComm => {
            Some(p([Arg::Mem { write: true, maybe_null: false }, Arg::ConstSize, D, D, D], Ret::Integer))
        }
        F::CurrentTaskUnderCgroup => Some(Proto {
            args: [Arg::ConstMapPtr, A, D, D, D],
            ret: Ret::Integer,
            gpl_only: false,
            map_types: &[8],
        }),
        _ => None,
    }
}

/// `bpf_event_output_data_proto`: `bpf_perf_event_output` on a context that is not an skb.
pub(crate) fn event_output_data_proto() -> Proto {
    Proto {
        args: [
            Arg::Ctx,
            Arg::ConstMapPtr,
            A,
            Arg::Mem { write: false, maybe_null: false },
            Arg::ConstSizeOrZero,
        ],
        ret: Ret::Integer,
        gpl_only: true,
        map_types: PERF_EVENT_ARRAY,
    }
}

/// `bpf_sk_storage_get_proto` / `bpf_sk_storage_delete_proto` (any socket pointer), or with
/// `ctx_sock` the cgroup_sock variant whose socket is the context itself.
pub(crate) fn sk_storage_proto(f: BpfFunc, ctx_sock: bool) -> Option<Proto> {
    let sk = if ctx_sock { Arg::Ctx } else { Arg::BtfSockCommon };
    match f {
        F::SkStorageGet => Some(Proto {
            args: [Arg::ConstMapPtr, sk, Arg::MapValueOrNull, A, D],
            ret: Ret::MapValueOrNull,
            gpl_only: false,
            map_types: SK_STORAGE,
        }),
        F::SkStorageDelete if !ctx_sock => Some(Proto {
            args: [Arg::ConstMapPtr, sk, D, D, D],
            ret: Ret::Integer,
            gpl_only: false,
            map_types: SK_STORAGE,
        }),
        _ => None,
    }
}

/// Helpers whose only argument is the context (`get_socket_cookie` and `get_netns_cookie`
/// variants of the socket types).
pub(crate) fn ctx_only(or_null: bool) -> Proto {
    p([if or_null { Arg::CtxOrNull } else { Arg::Ctx }, D, D, D, D], Ret::Integer)
}
