//! struct_ops on a small hand-made target BTF: the attach checks, the context (a `sock`
//! argument promoted to `tcp_sock`, a `__nullable` dummy argument), the stores a congestion
//! control may make, its helpers, and void members whose `r0` is not looked at.

use super::KernelBtf;
use super::attach::AttachError;
use crate::{ProgType, VerifyOptions, verify};
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Member};
use kbpf_isa::RawInsn;
use kbpf_passes::Errno;
use std::sync::Arc;

const INT: u32 = 1;
const SOCK: u32 = 2;
const ACK: u32 = 3;
const ICSK: u32 = 4;
const TCP_SOCK: u32 = 5;
const SOCK_PTR: u32 = 6;
const SSTHRESH: u32 = 7;
const SSTHRESH_PTR: u32 = 8;
const RELEASE: u32 = 9;
const RELEASE_PTR: u32 = 10;
const OPS: u32 = 11;
const OPS_WRAPPER: u32 = 12;
const STATE: u32 = 13;
const STATE_PTR: u32 = 14;
const TEST: u32 = 15;
const TEST_PTR: u32 = 16;
const DUMMY: u32 = 17;
const DUMMY_WRAPPER: u32 = 18;
const LONELY: u32 = 19;
const OTHER: u32 = 20;

fn m(name: &str, type_id: u32, bit_off: u32) -> Member {
    Member { name: name.into(), type_id, offset: bit_off, bitfield_size: 0 }
}

fn st(name: &str, size: u32, members: Vec<Member>) -> BtfType {
    BtfType::Struct { name: name.into(), size, members, kind_flag: false }
}

/// `sock { sk_pacing_rate@0, sk_pacing_status@4 }`, `inet_connection_sock { sock@0,
/// icsk_ack { pending@0 }@8, icsk_ca_priv[16]@16 }`, `tcp_sock { inet_conn@0, snd_cwnd@32,
/// snd_ssthresh@36 }`, `tcp_congestion_ops { ssthresh, release, get_info, flags }` and
/// `bpf_dummy_ops { test_1, test_2 }`, both registered, and an unregistered `lonely_ops`.
fn target() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int =
        BtfType::Int { name: "int".into(), size: 4, encoding: IntEncoding::Signed, offset: 0, bits: 32 };
    assert_eq!(b.add(int), INT);
    assert_eq!(b.add(st("sock", 8, vec![m("sk_pacing_rate", INT, 0), m("sk_pacing_status", INT, 32)])), SOCK);
    assert_eq!(b.add(st("", 4, vec![m("pending", INT, 0)])), ACK);
    let icsk = vec![m("icsk_inet", SOCK, 0), m("icsk_ack", ACK, 64), m("icsk_ca_priv", INT, 128)];
    assert_eq!(b.add(st("inet_connection_sock", 32, icsk)), ICSK);
    let tcp = vec![m("inet_conn", ICSK, 0), m("snd_cwnd", INT, 256), m("snd_ssthresh", INT, 288)];
    assert_eq!(b.add(st("tcp_sock", 40, tcp)), TCP_SOCK);
    assert_eq!(b.add(BtfType::Ptr { type_id: SOCK }), SOCK_PTR);
    let one_sock = vec![m("sk", SOCK_PTR, 0)];
    assert_eq!(b.add(BtfType::FuncProto { ret: INT, params: one_sock.clone(), variadic: false }), SSTHRESH);
    assert_eq!(b.add(BtfType::Ptr { type_id: SSTHRESH }), SSTHRESH_PTR);
    assert_eq!(b.add(BtfType::FuncProto { ret: 0, params: one_sock, variadic: false }), RELEASE);
    assert_eq!(b.add(BtfType::Ptr { type_id: RELEASE }), RELEASE_PTR);
    let ops = vec![
        m("ssthresh", SSTHRESH_PTR, 0),
        m("release", RELEASE_PTR, 64),
        m("get_info", SSTHRESH_PTR, 128),
        m("flags", INT, 192),
    ];
    assert_eq!(b.add(st("tcp_congestion_ops", 32, ops)), OPS);
    assert_eq!(b.add(st("bpf_struct_ops_tcp_congestion_ops", 0, vec![])), OPS_WRAPPER);
    assert_eq!(b.add(st("bpf_dummy_ops_state", 4, vec![m("val", INT, 0)])), STATE);
    assert_eq!(b.add(BtfType::Ptr { type_id: STATE }), STATE_PTR);
    let state = vec![m("cb", STATE_PTR, 0)];
    assert_eq!(b.add(BtfType::FuncProto { ret: INT, params: state, variadic: false }), TEST);
    assert_eq!(b.add(BtfType::Ptr { type_id: TEST }), TEST_PTR);
    assert_eq!(
        b.add(st("bpf_dummy_ops", 16, vec![m("test_1", TEST_PTR, 0), m("test_2", TEST_PTR, 64)])),
        DUMMY
    );
    assert_eq!(b.add(st("bpf_struct_ops_bpf_dummy_ops", 0, vec![])), DUMMY_WRAPPER);
    assert_eq!(b.add(st("lonely_ops", 8, vec![m("f", TEST_PTR, 0)])), LONELY);
    assert_eq!(b.add(st("other_ops", 8, vec![m("f", TEST_PTR, 0)])), OTHER);
    b.add(st("bpf_struct_ops_other_ops", 0, vec![]));
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(code, dst, src, off, imm)
}

