//! Helpers of BTF-attached programs (`tracing_prog_func_proto`, `bpf_lsm_func_proto`): the
//! tracing base set, the BTF-typed ones (`bpf_get_current_task_btf`, `bpf_skc_to_*`,
//! `bpf_d_path`, task and inode storage) and those that only a trampoline or an iterator
//! gives (`bpf_get_func_arg`, `bpf_seq_printf`).

use crate::domain::state::MAYBE_NULL;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret, base_func_proto, p};
use crate::protos::net_helpers::sockopt_proto;
use kbpf_isa::AttachType;

const D: Arg = Arg::DontCare;
const WR: Arg = Arg::Mem { write: true, maybe_null: false };
const RD: Arg = Arg::Mem { write: false, maybe_null: false };
/// The `struct seq_file *` of an iterator's `meta`.
const SEQ_FILE: Arg = Arg::BtfObj { name: "seq_file", null: false };

fn gpl(mut pr: Proto) -> Proto {
    pr.gpl_only = true;
    pr
}

fn maps(mut pr: Proto, types: &'static [u32]) -> Proto {
    pr.map_types = types;
    pr
}

/// `RET_PTR_TO_BTF_ID_OR_NULL` of struct `name`.
const fn btf_or_null(name: &'static str) -> Ret {
    Ret::BtfObj { name, flags: MAYBE_NULL }
}

/// `bpf_find_vma(task, addr, callback_fn, callback_ctx, flags)`.
pub(crate) const FIND_VMA: Proto = Proto {
    args: [
        Arg::BtfObj { name: "task_struct", null: false },
        Arg::Anything,
        Arg::Func,
        Arg::StackOrNull,
        Arg::Anything,
    ],
    ret: Ret::Integer,
    gpl_only: false,
    map_types: &[],
};

/// The helpers every tracing-like program has (`bpf_tracing_func_proto`) beyond the base
/// set, as far as kbpf models them; the rest of the set is refused as unmodelled, not as
/// "unknown", so that no verdict is guessed.
fn tracing_base(f: BpfFunc) -> Option<Proto> {
    use Arg::*;
    if let Some(pr) = base_func_proto(f) {
        return Some(pr);
    }
    Some(match f {
        F::ProbeRead | F::ProbeReadStr => gpl(p([WR, ConstSizeOrZero, Anything, D, D], Ret::Integer)),
        F::ProbeWriteUser => gpl(p([Anything, RD, ConstSize, D, D], Ret::Integer)),
        F::GetFuncIp => p([Ctx, D, D, D, D], Ret::Integer),
        F::GetTaskStack => {
            p([BtfObj { name: "task_struct", null: false }, WR, ConstSizeOrZero, Anything, D], Ret::Integer)
        }
        F::FindVma => FIND_VMA,
        F::PerfEventOutput => maps(p([Ctx, ConstMapPtr, Anything, RD, ConstSizeOrZero], Ret::Integer), &[4]),
        F::GetStackid => maps(p([Ctx, ConstMapPtr, Anything, D, D], Ret::Integer), &[7]),
        F::GetStack => p([Ctx, WR, ConstSizeOrZero, Anything, D], Ret::Integer),
        _ => return None,
    })
}

