use super::*;
use crate::{ProgType, VerifyOptions, verify};
use kbpf_isa::asm::assemble_program;

fn xlated(src: &str, pt: ProgType, target: CtxTarget) -> Result<Xlated, FixupError> {
    let p = assemble_program(src).expect("assembles");
    let opts = VerifyOptions { prog_type: pt, privileged: true, ..Default::default() };
    let out = verify(&p.to_slots(), &opts);
    assert!(out.accepted, "{:?}", out.error);
    xlate(&out.witness.expect("witness"), target, &KernelLayout::default())
}

fn text(x: &Xlated) -> Vec<String> {
    x.insns
        .iter()
        .map(|i| kbpf_isa::disasm::format_insn(&i.insn, 0, kbpf_isa::disasm::Syntax::Kernel))
        .collect()
}

#[test]
fn xdp_packet_pointers_are_xdp_buff_fields() {
    let src = "r2 = *(u32 *)(r1 +0)\nr3 = *(u32 *)(r1 +4)\nr0 = 2\nexit\n";
    let x = xlated(src, ProgType::Xdp, CtxTarget::Kernel).unwrap();
    assert_eq!(text(&x)[..2], ["r2 = *(u64 *)(r1 +0)", "r3 = *(u64 *)(r1 +8)"]);
    let k = xlated(src, ProgType::Xdp, CtxTarget::Kbpf).unwrap();
    assert_eq!(text(&k)[..2], ["r2 = *(u64 *)(r1 +24)", "r3 = *(u64 *)(r1 +32)"]);
}

#[test]
fn rx_queue_index_goes_through_rxq_and_later_jumps_move() {
    let src = "r2 = *(u32 *)(r1 +16)\nr0 = 2\nif r2 == 0 goto +1\nr0 = 1\nexit\n";
    let x = xlated(src, ProgType::Xdp, CtxTarget::Kernel).unwrap();
    assert_eq!(text(&x)[..2], ["r2 = *(u64 *)(r1 +32)", "r2 = *(u32 *)(r2 +8)"]);
    assert_eq!(x.insns[1].origin, None);
    assert_eq!(x.insns[2].origin, Some(1));
    assert_eq!(x.insns.len(), 6);
}

#[test]
fn sk_buff_layout_is_an_unsupported_error() {
    let src = "r2 = *(u32 *)(r1 +0)\nr0 = 0\nexit\n";
    let e = xlated(src, ProgType::SchedCls, CtxTarget::Kernel).unwrap_err();
    assert!(matches!(e, FixupError::Unsupported { pc: 0, .. }), "{e}");
    assert!(e.to_string().contains("cannot translate"), "{e}");
}

#[test]
fn division_by_a_register_is_guarded() {
    let src = "r0 = 7\nr1 = 0\nr0 /= r1\nw0 %= w1\nexit\n";
    let x = xlated(src, ProgType::SocketFilter, CtxTarget::Kernel).unwrap();
    let t = text(&x);
    assert_eq!(
        t[2..],
        [
            "if r1 != 0x0 goto pc+2",
            "w0 ^= w0",
            "goto pc+1",
            "r0 /= r1",
            "if w1 == 0x0 goto pc+2",
            "w0 %= w1",
            "goto pc+1",
            "w0 = w0",
            "exit"
        ]
    );
}

#[test]
fn signed_division_by_minus_one_is_negation_and_modulo_zero() {
    let src = "r0 = 7\nr0 s/= -1\nr0 s%= -1\nexit\n";
    let x = xlated(src, ProgType::SocketFilter, CtxTarget::Kernel).unwrap();
    assert_eq!(text(&x)[1..3], ["r0 = -r0", "w0 = 0"]);
}

#[test]
fn local_calls_carry_offset_and_subprogram_index() {
    let src = "call f\nexit\nf:\nr0 = 1\nexit\n";
    let x = xlated(src, ProgType::SocketFilter, CtxTarget::Kernel).unwrap();
    let slots = x.kernel_slots();
    assert_eq!((slots[0].off, slots[0].imm), (1, 1));
}
