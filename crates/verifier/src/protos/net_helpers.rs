//! Helpers of the socket-level program types beyond the base set (net/core/filter.c and
//! net/core/sock_map.c): socket options, sockmap redirects, `sk_msg` data, lightweight-tunnel
//! encapsulation, `SO_REUSEPORT` selection and `sk_lookup` assignment, with their 6.18
//! prototypes. Each program type's `func_proto` picks from here.

use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret};

const D: Arg = Arg::DontCare;
const A: Arg = Arg::Anything;
const C: Arg = Arg::Ctx;
const RD: Arg = Arg::Mem { write: false, maybe_null: false };
const WR: Arg = Arg::Mem { write: true, maybe_null: false };
const SZ: Arg = Arg::ConstSize;
const MAP: Arg = Arg::ConstMapPtr;

/// `BPF_MAP_TYPE_SOCKMAP`.
const SOCKMAP: &[u32] = &[15];
/// `BPF_MAP_TYPE_SOCKHASH`.
const SOCKHASH: &[u32] = &[18];
/// `bpf_sk_select_reuseport`: reuseport arrays, sockmaps, sockhashes.
const REUSEPORT_MAPS: &[u32] = &[20, 15, 18];

fn p(args: [Arg; 5], ret: Ret) -> Proto {
    Proto { args, ret, gpl_only: false, map_types: &[] }
}

fn maps(args: [Arg; 5], types: &'static [u32]) -> Proto {
    Proto { args, ret: Ret::Integer, gpl_only: false, map_types: types }
}

/// `bpf_setsockopt` / `bpf_getsockopt` with the socket as `first` (the context of sock_ops
/// and sock_addr programs, a socket pointer for sockopt programs).
pub(crate) fn sockopt_proto(f: BpfFunc, first: Arg) -> Option<Proto> {
    match f {
        F::Setsockopt => Some(p([first, A, A, RD, SZ], Ret::Integer)),
        F::Getsockopt => Some(p([first, A, A, WR, SZ], Ret::Integer)),
        _ => None,
    }
}

/// `sock_ops_func_proto`'s own helpers.
pub(crate) fn sock_ops_proto(f: BpfFunc) -> Option<Proto> {
    Some(match f {
        F::SockOpsCbFlagsSet => p([C, A, D, D, D], Ret::Integer),
        F::SockMapUpdate => maps([C, MAP, Arg::MapKey, A, D], SOCKMAP),
        F::SockHashUpdate => maps([C, MAP, Arg::MapKey, A, D], SOCKHASH),
        // the buffer holds the option kind to search for and receives the option
        F::LoadHdrOpt => p([C, Arg::MemRw, SZ, A, D], Ret::Integer),
        F::StoreHdrOpt => p([C, RD, SZ, A, D], Ret::Integer),
        F::ReserveHdrOpt => p([C, A, A, D, D], Ret::Integer),
        _ => return None,
    })
}

/// `sk_msg_func_proto`'s own helpers.
pub(crate) fn sk_msg_proto(f: BpfFunc) -> Option<Proto> {
    Some(match f {
        F::MsgRedirectMap => maps([C, MAP, A, A, D], SOCKMAP),
        F::MsgRedirectHash => maps([C, MAP, Arg::MapKey, A, D], SOCKHASH),
        F::MsgApplyBytes | F::MsgCorkBytes => p([C, A, D, D, D], Ret::Integer),
        F::MsgPullData | F::MsgPushData | F::MsgPopData => p([C, A, A, A, D], Ret::Integer),
        _ => return None,
    })
}