/// `tracing_prog_func_proto` (`attach` = the expected attach type, `None` = any: the union,
/// for argument counts).
pub(crate) fn tracing_func_proto(f: BpfFunc, attach: Option<AttachType>) -> Option<Proto> {
    use Arg::*;
    let trampoline = attach.is_none_or(|a| {
        matches!(a, AttachType::TraceFentry | AttachType::TraceFexit | AttachType::ModifyReturn)
    });
    let iter = attach.is_none_or(|a| a == AttachType::TraceIter);
    let sock_cast = |name| Some(p([BtfSockCommon, D, D, D, D], btf_or_null(name)));
    match f {
        F::SkcToTcp6Sock => sock_cast("tcp6_sock"),
        F::SkcToTcpSock => sock_cast("tcp_sock"),
        F::SkcToTcpTimewaitSock => sock_cast("tcp_timewait_sock"),
        F::SkcToTcpRequestSock => sock_cast("tcp_request_sock"),
        F::SkcToUdp6Sock => sock_cast("udp6_sock"),
        F::SkcToUnixSock => sock_cast("unix_sock"),
        F::SkcToMptcpSock => sock_cast("mptcp_sock"),
        // the tracing variants of the socket helpers take BTF objects
        F::SkbOutput | F::XdpOutput => {
            let obj = BtfObj { name: if f == F::SkbOutput { "sk_buff" } else { "xdp_buff" }, null: false };
            Some(gpl(maps(p([obj, ConstMapPtr, Anything, RD, ConstSizeOrZero], Ret::Integer), &[4])))
        }
        F::SkStorageGet => Some(maps(
            p(
                [ConstMapPtr, BtfObj { name: "sock_common", null: true }, MapValueOrNull, Anything, D],
                Ret::MapValueOrNull,
            ),
            &[24],
        )),
        F::SkStorageDelete => Some(maps(
            p([ConstMapPtr, BtfObj { name: "sock_common", null: true }, D, D, D], Ret::Integer),
            &[24],
        )),
        // a plain socket: what a walk from it reaches is untrusted
        F::SockFromFile => Some(p([BtfObj { name: "file", null: false }, D, D, D, D], btf_or_null("socket"))),
        F::GetSocketCookie => Some(p([BtfSockCommon, D, D, D, D], Ret::Integer)),
        F::SeqPrintf if iter => Some(p(
            [SEQ_FILE, RD, ConstSize, Mem { write: false, maybe_null: true }, ConstSizeOrZero],
            Ret::Integer,
        )),
        F::SeqWrite if iter => Some(p([SEQ_FILE, RD, ConstSizeOrZero, D, D], Ret::Integer)),
        F::SeqPrintfBtf if iter => Some(p([SEQ_FILE, RD, ConstSizeOrZero, Anything, D], Ret::Integer)),
        F::SeqPrintf | F::SeqWrite | F::SeqPrintfBtf => None,
        // the socket iterators' own set, any target (the union)
        F::Setsockopt | F::Getsockopt if attach.is_none() => sockopt_proto(f, BtfSockCommon),
        // bpf_d_path_allowed: every iterator; trampolines of its allowlist's functions and
        // sleepable LSM hooks are not modelled
        F::DPath if attach == Some(AttachType::TraceIter) => {
            Some(p([BtfObj { name: "path", null: false }, WR, ConstSizeOrZero, D, D], Ret::Integer))
        }
        F::DPath => Some(p([Unmodelled("bpf_d_path's allowlist"), D, D, D, D], Ret::Integer)),
        F::GetFuncArg if trampoline => {
            Some(p([Ctx, Anything, FixedMem { size: 8, aligned: true, uninit: true }, D, D], Ret::Integer))
        }
        F::GetFuncRet if trampoline => {
            Some(p([Ctx, FixedMem { size: 8, aligned: true, uninit: true }, D, D, D], Ret::Integer))
        }
        F::GetFuncArgCnt if trampoline => Some(p([Ctx, D, D, D, D], Ret::Integer)),
        F::GetFuncArg | F::GetFuncRet | F::GetFuncArgCnt => None,
        F::GetAttachCookie if trampoline || attach == Some(AttachType::TraceRawTp) => {
            Some(p([Ctx, D, D, D, D], Ret::Integer))
        }
        F::GetAttachCookie => None,
        _ => tracing_base(f),
    }
}

/// `bpf_lsm_func_proto`: the tracing base set, the LSM storages and a few LSM-only helpers.
pub(crate) fn lsm_func_proto(f: BpfFunc) -> Option<Proto> {
    use Arg::*;
    match f {
        F::InodeStorageGet => Some(maps(
            p(
                [ConstMapPtr, BtfObj { name: "inode", null: true }, MapValueOrNull, Anything, D],
                Ret::MapValueOrNull,
            ),
            &[28],
        )),
        F::InodeStorageDelete => {
            Some(maps(p([ConstMapPtr, BtfObj { name: "inode", null: true }, D, D, D], Ret::Integer), &[28]))
        }
        F::ImaInodeHash | F::ImaFileHash | F::BprmOptsSet => {
            Some(p([Unmodelled("LSM helpers"), D, D, D, D], Ret::Integer))
        }
        F::GetRetval | F::SetRetval => {
            Some(p([Unmodelled("lsm_cgroup retval helpers"), D, D, D, D], Ret::Integer))
        }
        F::GetAttachCookie => Some(p([Ctx, D, D, D, D], Ret::Integer)),
        _ => tracing_base(f),
    }
}

