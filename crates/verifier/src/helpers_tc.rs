//! The helpers a `BPF_PROG_TYPE_SCHED_CLS` (tc) program may call beyond the base set
//! (`tc_cls_act_func_proto`), with their 6.18 prototypes: skb data access and rewriting,
//! checksums, redirects, socket lookups (which acquire references) and socket casts.

use crate::helpers::{Arg, Proto, Ret};

/// Helper ids (`enum bpf_func_id`) the tc rules name.
pub mod id {
    pub const TAIL_CALL: i32 = 12;
    pub const SKB_STORE_BYTES: i32 = 9;
    pub const L3_CSUM_REPLACE: i32 = 10;
    pub const L4_CSUM_REPLACE: i32 = 11;
    pub const CLONE_REDIRECT: i32 = 13;
    pub const GET_CGROUP_CLASSID: i32 = 17;
    pub const SKB_VLAN_PUSH: i32 = 18;
    pub const SKB_VLAN_POP: i32 = 19;
    pub const REDIRECT: i32 = 23;
    pub const GET_ROUTE_REALM: i32 = 24;
    pub const PERF_EVENT_OUTPUT: i32 = 25;
    pub const SKB_LOAD_BYTES: i32 = 26;
    pub const CSUM_DIFF: i32 = 28;
    pub const SKB_CHANGE_PROTO: i32 = 31;
    pub const SKB_CHANGE_TYPE: i32 = 32;
    pub const GET_HASH_RECALC: i32 = 34;
    pub const SKB_CHANGE_TAIL: i32 = 38;
    pub const SKB_PULL_DATA: i32 = 39;
    pub const CSUM_UPDATE: i32 = 40;
    pub const SET_HASH_INVALID: i32 = 41;
    pub const SKB_CHANGE_HEAD: i32 = 43;
    pub const XDP_ADJUST_HEAD: i32 = 44;
    pub const GET_SOCKET_COOKIE: i32 = 46;
    pub const GET_SOCKET_UID: i32 = 47;
    pub const SET_HASH: i32 = 48;
    pub const SKB_ADJUST_ROOM: i32 = 50;
    pub const XDP_ADJUST_META: i32 = 54;
    pub const MSG_PULL_DATA: i32 = 63;
    pub const XDP_ADJUST_TAIL: i32 = 65;
    pub const SKB_LOAD_BYTES_RELATIVE: i32 = 68;
    pub const LWT_PUSH_ENCAP: i32 = 73;
    pub const LWT_SEG6_STORE_BYTES: i32 = 74;
    pub const LWT_SEG6_ADJUST_SRH: i32 = 75;
    pub const LWT_SEG6_ACTION: i32 = 76;
    pub const SKB_CGROUP_ID: i32 = 79;
    pub const SKB_ANCESTOR_CGROUP_ID: i32 = 83;
    pub const SK_LOOKUP_TCP: i32 = 84;
    pub const SK_LOOKUP_UDP: i32 = 85;
    pub const SK_RELEASE: i32 = 86;
    pub const MSG_PUSH_DATA: i32 = 90;
    pub const MSG_POP_DATA: i32 = 91;
    pub const SK_FULLSOCK: i32 = 95;
    pub const TCP_SOCK: i32 = 96;
    pub const SKB_ECN_SET_CE: i32 = 97;
    pub const GET_LISTENER_SOCK: i32 = 98;
    pub const SKC_LOOKUP_TCP: i32 = 99;
    pub const SKB_GET_TUNNEL_KEY: i32 = 20;
    pub const SKB_SET_TUNNEL_KEY: i32 = 21;
    pub const SKB_GET_TUNNEL_OPT: i32 = 29;
    pub const SKB_SET_TUNNEL_OPT: i32 = 30;
    pub const SKB_GET_XFRM_STATE: i32 = 66;
    pub const FIB_LOOKUP: i32 = 69;
    pub const TCP_CHECK_SYNCOOKIE: i32 = 100;
    pub const TCP_GEN_SYNCOOKIE: i32 = 110;
    pub const SK_ASSIGN: i32 = 124;
    pub const CSUM_LEVEL: i32 = 135;
    pub const SKB_CGROUP_CLASSID: i32 = 151;
    pub const REDIRECT_NEIGH: i32 = 152;
    pub const REDIRECT_PEER: i32 = 155;
    pub const CHECK_MTU: i32 = 163;
    pub const SKB_SET_TSTAMP: i32 = 192;
    pub const SKB_UNDER_CGROUP: i32 = 33;
    pub const SK_STORAGE_GET: i32 = 107;
    pub const SK_STORAGE_DELETE: i32 = 108;
    pub const TCP_RAW_GEN_SYNCOOKIE_IPV4: i32 = 204;
    pub const TCP_RAW_GEN_SYNCOOKIE_IPV6: i32 = 205;
    pub const TCP_RAW_CHECK_SYNCOOKIE_IPV4: i32 = 206;
    pub const TCP_RAW_CHECK_SYNCOOKIE_IPV6: i32 = 207;
}

