//! Context rules, helper sets and return ranges of the networking and cgroup types, one case
//! per rule (offsets from the uapi structs).

use super::{CtxAccess, CtxField};
use crate::domain::state::RegType;
use crate::protos::func_id::BpfFunc as F;
use crate::{LwtKind, ProgType};
use kbpf_isa::AttachType as A;

/// A program type with its expected attach type.
#[derive(Clone, Copy)]
struct Pt(ProgType, Option<A>);

impl From<ProgType> for Pt {
    fn from(t: ProgType) -> Pt {
        Pt(t, None)
    }
}

fn access(pt: impl Into<Pt>, off: i64, size: i64, write: bool) -> Option<CtxField> {
    let Pt(t, attach) = pt.into();
    t.ops_with(attach).ctx_access(CtxAccess { off, size, write, ldsx: false, attach })
}

fn has(pt: impl Into<Pt>, f: F) -> bool {
    let Pt(t, attach) = pt.into();
    t.ops_with(attach).func_proto(f).is_some()
}

fn range(pt: impl Into<Pt>) -> Option<(i64, i64)> {
    let Pt(t, attach) = pt.into();
    t.ops_with(attach).retval_range()
}

fn at(t: ProgType, a: A) -> Pt {
    Pt(t, Some(a))
}

const SCALAR: Option<CtxField> = Some(CtxField::Scalar);

#[test]
fn cgroup_skb_context_and_range() {
    let pt = Pt(ProgType::CgroupSkb, None);
    assert_eq!(access(pt, 76, 4, false), Some(CtxField::Pointer(RegType::Packet)));
    assert_eq!(access(pt, 80, 4, false), Some(CtxField::Pointer(RegType::PacketEnd)));
    assert_eq!(access(pt, 140, 4, false), None, "data_meta");
    assert_eq!(access(pt, 72, 4, false), None, "tc_classid");
    assert_eq!(access(pt, 8, 4, true), SCALAR, "mark");
    assert_eq!(access(pt, 44, 4, true), None, "tc_index is read-only");
    assert_eq!(access(pt, 152, 8, true), SCALAR, "tstamp");
    assert_eq!(range(pt), Some((0, 1)));
    assert_eq!(range(at(ProgType::CgroupSkb, A::CgroupInetEgress)), Some((0, 3)));
    assert!(has(pt, F::GetLocalStorage) && has(pt, F::SkFullsock) && has(pt, F::SkbLoadBytes));
    assert!(!has(pt, F::GetRetval), "no retval at ingress/egress");
    assert!(!has(pt, F::SkbStoreBytes));
}

#[test]
fn cgroup_sock_hooks() {
    let create = Pt(ProgType::CgroupSock, None);
    let post4 = at(ProgType::CgroupSock, A::CgroupInet4PostBind);
    assert_eq!(access(create, 16, 4, true), SCALAR, "mark at create");
    assert_eq!(access(post4, 16, 4, false), None, "mark only at create/release");
    assert_eq!(access(post4, 24, 4, false), SCALAR, "src_ip4 at post_bind4");
    assert_eq!(access(post4, 24, 4, true), None);
    assert_eq!(access(create, 24, 4, false), None);
    assert_eq!(access(create, 4, 4, false), SCALAR, "family");
    assert_eq!(access(create, 4, 4, true), None);
    assert!(has(create, F::GetRetval) && has(create, F::GetCurrentComm));
    assert!(!has(create, F::SkStorageDelete), "only the ctx get variant");
}

