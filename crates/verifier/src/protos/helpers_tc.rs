//! The helpers a `BPF_PROG_TYPE_SCHED_CLS` (tc) program may call beyond the base set
//! (`tc_cls_act_func_proto`), with their 6.18 prototypes: skb data access and rewriting,
//! checksums, redirects, socket lookups (which acquire references) and socket casts.

use crate::protos::func_id::BpfFunc::{self, *};
use crate::protos::helpers::{Arg, Proto, Ret};

const D: Arg = Arg::DontCare;
const A: Arg = Arg::Anything;
const RD_MEM: Arg = Arg::Mem { write: false, maybe_null: false };
const WR_MEM: Arg = Arg::Mem { write: true, maybe_null: false };

fn p(args: [Arg; 5], ret: Ret) -> Proto {
    Proto { args, ret, gpl_only: false, map_types: &[] }
}

/// The prototype of tc-specific helper `id` (the base set is handled by the caller).
pub fn tc_helper_proto(f: BpfFunc) -> Option<Proto> {
    use Arg::Ctx;
    let int = Ret::Integer;
    Some(match f {
        SkbStoreBytes => p([Ctx, A, RD_MEM, Arg::ConstSize, A], int),
        SkbLoadBytes => p([Ctx, A, WR_MEM, Arg::ConstSize, D], int),
        SkbLoadBytesRelative => p([Ctx, A, WR_MEM, Arg::ConstSize, A], int),
        L3CsumReplace | L4CsumReplace => p([Ctx, A, A, A, A], int),
        CsumDiff => p(
            [
                Arg::Mem { write: false, maybe_null: true },
                Arg::ConstSizeOrZero,
                Arg::Mem { write: false, maybe_null: true },
                Arg::ConstSizeOrZero,
                A,
            ],
            int,
        ),
        CloneRedirect | SkbVlanPush | SkbChangeProto | SkbChangeTail | SkbChangeHead => {
            p([Ctx, A, A, D, D], int)
        }
        SkbAdjustRoom => p([Ctx, A, A, A, D], int),
        SkbPullData | SkbChangeType | CsumUpdate | SetHash | SkbAncestorCgroupId => p([Ctx, A, D, D, D], int),
        GetCgroupClassid | SkbVlanPop | GetRouteRealm | GetHashRecalc | GetSocketCookie | GetSocketUid
        | SkbCgroupId | SkbEcnSetCe | SetHashInvalid => p([Ctx, D, D, D, D], int),
        Redirect => p([A, A, D, D, D], int),
        PerfEventOutput => Proto {
            args: [Ctx, Arg::ConstMapPtr, A, RD_MEM, Arg::ConstSizeOrZero],
            ret: int,
            gpl_only: true,
            map_types: &[4],
        },
        // the kernel takes an empty tuple (size 0) and fails the lookup at run time
        SkLookupTcp | SkLookupUdp => p([Ctx, RD_MEM, Arg::ConstSizeOrZero, A, A], Ret::SocketOrNull),
        SkcLookupTcp => p([Ctx, RD_MEM, Arg::ConstSizeOrZero, A, A], Ret::SockCommonOrNull),
        SkRelease => p([Arg::ReleaseSock, D, D, D, D], int),
        SkFullsock | GetListenerSock => p([Arg::SockCommon, D, D, D, D], Ret::SocketOrNull),
        TcpSock => p([Arg::SockCommon, D, D, D, D], Ret::TcpSockOrNull),
        SkbGetTunnelKey => p([Ctx, WR_MEM, Arg::ConstSize, A, D], int),
        SkbSetTunnelKey => p([Ctx, RD_MEM, Arg::ConstSize, A, D], int),
        SkbGetTunnelOpt => p([Ctx, WR_MEM, Arg::ConstSize, D, D], int),
        SkbSetTunnelOpt => p([Ctx, RD_MEM, Arg::ConstSize, D, D], int),
        SkbGetXfrmState => p([Ctx, A, WR_MEM, Arg::ConstSize, A], int),
        // the fib parameters are read and updated in place
        FibLookup => {
            Proto { args: [Ctx, Arg::MemRw, Arg::ConstSize, A, D], ret: int, gpl_only: true, map_types: &[] }
        }
        TcpCheckSyncookie | TcpGenSyncookie => {
            p([Arg::BtfSockCommon, RD_MEM, Arg::ConstSize, RD_MEM, Arg::ConstSize], int)
        }
        SkAssign => p([Ctx, Arg::BtfSockCommon, A, D, D], int),
        CsumLevel | SkbSetTstamp => p([Ctx, A, if f == CsumLevel { D } else { A }, D, D], int),
        SkbCgroupClassid => p([Ctx, D, D, D, D], int),
        RedirectNeigh => p([A, Arg::Mem { write: false, maybe_null: true }, Arg::ConstSizeOrZero, A, D], int),
        RedirectPeer => p([A, A, D, D, D], int),
        CheckMtu => p([Ctx, A, Arg::FixedMem { size: 4, aligned: true, uninit: false }, A, A], int),
        // raw syncookies: the IP header (20 / 40 bytes) and the TCP header
        TcpRawGenSyncookieIpv4 => p([Arg::FixedMemRd(20), RD_MEM, Arg::ConstSizeOrZero, D, D], int),
        TcpRawGenSyncookieIpv6 => p([Arg::FixedMemRd(40), RD_MEM, Arg::ConstSizeOrZero, D, D], int),
        TcpRawCheckSyncookieIpv4 => p([Arg::FixedMemRd(20), Arg::FixedMemRd(20), D, D, D], int),
        TcpRawCheckSyncookieIpv6 => p([Arg::FixedMemRd(40), Arg::FixedMemRd(20), D, D, D], int),
        // cgroup arrays and socket storage maps (map types kbpf does not create)
        SkbUnderCgroup => {
            Proto { args: [Ctx, Arg::ConstMapPtr, A, D, D], ret: int, gpl_only: false, map_types: &[8] }
        }
        SkStorageGet => Proto {
            args: [Arg::ConstMapPtr, Arg::BtfSockCommon, Arg::MapValueOrNull, A, D],
            ret: Ret::MapValueOrNull,
            gpl_only: false,
            map_types: &[24],
        },
        SkStorageDelete => Proto {
            args: [Arg::ConstMapPtr, Arg::BtfSockCommon, D, D, D],
            ret: int,
            gpl_only: false,
            map_types: &[24],
        },
        _ => return None,
    })
}