const D: Arg = Arg::DontCare;
const A: Arg = Arg::Anything;
const RD_MEM: Arg = Arg::Mem { write: false, maybe_null: false };
const WR_MEM: Arg = Arg::Mem { write: true, maybe_null: false };

fn p(args: [Arg; 5], ret: Ret) -> Proto {
    Proto { args, ret, gpl_only: false, map_types: &[] }
}

/// The prototype of tc-specific helper `id` (the base set is handled by the caller).
pub fn tc_helper_proto(id: i32) -> Option<Proto> {
    use Arg::Ctx;
    use id::*;
    let int = Ret::Integer;
    Some(match id {
        SKB_STORE_BYTES => p([Ctx, A, RD_MEM, Arg::ConstSize, A], int),
        SKB_LOAD_BYTES => p([Ctx, A, WR_MEM, Arg::ConstSize, D], int),
        SKB_LOAD_BYTES_RELATIVE => p([Ctx, A, WR_MEM, Arg::ConstSize, A], int),
        L3_CSUM_REPLACE | L4_CSUM_REPLACE => p([Ctx, A, A, A, A], int),
        CSUM_DIFF => p(
            [
                Arg::Mem { write: false, maybe_null: true },
                Arg::ConstSizeOrZero,
                Arg::Mem { write: false, maybe_null: true },
                Arg::ConstSizeOrZero,
                A,
            ],
            int,
        ),
        CLONE_REDIRECT | SKB_VLAN_PUSH | SKB_CHANGE_PROTO | SKB_CHANGE_TAIL | SKB_CHANGE_HEAD => {
            p([Ctx, A, A, D, D], int)
        }
        SKB_ADJUST_ROOM => p([Ctx, A, A, A, D], int),
        SKB_PULL_DATA | SKB_CHANGE_TYPE | CSUM_UPDATE | SET_HASH | SKB_ANCESTOR_CGROUP_ID => {
            p([Ctx, A, D, D, D], int)
        }
        GET_CGROUP_CLASSID | SKB_VLAN_POP | GET_ROUTE_REALM | GET_HASH_RECALC | GET_SOCKET_COOKIE
        | GET_SOCKET_UID | SKB_CGROUP_ID | SKB_ECN_SET_CE | SET_HASH_INVALID => p([Ctx, D, D, D, D], int),
        REDIRECT => p([A, A, D, D, D], int),
        PERF_EVENT_OUTPUT => Proto {
            args: [Ctx, Arg::ConstMapPtr, A, RD_MEM, Arg::ConstSizeOrZero],
            ret: int,
            gpl_only: true,
            map_types: &[4],
        },
        // the kernel takes an empty tuple (size 0) and fails the lookup at run time
        SK_LOOKUP_TCP | SK_LOOKUP_UDP => p([Ctx, RD_MEM, Arg::ConstSizeOrZero, A, A], Ret::SocketOrNull),
        SKC_LOOKUP_TCP => p([Ctx, RD_MEM, Arg::ConstSizeOrZero, A, A], Ret::SockCommonOrNull),
        SK_RELEASE => p([Arg::ReleaseSock, D, D, D, D], int),
        SK_FULLSOCK | GET_LISTENER_SOCK => p([Arg::SockCommon, D, D, D, D], Ret::SocketOrNull),
        TCP_SOCK => p([Arg::SockCommon, D, D, D, D], Ret::TcpSockOrNull),
        SKB_GET_TUNNEL_KEY => p([Ctx, WR_MEM, Arg::ConstSize, A, D], int),
        SKB_SET_TUNNEL_KEY => p([Ctx, RD_MEM, Arg::ConstSize, A, D], int),
        SKB_GET_TUNNEL_OPT => p([Ctx, WR_MEM, Arg::ConstSize, D, D], int),
        SKB_SET_TUNNEL_OPT => p([Ctx, RD_MEM, Arg::ConstSize, D, D], int),
        SKB_GET_XFRM_STATE => p([Ctx, A, WR_MEM, Arg::ConstSize, A], int),
        // the fib parameters are read and updated in place
        FIB_LOOKUP => {
            Proto { args: [Ctx, Arg::MemRw, Arg::ConstSize, A, D], ret: int, gpl_only: true, map_types: &[] }
        }
        TCP_CHECK_SYNCOOKIE | TCP_GEN_SYNCOOKIE => {
            p([Arg::BtfSockCommon, RD_MEM, Arg::ConstSize, RD_MEM, Arg::ConstSize], int)
        }
        SK_ASSIGN => p([Ctx, Arg::BtfSockCommon, A, D, D], int),
        CSUM_LEVEL | SKB_SET_TSTAMP => p([Ctx, A, if id == CSUM_LEVEL { D } else { A }, D, D], int),
        SKB_CGROUP_CLASSID => p([Ctx, D, D, D, D], int),
        REDIRECT_NEIGH => {
            p([A, Arg::Mem { write: false, maybe_null: true }, Arg::ConstSizeOrZero, A, D], int)
        }
        REDIRECT_PEER => p([A, A, D, D, D], int),
        CHECK_MTU => p([Ctx, A, Arg::FixedMem { size: 4, aligned: true, uninit: false }, A, A], int),
        // raw syncookies: the IP header (20 / 40 bytes) and the TCP header
        TCP_RAW_GEN_SYNCOOKIE_IPV4 => p([Arg::FixedMemRd(20), RD_MEM, Arg::ConstSizeOrZero, D, D], int),
        TCP_RAW_GEN_SYNCOOKIE_IPV6 => p([Arg::FixedMemRd(40), RD_MEM, Arg::ConstSizeOrZero, D, D], int),
        TCP_RAW_CHECK_SYNCOOKIE_IPV4 => p([Arg::FixedMemRd(20), Arg::FixedMemRd(20), D, D, D], int),
        TCP_RAW_CHECK_SYNCOOKIE_IPV6 => p([Arg::FixedMemRd(40), Arg::FixedMemRd(20), D, D, D], int),
        // cgroup arrays and socket storage maps (map types kbpf does not create)
        SKB_UNDER_CGROUP => {
            Proto { args: [Ctx, Arg::ConstMapPtr, A, D, D], ret: int, gpl_only: false, map_types: &[8] }
        }
        SK_STORAGE_GET => Proto {
            args: [Arg::ConstMapPtr, Arg::BtfSockCommon, Arg::MapValueOrNull, A, D],
            ret: Ret::MapValueOrNull,
            gpl_only: false,
            map_types: &[24],
        },
        SK_STORAGE_DELETE => Proto {
            args: [Arg::ConstMapPtr, Arg::BtfSockCommon, D, D, D],
            ret: int,
            gpl_only: false,
            map_types: &[24],
        },
        _ => return None,
    })
}
