//! The networking and cgroup program types against the running kernel: the load's attach
//! check, context fields that depend on the attach type, return ranges and helper sets. For
//! each case kbpf's verdict, errno and (normalised) log are the kernel's.
//! Needs `bpf()`: `#[ignore]`d, run by `cargo xtask test` with `--ignored` where the oracle works.

use kbpf::isa::{AttachType as A, RawInsn};
use kbpf::verifier::{LwtKind, ProgType, VerifyOptions};
use kbpf_oracle::compare::normalize_log;
use kbpf_oracle::{LoadRequest, LogLevel, load, skip_reason};

const ORACLE: &str =
    "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)";

fn oracle_type(pt: ProgType) -> kbpf_oracle::ProgType {
    use kbpf_oracle::ProgType as O;
    match pt {
        ProgType::CgroupSkb => O::CgroupSkb,
        ProgType::CgroupSock => O::CgroupSock,
        ProgType::CgroupSockAddr => O::CgroupSockAddr,
        ProgType::CgroupSockopt => O::CgroupSockopt,
        ProgType::CgroupSysctl => O::CgroupSysctl,
        ProgType::CgroupDevice => O::CgroupDevice,
        ProgType::SockOps => O::SockOps,
        ProgType::SkSkb => O::SkSkb,
        ProgType::SkMsg => O::SkMsg,
        ProgType::SkLookup => O::SkLookup,
        ProgType::SkReuseport => O::SkReuseport,
        ProgType::FlowDissector => O::FlowDissector,
        ProgType::Lwt(LwtKind::In) => O::LwtIn,
        ProgType::Lwt(LwtKind::Out) => O::LwtOut,
        ProgType::Lwt(LwtKind::Xmit) => O::LwtXmit,
        other => unreachable!("{other:?}: not a type these cases load"),
    }
}

fn mov(dst: u8, imm: i32) -> RawInsn {
    RawInsn::new(0xb7, dst, 0, 0, imm)
}
fn exit() -> RawInsn {
    RawInsn::new(0x95, 0, 0, 0, 0)
}
/// `dst = *(size *)(src + off)`, size code 0x61 (u32) / 0x79 (u64).
fn ldx(code: u8, dst: u8, src: u8, off: i16) -> RawInsn {
    RawInsn::new(code, dst, src, off, 0)
}
/// `*(u32 *)(r1 + off) = r2`.
fn stx_ctx(off: i16) -> RawInsn {
    RawInsn::new(0x63, 1, 2, off, 0)
}
fn call(id: i32) -> RawInsn {
    RawInsn::new(0x85, 0, 0, 0, id)
}

/// Loads `slots` into the kernel and into kbpf; returns whether the kernel accepted, after
/// checking that kbpf agrees on verdict, errno and log.
fn same_verdict(pt: ProgType, attach: Option<A>, slots: &[RawInsn]) -> bool {
    let mut req = LoadRequest::new(oracle_type(pt));
    req.log_level = LogLevel::LEVEL1;
    req.expected_attach_type = attach.map_or(0, A::number);
    let k = load(slots, &req);
    let opts = VerifyOptions {
        prog_type: pt,
        log_level: 1,
        expected_attach_type: attach,
        gpl: true,
        ..Default::default()
    };
    let ours = kbpf::verifier::verify(slots, &opts);
    let case = format!("{pt:?} {attach:?} {slots:?}");
    assert_eq!(ours.accepted, k.accepted, "{case}: kbpf {:?}, kernel log {}", ours.error, k.log);
    assert_eq!(
        ours.error.as_ref().map(|e| format!("{:?}", e.errno())),
        k.errno.map(|e| format!("{e:?}")),
        "{case}"
    );
    assert_eq!(normalize_log(&ours.log), normalize_log(&k.log), "{case}");
    k.accepted
}