fn opts(btf_id: u32, member: u32) -> VerifyOptions {
    VerifyOptions {
        prog_type: ProgType::StructOps,
        attach_btf_id: btf_id,
        struct_ops_member: member,
        btf: Some(target()),
        log_level: 2,
        ..Default::default()
    }
}

fn exit0() -> [RawInsn; 2] {
    [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]
}

fn attach_error(o: &VerifyOptions) -> AttachError {
    super::struct_ops::check_struct_ops_btf_id(o).unwrap_err()
}

#[test]
fn the_attach_target_is_a_registered_struct_and_a_supported_member() {
    let ok = super::struct_ops::check_struct_ops_btf_id(&opts(OPS, 0)).expect("ssthresh");
    assert_eq!(ok.func_name, "ssthresh");
    assert!(ok.args_trusted && !ok.ret_void);
    assert!(super::struct_ops::check_struct_ops_btf_id(&opts(OPS, 1)).unwrap().ret_void);
    let e = attach_error(&VerifyOptions { gpl: false, ..opts(OPS, 0) });
    assert_eq!(e.to_string(), "struct ops programs must have a GPL compatible license");
    assert_eq!(attach_error(&opts(0, 0)).errno(), Errno::ENOTSUPP);
    let e = attach_error(&opts(LONELY, 0));
    assert_eq!(e.to_string(), format!("attach_btf_id {LONELY} is not a supported struct"));
    assert_eq!(e.errno(), Errno::ENOTSUPP);
    assert_eq!(
        attach_error(&opts(OPS, 4)).to_string(),
        "attach to invalid member idx 4 of struct tcp_congestion_ops"
    );
    assert_eq!(
        attach_error(&opts(OPS, 3)).to_string(),
        "attach to invalid member flags(@idx 3) of struct tcp_congestion_ops"
    );
    // no stub for get_info: ENOTSUPP
    let e = attach_error(&opts(OPS, 2));
    assert_eq!(e.to_string(), "attach to unsupported member get_info of struct tcp_congestion_ops");
    assert_eq!(e.errno(), Errno::ENOTSUPP);
    // the dummy's check_member: only test_sleepable may sleep
    let e = attach_error(&VerifyOptions { sleepable: true, ..opts(DUMMY, 1) });
    assert_eq!(e.to_string(), "attach to unsupported member test_2 of struct bpf_dummy_ops");
    assert_eq!(e.errno(), Errno::EINVAL);
    // a registered struct whose rules kbpf does not know: no verdict
    let out = verify(&exit0(), &opts(OTHER, 0));
    let e = out.error.unwrap();
    assert_eq!(e.kind(), crate::RejectKind::Unsupported);
    assert_eq!(e.message(), "kbpf: the struct_ops rules of struct other_ops are not modelled");
    // the whole load says so, with the line in the log
    let out = verify(&exit0(), &opts(OPS, 2));
    assert!(out.log.contains("attach to unsupported member get_info"), "{}", out.log);
    assert_eq!(out.error.unwrap().errno(), Errno::ENOTSUPP);
}