#[test]
fn sock_addr_family_fields_and_ranges() {
    let c4 = at(ProgType::CgroupSockAddr, A::CgroupInet4Connect);
    let c6 = at(ProgType::CgroupSockAddr, A::CgroupInet6Connect);
    assert_eq!(access(c4, 4, 4, true), SCALAR, "user_ip4");
    assert_eq!(access(c4, 4, 1, false), SCALAR, "narrow read");
    assert_eq!(access(c4, 4, 2, true), None, "narrow write");
    assert_eq!(access(c6, 4, 4, false), None);
    assert_eq!(access(c6, 8, 8, true), SCALAR, "wide user_ip6 store");
    assert_eq!(access(c6, 12, 8, false), None, "wide only at 8-byte alignment");
    assert_eq!(access(c4, 64, 8, false), Some(CtxField::Pointer(RegType::Sock)));
    assert_eq!(access(c4, 68, 4, false), None, "half of sk");
    assert_eq!(access(c4, 28, 4, true), None, "family is read-only");
    assert!(has(c4, F::Bind) && !has(at(ProgType::CgroupSockAddr, A::CgroupUdp4Sendmsg), F::Bind));
    let recv = at(ProgType::CgroupSockAddr, A::CgroupUdp4Recvmsg);
    assert_eq!(range(recv), Some((1, 1)));
    assert!(!has(recv, F::SetRetval));
    assert_eq!(range(at(ProgType::CgroupSockAddr, A::CgroupInet6Bind)), Some((0, 3)));
    assert!(!has(at(ProgType::CgroupSockAddr, A::CgroupUnixConnect), F::Setsockopt));
}

#[test]
fn sockopt_sysctl_device() {
    let get = at(ProgType::CgroupSockopt, A::CgroupGetsockopt);
    let set = at(ProgType::CgroupSockopt, A::CgroupSetsockopt);
    assert_eq!(access(get, 8, 8, false), Some(CtxField::Pointer(RegType::Packet)));
    assert_eq!(access(get, 16, 8, false), Some(CtxField::Pointer(RegType::PacketEnd)));
    assert_eq!(access(get, 36, 4, true), SCALAR, "retval at getsockopt");
    assert_eq!(access(set, 36, 4, true), None);
    assert_eq!(access(set, 24, 4, true), SCALAR, "level at setsockopt");
    assert_eq!(access(get, 24, 4, true), None);
    assert!(has(set, F::Setsockopt) && !has(get, F::Setsockopt));
    assert!(get.0.ops_with(get.1).helper_packet_access(false));
    let sysctl = ProgType::CgroupSysctl;
    assert_eq!(access(sysctl, 0, 4, true), None, "write is read-only");
    assert_eq!(access(sysctl, 4, 4, true), SCALAR, "file_pos");
    assert_eq!(access(sysctl, 4, 2, false), SCALAR);
    assert!(has(sysctl, F::SysctlGetName) && !has(sysctl, F::SkStorageGet));
    let dev = ProgType::CgroupDevice;
    assert_eq!(access(dev, 0, 2, false), SCALAR, "access_type narrow");
    assert_eq!(access(dev, 4, 2, false), None, "major is 4 bytes");
    assert_eq!(access(dev, 8, 4, true), None);
}

#[test]
fn sock_ops_context() {
    let pt = ProgType::SockOps;
    assert_eq!(access(pt, 4, 4, true), SCALAR, "reply");
    assert_eq!(access(pt, 8, 4, true), None);
    assert_eq!(access(pt, 168, 8, false), SCALAR, "bytes_received");
    assert_eq!(access(pt, 168, 4, false), None);
    assert_eq!(access(pt, 184, 8, false), Some(CtxField::PointerOrNull(RegType::Sock)));
    assert_eq!(access(pt, 188, 4, false), None, "half of sk");
    assert_eq!(access(pt, 220, 4, false), None, "half of skb_hwtstamp");
    assert_eq!(access(pt, 192, 8, false), Some(CtxField::Pointer(RegType::Packet)));
    assert_eq!(access(pt, 212, 1, false), SCALAR, "skb_tcp_flags narrow");
    assert!(has(pt, F::SockOpsCbFlagsSet) && has(pt, F::SockMapUpdate) && !has(pt, F::GetRetval));
    assert!(!pt.ops().helper_packet_access(true));
    assert!(pt.ops().may_update_sockmap(true) && !pt.ops().may_update_sockmap(false));
}