macro_rules! oracle {
    () => {
        if let Some(why) = skip_reason() {
            panic!("{why}: {ORACLE}");
        }
    };
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn attach_checks_and_return_ranges() {
    oracle!();
    let ret = |v| vec![mov(0, v), exit()];
    // cgroup_skb: 0..1 at ingress, 0..3 at egress
    assert!(!same_verdict(ProgType::CgroupSkb, None, &ret(3)));
    assert!(same_verdict(ProgType::CgroupSkb, Some(A::CgroupInetEgress), &ret(3)));
    assert!(!same_verdict(ProgType::CgroupSkb, Some(A::CgroupInetEgress), &ret(4)));
    assert!(!same_verdict(ProgType::CgroupSkb, Some(A::CgroupInetSockCreate), &ret(1)));
    // sock_addr: a hook is required; recvmsg must return 1, bind may return 0..3
    assert!(!same_verdict(ProgType::CgroupSockAddr, None, &ret(1)));
    assert!(same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet4Connect), &ret(1)));
    assert!(!same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupUdp4Recvmsg), &ret(0)));
    assert!(same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet6Bind), &ret(3)));
    assert!(!same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet4Connect), &ret(2)));
    // cgroup_sock: unset is sock_create; sockopt, sk_lookup, sk_reuseport need theirs
    assert!(same_verdict(ProgType::CgroupSock, None, &ret(1)));
    assert!(!same_verdict(ProgType::CgroupSock, Some(A::CgroupInet4Bind), &ret(1)));
    assert!(!same_verdict(ProgType::CgroupSockopt, None, &ret(1)));
    assert!(same_verdict(ProgType::CgroupSockopt, Some(A::CgroupSetsockopt), &ret(1)));
    assert!(!same_verdict(ProgType::SkLookup, None, &ret(1)));
    assert!(!same_verdict(ProgType::SkLookup, Some(A::SkLookup), &ret(2)));
    assert!(same_verdict(ProgType::SkReuseport, None, &ret(1)));
    assert!(same_verdict(ProgType::SkReuseport, Some(A::SkReuseportSelect), &ret(7)));
    // the types without a return check
    for pt in [ProgType::SkSkb, ProgType::SkMsg, ProgType::FlowDissector, ProgType::Lwt(LwtKind::Xmit)] {
        assert!(same_verdict(pt, None, &ret(9)), "{pt:?}");
    }
    for pt in [ProgType::SockOps, ProgType::CgroupSysctl, ProgType::CgroupDevice] {
        assert!(!same_verdict(pt, None, &ret(2)), "{pt:?}");
    }
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn context_fields() {
    oracle!();
    let load = |code, off| vec![ldx(code, 2, 1, off), mov(0, 1), exit()];
    let store = |off| vec![mov(2, 0), stx_ctx(off), mov(0, 1), exit()];
    // user_ip4 exists for inet4 hooks only
    assert!(same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet4Connect), &load(0x61, 4)));
    assert!(!same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet6Connect), &load(0x61, 4)));
    assert!(same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet4Connect), &store(4)));
    // half of a pointer field
    assert!(!same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet4Connect), &load(0x61, 68)));
    assert!(!same_verdict(ProgType::SockOps, None, &load(0x61, 188)));
    assert!(same_verdict(ProgType::SockOps, None, &store(4)), "reply");
    assert!(!same_verdict(ProgType::SockOps, None, &store(8)));
    // sockopt: retval at getsockopt, level at setsockopt
    assert!(same_verdict(ProgType::CgroupSockopt, Some(A::CgroupGetsockopt), &store(36)));
    assert!(!same_verdict(ProgType::CgroupSockopt, Some(A::CgroupSetsockopt), &store(36)));
    assert!(same_verdict(ProgType::CgroupSockopt, Some(A::CgroupSetsockopt), &store(24)));
    // cgroup_sock: mark is writable at sock_create, src_ip4 readable at post_bind4 only
    assert!(same_verdict(ProgType::CgroupSock, None, &store(16)));
    assert!(!same_verdict(ProgType::CgroupSock, None, &load(0x61, 24)));
    assert!(same_verdict(ProgType::CgroupSock, Some(A::CgroupInet4PostBind), &load(0x61, 24)));
    // sysctl: write is read-only, file_pos writable
    assert!(!same_verdict(ProgType::CgroupSysctl, None, &store(0)));
    assert!(same_verdict(ProgType::CgroupSysctl, None, &store(4)));
    // flow keys: readable through the pointer, 56 bytes
    let keys = |off| vec![ldx(0x79, 2, 1, 144), ldx(0x61, 0, 2, off), mov(0, 0), exit()];
    assert!(same_verdict(ProgType::FlowDissector, None, &keys(52)));
    assert!(!same_verdict(ProgType::FlowDissector, None, &keys(56)));
    // sk_skb may not see mark; lwt may not see family
    assert!(!same_verdict(ProgType::SkSkb, None, &load(0x61, 8)));
    assert!(!same_verdict(ProgType::Lwt(LwtKind::Out), None, &load(0x61, 88)));
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn helper_sets() {
    oracle!();
    // bpf_sock_ops_cb_flags_set(ctx, 0): sock_ops only
    let cb_flags = vec![mov(2, 0), call(59), mov(0, 1), exit()];
    assert!(same_verdict(ProgType::SockOps, None, &cb_flags));
    assert!(!same_verdict(ProgType::CgroupSkb, None, &cb_flags));
    // bpf_get_retval: not at cgroup_skb hooks or recvmsg; yes at connect and sysctl
    let retval = vec![call(186), mov(0, 1), exit()];
    assert!(!same_verdict(ProgType::CgroupSkb, None, &retval));
    assert!(!same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupUdp4Recvmsg), &retval));
    assert!(same_verdict(ProgType::CgroupSockAddr, Some(A::CgroupInet4Connect), &retval));
    // an unset attach type is 0, BPF_CGROUP_INET_INGRESS: no retval there
    assert!(!same_verdict(ProgType::CgroupSysctl, None, &retval));
    assert!(same_verdict(ProgType::CgroupSysctl, Some(A::CgroupSysctl), &retval));
    // bpf_get_current_uid_gid: the cgroup "current" set, not sk_skb
    let uid = vec![call(15), mov(0, 1), exit()];
    assert!(same_verdict(ProgType::CgroupDevice, None, &uid));
    // bpf_msg_apply_bytes(ctx, 1): sk_msg only
    let apply = vec![mov(2, 1), call(61), mov(0, 1), exit()];
    assert!(same_verdict(ProgType::SkMsg, None, &apply));
    assert!(!same_verdict(ProgType::SkSkb, None, &apply));
}