/// `bpf_iter_get_func_proto`: the helpers an iterator target adds to the tracing set (its
/// registration's `get_func_proto`): the socket options of the tcp and unix socket iterators.
fn iter_target_func_proto(f: BpfFunc, target: &str) -> Option<Proto> {
    match target {
        "tcp" | "unix" => sockopt_proto(f, Arg::BtfSockCommon),
        _ => None,
    }
}

/// The prototype for a program whose attach type (and iterator target) is known.
pub(crate) fn attached_func_proto(
    lsm: bool,
    f: BpfFunc,
    attach: AttachType,
    iter_target: Option<&str>,
) -> Option<Proto> {
    if lsm {
        return lsm_func_proto(f);
    }
    if attach == AttachType::TraceIter
        && let Some(pr) = iter_target.and_then(|t| iter_target_func_proto(f, t))
    {
        return Some(pr);
    }
    tracing_func_proto(f, Some(attach))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::PTR_TRUSTED;

    #[test]
    fn socket_options_belong_to_the_tcp_and_unix_iterators() {
        let it = AttachType::TraceIter;
        for target in ["tcp", "unix"] {
            let set = attached_func_proto(false, F::Setsockopt, it, Some(target)).unwrap();
            assert_eq!(set.args[0], Arg::BtfSockCommon);
            assert_eq!(set.args[3], RD);
            let get = attached_func_proto(false, F::Getsockopt, it, Some(target)).unwrap();
            assert_eq!(get.args[3], WR);
        }
        assert!(attached_func_proto(false, F::Setsockopt, it, Some("udp")).is_none());
        // bpf_d_path_allowed: any iterator; a trampoline's allowlist is not modelled
        let d_path = tracing_func_proto(F::DPath, Some(it)).unwrap();
        assert_eq!(d_path.args[0], Arg::BtfObj { name: "path", null: false });
        let fentry = tracing_func_proto(F::DPath, Some(AttachType::TraceFentry)).unwrap();
        assert!(matches!(fentry.args[0], Arg::Unmodelled(_)));
        // bpf_sock_from_file: a plain socket or NULL
        let from_file = tracing_func_proto(F::SockFromFile, Some(AttachType::TraceFentry)).unwrap();
        assert_eq!(from_file.ret, btf_or_null("socket"));
        assert!(attached_func_proto(false, F::Setsockopt, AttachType::TraceFentry, None).is_none());
    }

    #[test]
    fn trampoline_and_iter_helpers_follow_the_attach_type() {
        assert!(tracing_func_proto(F::GetFuncArg, Some(AttachType::TraceFentry)).is_some());
        assert!(tracing_func_proto(F::GetFuncArg, Some(AttachType::TraceRawTp)).is_none());
        assert!(tracing_func_proto(F::SeqWrite, Some(AttachType::TraceIter)).is_some());
        assert!(tracing_func_proto(F::SeqWrite, Some(AttachType::TraceFexit)).is_none());
        assert!(tracing_func_proto(F::GetAttachCookie, Some(AttachType::TraceRawTp)).is_some());
        assert!(tracing_func_proto(F::GetAttachCookie, Some(AttachType::TraceIter)).is_none());
        // the socket helpers' tracing variants take BTF sockets (a `struct sock` starts with
        // its `sock_common`)
        let get = tracing_func_proto(F::SkStorageGet, Some(AttachType::TraceIter)).unwrap();
        assert_eq!(get.args[1], Arg::BtfObj { name: "sock_common", null: true });
        assert_eq!(get.map_types, &[24]);
        let out = tracing_func_proto(F::SkbOutput, Some(AttachType::TraceRawTp)).unwrap();
        assert!(out.gpl_only && out.map_types == [4]);
        let task = tracing_func_proto(F::GetCurrentTaskBtf, Some(AttachType::TraceRawTp)).unwrap();
        assert_eq!(task.ret, Ret::BtfObj { name: "task_struct", flags: PTR_TRUSTED });
    }
}