#[test]
fn congestion_controls_write_their_own_fields_only() {
    // r1 = ctx[0] (the sock, promoted to tcp_sock); *(u32 *)(r1 + off) = 1; r0 = 0; exit
    let store = |off: i16, size_op: u8| {
        [insn(0x79, 1, 1, 0, 0), insn(size_op, 1, 0, off, 1), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]
    };
    let out = verify(&store(32, 0x62), &opts(OPS, 0));
    assert!(out.accepted, "{:?}\n{}", out.error, out.log);
    assert!(out.log.contains("1: R1=trusted_ptr_tcp_sock()"), "{}", out.log);
    assert!(verify(&store(16, 0x62), &opts(OPS, 0)).accepted, "icsk_ca_priv");
    assert!(verify(&store(8, 0x72), &opts(OPS, 0)).accepted, "icsk_ack.pending");
    let out = verify(&store(12, 0x62), &opts(OPS, 0));
    assert_eq!(out.error.unwrap().message(), "no write support to tcp_sock at off 12");
    let out = verify(&store(36, 0x7a), &opts(OPS, 0));
    assert_eq!(
        out.error.unwrap().message(),
        "write access at off 36 with size 8 beyond the member of tcp_sock ended at 40"
    );
    // reads walk as usual
    let read = [insn(0x79, 1, 1, 0, 0), insn(0x61, 0, 1, 32, 0), insn(0x95, 0, 0, 0, 0)];
    assert!(verify(&read, &opts(OPS, 0)).accepted);
}

#[test]
fn helpers_and_return_values_follow_the_member() {
    // ktime_get_coarse_ns from the tcp_ca set; setsockopt is not for release
    let call = |id: i32| [insn(0x85, 0, 0, 0, id), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
    assert!(verify(&call(160), &opts(OPS, 0)).accepted);
    let out = verify(&call(49), &opts(OPS, 1));
    assert_eq!(out.error.unwrap().message(), "program of this type cannot use helper bpf_setsockopt#49");
    // the dummy struct has no helpers at all
    let out = verify(&call(160), &opts(DUMMY, 0));
    assert_eq!(
        out.error.unwrap().message(),
        "program of this type cannot use helper bpf_ktime_get_coarse_ns#160"
    );
    // release returns void: r0 need not be set; ssthresh must set it
    let bare_exit = [insn(0x95, 0, 0, 0, 0)];
    assert!(verify(&bare_exit, &opts(OPS, 1)).accepted);
    assert_eq!(verify(&bare_exit, &opts(OPS, 0)).error.unwrap().message(), "R0 !read_ok");
}

#[test]
fn a_nullable_dummy_argument_must_be_checked() {
    // r1 = ctx[0]; r0 = *(u32 *)(r1 + 0); exit
    let unchecked = [insn(0x79, 1, 1, 0, 0), insn(0x61, 0, 1, 0, 0), insn(0x95, 0, 0, 0, 0)];
    let out = verify(&unchecked, &opts(DUMMY, 0));
    assert_eq!(out.error.unwrap().message(), "R1 invalid mem access 'trusted_ptr_or_null_'");
    // test_2's state is not nullable, and a store into the state is the dummy's one allowed
    let store =
        [insn(0x79, 1, 1, 0, 0), insn(0x62, 1, 0, 0, 7), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
    assert!(verify(&store, &opts(DUMMY, 1)).accepted);
    let beyond =
        [insn(0x79, 1, 1, 0, 0), insn(0x7a, 1, 0, 0, 7), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
    assert_eq!(
        verify(&beyond, &opts(DUMMY, 1)).error.unwrap().message(),
        "write access at off 0 with size 8"
    );
}