/// `sk_skb_func_proto`'s own helpers (the sk_skb variants of the skb rewriters and the
/// sockmap redirects).
pub(crate) fn sk_skb_proto(f: BpfFunc) -> Option<Proto> {
    Some(match f {
        F::SkbPullData => p([C, A, D, D, D], Ret::Integer),
        F::SkbChangeTail | F::SkbChangeHead => p([C, A, A, D, D], Ret::Integer),
        F::SkbAdjustRoom => p([C, A, A, A, D], Ret::Integer),
        F::SkRedirectMap => maps([C, MAP, A, A, D], SOCKMAP),
        F::SkRedirectHash => maps([C, MAP, Arg::MapKey, A, D], SOCKHASH),
        _ => return None,
    })
}

/// `bpf_flow_dissector_load_bytes_proto`, `bpf_sk_reuseport_load_bytes(_relative)_proto`:
/// the destination is filled by the helper.
pub(crate) fn load_bytes_proto(relative: bool) -> Proto {
    p([C, A, WR, SZ, if relative { A } else { D }], Ret::Integer)
}

/// `bpf_lwt_push_encap` (the seg6 helpers are compiled out of the reference kernel).
pub(crate) fn lwt_proto(f: BpfFunc) -> Option<Proto> {
    (f == F::LwtPushEncap).then(|| p([C, A, RD, SZ, D], Ret::Integer))
}

/// `sk_reuseport_func_proto`'s own helpers.
pub(crate) fn sk_reuseport_proto(f: BpfFunc) -> Option<Proto> {
    Some(match f {
        F::SkSelectReuseport => maps([C, MAP, Arg::MapKey, A, D], REUSEPORT_MAPS),
        F::SkbLoadBytes => load_bytes_proto(false),
        F::SkbLoadBytesRelative => load_bytes_proto(true),
        // bpf_get_socket_ptr_cookie_proto
        F::GetSocketCookie => p([Arg::BtfSockCommon, D, D, D, D], Ret::Integer),
        _ => return None,
    })
}

/// `sk_lookup_func_proto`'s own helpers.
pub(crate) fn sk_lookup_proto(f: BpfFunc) -> Option<Proto> {
    Some(match f {
        F::SkAssign => p([C, Arg::SocketOrNull, A, D, D], Ret::Integer),
        F::SkRelease => p([Arg::ReleaseSock, D, D, D, D], Ret::Integer),
        _ => return None,
    })
}

/// `bpf_bind` (sock_addr connect hooks).
pub(crate) fn bind_proto() -> Proto {
    p([C, RD, SZ, D, D], Ret::Integer)
}

/// `bpf_sk_cgroup_id` / `bpf_sk_ancestor_cgroup_id` (cgroup_skb).
pub(crate) fn sk_cgroup_proto(f: BpfFunc) -> Option<Proto> {
    match f {
        F::SkCgroupId => Some(p([Arg::BtfSockCommon, D, D, D, D], Ret::Integer)),
        F::SkAncestorCgroupId => Some(p([Arg::BtfSockCommon, A, D, D, D], Ret::Integer)),
        _ => None,
    }
}

/// `bpf_sk_base_func_proto`: the networking types' fallback, the base set plus the BTF socket
/// casts (`bpf_skc_to_*`, `CAP_PERFMON`), which give a BTF pointer or NULL sharing the
/// argument's reference.
pub(crate) fn sk_base_func_proto(f: BpfFunc) -> Option<Proto> {
    let cast = |name| {
        let ret = Ret::BtfObj { name, flags: crate::domain::state::MAYBE_NULL };
        Some(p([Arg::BtfSockCommon, D, D, D, D], ret))
    };
    match f {
        F::SkcToTcp6Sock => cast("tcp6_sock"),
        F::SkcToTcpSock => cast("tcp_sock"),
        F::SkcToTcpTimewaitSock => cast("tcp_timewait_sock"),
        F::SkcToTcpRequestSock => cast("tcp_request_sock"),
        F::SkcToUdp6Sock => cast("udp6_sock"),
        F::SkcToUnixSock => cast("unix_sock"),
        F::SkcToMptcpSock => cast("mptcp_sock"),
        _ => crate::protos::helpers::base_func_proto(f),
    }
}