#[test]
fn sk_types_context() {
    assert_eq!(access(ProgType::SkSkb, 8, 4, false), None, "mark hidden from sk_skb");
    assert_eq!(access(ProgType::SkSkb, 76, 4, false), Some(CtxField::Pointer(RegType::Packet)));
    assert!(ProgType::SkSkb.ops().may_write_packet());
    assert!(has(ProgType::SkSkb, F::SkRedirectMap) && !has(ProgType::SkSkb, F::MsgRedirectMap));
    let msg = ProgType::SkMsg;
    assert_eq!(access(msg, 0, 8, false), Some(CtxField::Pointer(RegType::Packet)));
    assert_eq!(access(msg, 68, 4, false), SCALAR, "size");
    assert_eq!(access(msg, 16, 2, false), None);
    assert!(has(msg, F::MsgPushData) && !has(msg, F::SkRedirectMap));
    let lookup = ProgType::SkLookup;
    assert_eq!(access(lookup, 0, 8, false), Some(CtxField::PointerOrNull(RegType::Sock)));
    assert_eq!(access(lookup, 36, 4, false), SCALAR, "remote_port as u32");
    assert_eq!(access(lookup, 38, 2, false), SCALAR, "padding after remote_port");
    assert_eq!(range(lookup), Some((0, 1)));
    assert!(has(lookup, F::SkAssign));
    let reuse = ProgType::SkReuseport;
    assert_eq!(access(reuse, 48, 8, false), Some(CtxField::PointerOrNull(RegType::SockCommon)));
    assert_eq!(access(reuse, 20, 1, false), None, "eth_protocol narrower than 2");
    assert_eq!(access(reuse, 20, 2, false), SCALAR);
    assert!(has(reuse, F::SkSelectReuseport));
}

#[test]
fn flow_dissector_and_lwt() {
    let fd = ProgType::FlowDissector;
    assert_eq!(access(fd, 144, 8, false), Some(CtxField::Pointer(RegType::FlowKeys)));
    assert_eq!(access(fd, 0, 4, false), None, "len hidden");
    assert!(has(fd, F::SkbLoadBytes) && !has(fd, F::SkbLoadBytesRelative));
    let xmit = ProgType::Lwt(LwtKind::Xmit);
    let out = ProgType::Lwt(LwtKind::Out);
    assert!(xmit.ops().may_write_packet() && !out.ops().may_write_packet());
    assert!(has(xmit, F::LwtPushEncap) && !has(out, F::LwtPushEncap));
    // CONFIG_IPV6_SEG6_BPF is off in the reference kernel
    assert!(!has(ProgType::Lwt(LwtKind::Seg6local), F::LwtSeg6Action));
    assert_eq!(access(out, 88, 4, false), None, "family");
    assert_eq!(access(out, 8, 4, true), SCALAR, "mark");
}

#[test]
fn load_attach_checks() {
    use super::LoadAttach;
    let check = |t: ProgType, attach: Option<A>| {
        t.ops_with(attach).check_attach(LoadAttach { expected_attach_type: attach, attach_btf_id: 0 }).is_ok()
    };
    assert!(!check(ProgType::CgroupSockAddr, None), "sock_addr needs its hook");
    assert!(check(ProgType::CgroupSockAddr, Some(A::CgroupInet4Connect)));
    assert!(!check(ProgType::CgroupSockAddr, Some(A::CgroupInetEgress)));
    assert!(check(ProgType::CgroupSock, None), "fixed up to sock_create");
    assert!(!check(ProgType::CgroupSock, Some(A::CgroupInet4Bind)));
    assert!(check(ProgType::CgroupSkb, None) && check(ProgType::CgroupSkb, Some(A::CgroupInetEgress)));
    assert!(
        !check(ProgType::CgroupSockopt, None) && check(ProgType::CgroupSockopt, Some(A::CgroupSetsockopt))
    );
    assert!(check(ProgType::SkReuseport, None), "kernel-checked: no attach check");
    assert!(check(ProgType::SkLookup, Some(A::SkLookup)) && !check(ProgType::SkLookup, None));
    assert!(check(ProgType::SockOps, None), "the default case takes anything");
}
