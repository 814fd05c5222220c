use super::*;
use crate::{ProgType, VerifyOptions, verify};
use kbpf_isa::Size;
use kbpf_isa::asm::assemble_program;

fn xlated(src: &str, pt: ProgType, target: CtxTarget) -> Result<Xlated, FixupError> {
    xlated_with(src, pt, target, &KernelLayout::default())
}

fn xlated_with(src: &str, pt: ProgType, target: CtxTarget, l: &KernelLayout) -> Result<Xlated, FixupError> {
    let p = assemble_program(src).expect("assembles");
    let opts = VerifyOptions { prog_type: pt, privileged: true, ..Default::default() };
    let out = verify(&p.to_slots(), &opts);
    assert!(out.accepted, "{:?}", out.error);
    xlate(&out.witness.expect("witness"), target, l)
}

/// Made-up kernel structures (`sk_buff`'s offsets unlike any kernel's, so a test cannot pass by a
/// hard-coded constant).
fn test_layout() -> KernelLayout {
    use KernelField::*;
    let mut l = KernelLayout::default();
    let plain = |off, size| FieldLoc { off, size, bits: None };
    for (f, loc) in [
        (SkbLen, plain(200, 4)),
        (SkbProtocol, plain(300, 2)),
        (SkbMark, plain(204, 4)),
        (SkbData, plain(400, 8)),
        (SkbCb, plain(40, 48)),
        (QdiscCbData, plain(24, 20)),
        (DataEndDataEnd, plain(16, 8)),
        (SkbDev, plain(16, 8)),
        (NetDeviceIfindex, plain(224, 4)),
        (SkbPktTypeOffset, plain(128, 0)),
        (SkbPktType, FieldLoc { off: 128, size: 1, bits: Some((0, 3)) }),
        (SkbQueueMapping, plain(140, 2)),
        (XdpBuffData, plain(0, 8)),
        (XdpBuffDataEnd, plain(8, 8)),
        (XdpBuffRxq, plain(32, 8)),
        (XdpRxqQueueIndex, plain(8, 4)),
    ] {
        l.set(f, loc);
    }
    l
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
    let x = xlated_with(src, ProgType::Xdp, CtxTarget::Kernel, &test_layout()).unwrap();
    assert_eq!(text(&x)[..2], ["r2 = *(u64 *)(r1 +0)", "r3 = *(u64 *)(r1 +8)"]);
    let k = xlated(src, ProgType::Xdp, CtxTarget::Kbpf).unwrap();
    assert_eq!(text(&k)[..2], ["r2 = *(u64 *)(r1 +24)", "r3 = *(u64 *)(r1 +32)"]);
}

#[test]
fn rx_queue_index_goes_through_rxq_and_later_jumps_move() {
    let src = "r2 = *(u32 *)(r1 +16)\nr0 = 2\nif r2 == 0 goto +1\nr0 = 1\nexit\n";
    let x = xlated_with(src, ProgType::Xdp, CtxTarget::Kernel, &test_layout()).unwrap();
    assert_eq!(text(&x)[..2], ["r2 = *(u64 *)(r1 +32)", "r2 = *(u32 *)(r2 +8)"]);
    assert_eq!(x.insns[1].origin, None);
    assert_eq!(x.insns[2].origin, Some(1));
    assert_eq!(x.insns.len(), 6);
}

#[test]
fn sk_buff_without_target_btf_is_a_typed_error() {
    let src = "r2 = *(u32 *)(r1 +0)\nr0 = 0\nexit\n";
    let e = xlated(src, ProgType::SchedCls, CtxTarget::Kernel).unwrap_err();
    assert_eq!(e, FixupError::NoLayout { pc: 0, field: KernelField::SkbLen });
    assert!(e.to_string().contains("struct sk_buff.len"), "{e}");
}

#[test]
fn sk_buff_fields_come_from_the_layout() {
    let src = "r2 = *(u32 *)(r1 +0)\nr3 = *(u32 *)(r1 +16)\nr4 = *(u32 *)(r1 +76)\n\
               r5 = *(u32 *)(r1 +80)\nr6 = *(u32 *)(r1 +52)\n*(u32 *)(r1 +8) = r2\nr0 = 0\nexit\n";
    let x = xlated_with(src, ProgType::SchedCls, CtxTarget::Kernel, &test_layout()).unwrap();
    assert_eq!(
        text(&x)[..6],
        [
            "r2 = *(u32 *)(r1 +200)",
            "r3 = *(u16 *)(r1 +300)",
            "r4 = *(u64 *)(r1 +400)",
            "r5 = *(u64 *)(r1 +56)",
            "r6 = *(u32 *)(r1 +68)",
            "*(u32 *)(r1 +204) = r2",
        ]
    );
}

#[test]
fn narrow_sk_buff_loads_shift_and_mask() {
    // the second byte of `len`, the low half of `protocol` (which is 2 bytes: no mask)
    let src = "r2 = *(u8 *)(r1 +1)\nr3 = *(u16 *)(r1 +16)\nr0 = 0\nexit\n";
    let x = xlated_with(src, ProgType::SchedCls, CtxTarget::Kernel, &test_layout()).unwrap();
    assert_eq!(text(&x)[..4], ["r2 = *(u32 *)(r1 +200)", "w2 >>= 8", "w2 &= 255", "r3 = *(u16 *)(r1 +300)"]);
}

#[test]
fn ifindex_checks_the_device_except_in_tc() {
    let src = "r2 = *(u32 *)(r1 +40)\nr0 = 0\nexit\n";
    let sf = xlated_with(src, ProgType::SocketFilter, CtxTarget::Kernel, &test_layout()).unwrap();
    assert_eq!(text(&sf)[..3], ["r2 = *(u64 *)(r1 +16)", "if r2 == 0x0 goto pc+1", "r2 = *(u32 *)(r2 +224)"]);
    let tc = xlated_with(src, ProgType::SchedCls, CtxTarget::Kernel, &test_layout()).unwrap();
    assert_eq!(text(&tc)[..2], ["r2 = *(u64 *)(r1 +16)", "r2 = *(u32 *)(r2 +224)"]);
}

#[test]
fn pkt_type_masks_its_bitfield_and_queue_mapping_writes_are_bounded() {
    let src = "r2 = *(u32 *)(r1 +4)\n*(u32 *)(r1 +12) = r2\nr0 = 0\nexit\n";
    let x = xlated_with(src, ProgType::SchedCls, CtxTarget::Kernel, &test_layout()).unwrap();
    assert_eq!(
        text(&x)[..4],
        ["r2 = *(u8 *)(r1 +128)", "w2 &= 7", "if r2 >= 0xffff goto pc+1", "*(u16 *)(r1 +140) = r2"]
    );
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
fn signed_division_by_a_register_is_guarded_through_ax() {
    let src = "r0 = 7\nr1 = 0\nr0 s/= r1\nw0 s%= w1\nexit\n";
    let x = xlated(src, ProgType::SocketFilter, CtxTarget::Kernel).unwrap();
    let slots: Vec<_> = x.insns.iter().map(|i| i.insn).collect();
    // sdiv: 8 instructions, the last the original; smod (32-bit): 9, zero-extending at the end
    assert_eq!(slots.len(), 2 + 8 + 9 + 1);
    assert_eq!(
        slots[2],
        Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R11, src: Src::Reg(Reg::R1) }
    );
    assert_eq!(
        slots[9],
        Insn::Alu { width: Width::W64, op: AluOp::SDiv, dst: Reg::R0, src: Src::Reg(Reg::R1) }
    );
    assert_eq!(
        slots[13],
        Insn::Jmp { width: Width::W32, cond: JmpCond::Eq, dst: Reg::R11, src: Src::Imm(1), off: 4 }
    );
    assert_eq!(
        slots[18],
        Insn::Alu { width: Width::W32, op: AluOp::Mov, dst: Reg::R0, src: Src::Reg(Reg::R0) }
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

/// `opt_subreg_zext_lo32_rnd_hi32` adds nothing for x86_64 and arm64 (`bpf_jit_needs_zext` is
/// false on both): a 32-bit result whose upper half a 64-bit use reads keeps no extra `mov`.
#[test]
fn no_zero_extension_for_the_targets() {
    let src = "w0 = 1\nw0 += 2\nr1 = r0\nr1 += 1\nw2 = *(u32 *)(r10 -8)\nexit\n";
    let src = format!("*(u64 *)(r10 -8) = 0\n{src}");
    let x = xlated(&src, ProgType::SocketFilter, CtxTarget::Kernel).unwrap();
    assert_eq!(
        text(&x),
        ["*(u64 *)(r10 -8) = 0", "w0 = 1", "w0 += 2", "r1 = r0", "r1 += 1", "r2 = *(u32 *)(r10 -8)", "exit"]
    );
}

/// `percpu_array_map_gen_lookup` and the inlined `bpf_get_smp_processor_id`: per-CPU pointers
/// made this CPU's by the per-CPU mov (addresses from the target's BTF layout).
#[test]
fn percpu_lookups_use_the_percpu_mov() {
    let mut l = test_layout();
    l.set(KernelField::BpfArrayValue, FieldLoc { off: 312, size: 0, bits: None });
    l.set(KernelField::PercpuCpuNumber, FieldLoc { off: 0x15034, size: 4, bits: None });
    let map = crate::MapDef {
        fd: 3,
        name: "pcpu".into(),
        kind: crate::MapKind::PercpuArray,
        key_size: 4,
        value_size: 8,
        max_entries: 4,
        ..Default::default()
    };
    let src = "call 8\n*(u32 *)(r10 -4) = 0\nr2 = r10\nr2 += -4\nr1 = map_fd(3) ll\ncall 1\nr0 = 0\nexit\n";
    let p = assemble_program(src).expect("assembles");
    let opts = VerifyOptions {
        prog_type: ProgType::SchedCls,
        privileged: true,
        maps: vec![map],
        ..Default::default()
    };
    let out = verify(&p.to_slots(), &opts);
    assert!(out.accepted, "{:?}", out.error);
    let x = xlate(&out.witness.expect("witness"), CtxTarget::Kernel, &l).unwrap();
    let t = text(&x);
    assert_eq!(t[..3], ["r0 = 86068", "r0 = &(void __percpu *)(r0)", "r0 = *(u32 *)(r0 +0)"]);
    let at = t.iter().position(|s| s == "r1 += 312").expect("the lookup is inlined");
    assert_eq!(
        t[at..at + 9],
        [
            "r1 += 312",
            "r0 = *(u32 *)(r2 +0)",
            "if r0 >= 0x4 goto pc+5",
            "r0 <<= 3",
            "r0 += r1",
            "r0 = *(u64 *)(r0 +0)",
            "r0 = &(void __percpu *)(r0)",
            "goto pc+1",
            "r0 = 0"
        ]
    );
}

/// `htab_lru_map_gen_lookup`: the element is marked used (when it is not yet) before the value.
#[test]
fn lru_hash_lookup_marks_the_element() {
    let mut l = test_layout();
    l.set(KernelField::HtabElemKey, FieldLoc { off: 48, size: 0, bits: None });
    l.set(KernelField::HtabElemLruNode, FieldLoc { off: 24, size: 16, bits: None });
    l.set(KernelField::BpfLruNodeRef, FieldLoc { off: 11, size: 1, bits: None });
    let map = crate::MapDef {
        fd: 0,
        name: "lru".into(),
        kind: crate::MapKind::LruHash,
        key_size: 4,
        value_size: 8,
        max_entries: 4,
        ..Default::default()
    };
    let src = "*(u32 *)(r10 -4) = 0\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\ncall 1\nr0 = 0\nexit\n";
    let p = assemble_program(src).expect("assembles");
    let opts = VerifyOptions {
        prog_type: ProgType::SchedCls,
        privileged: true,
        maps: vec![map],
        ..Default::default()
    };
    let out = verify(&p.to_slots(), &opts);
    assert!(out.accepted, "{:?}", out.error);
    let x = xlate(&out.witness.expect("witness"), CtxTarget::Kernel, &l).unwrap();
    let t = text(&x);
    let at = t.iter().position(|s| s.starts_with("call")).expect("a call");
    assert_eq!(x.insns[at].call.map(|c| c.name()), Some("__htab_map_lookup_elem"));
    assert_eq!(
        t[at + 1..at + 6],
        [
            "if r0 == 0x0 goto pc+4",
            "r1 = *(u8 *)(r0 +35)",
            "if r1 != 0x0 goto pc+1",
            "*(u8 *)(r0 +35) = 1",
            "r0 += 56"
        ]
    );
}

/// The program of `src` (built from instructions: the assembler has no `may_goto`), verified
/// for a JIT (`jit`) or the interpreter, translated for the kernel.
fn xlated_insns(insns: Vec<Insn>, jit: bool) -> Xlated {
    let p = Program::new(insns).expect("decodes");
    let opts =
        VerifyOptions { prog_type: ProgType::SocketFilter, privileged: true, jit, ..Default::default() };
    let out = verify(&p.to_slots(), &opts);
    assert!(out.accepted, "{:?}", out.error);
    xlate(&out.witness.expect("witness"), CtxTarget::Kernel, &KernelLayout::default()).expect("translates")
}

#[test]
fn may_goto_keeps_a_timed_budget_below_the_frame() {
    // 0: may_goto +1; 1: goto -2 (back to the start); 2: r0 = 0; 3: exit
    let r0 = Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(0) };
    let x = xlated_insns(vec![Insn::MayGoto { off: 1 }, Insn::Ja { off: -2 }, r0, Insn::Exit], true);
    let ax = Reg::R11;
    let st = |off, imm| Insn::Store { size: Size::DW, dst: Reg::R10, off, src: Src::Imm(imm) };
    let want = [
        st(-16, 0xffff),
        st(-8, 0),
        Insn::Load { size: Size::DW, signed: false, dst: ax, src: Reg::R10, off: -16 },
        Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: ax, src: Src::Imm(0), off: 6 },
        Insn::Alu { width: Width::W64, op: AluOp::Sub, dst: ax, src: Src::Imm(1) },
        Insn::Jmp { width: Width::W64, cond: JmpCond::Ne, dst: ax, src: Src::Imm(0), off: 2 },
        Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: ax, src: Src::Imm(-16) },
        Insn::Call(CallTarget::Helper(0)),
        Insn::Store { size: Size::DW, dst: Reg::R10, off: -16, src: Src::Reg(ax) },
        // the loop goes back past the budget's set-up (`adjust_jmp_off`)
        Insn::Ja { off: -8 },
        r0,
        Insn::Exit,
    ];
    let got: Vec<Insn> = x.insns.iter().map(|i| i.insn).collect();
    assert_eq!(got, want);
    assert_eq!(x.insns[7].call.map(|c| c.name()), Some("arch_bpf_timed_may_goto"));
    // line info of the first instruction moves to the set-up
    assert_eq!((x.insns[0].origin, x.insns[2].origin), (Some(0), None));
}

#[test]
fn may_goto_for_the_interpreter_counts_down_one_budget() {
    let r0 = Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(0) };
    let x = xlated_insns(vec![Insn::MayGoto { off: 1 }, Insn::Ja { off: -2 }, r0, Insn::Exit], false);
    let ax = Reg::R11;
    let want = [
        Insn::Store { size: Size::DW, dst: Reg::R10, off: -8, src: Src::Imm(8 * 1024 * 1024) },
        Insn::Load { size: Size::DW, signed: false, dst: ax, src: Reg::R10, off: -8 },
        Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: ax, src: Src::Imm(0), off: 3 },
        Insn::Alu { width: Width::W64, op: AluOp::Sub, dst: ax, src: Src::Imm(1) },
        Insn::Store { size: Size::DW, dst: Reg::R10, off: -8, src: Src::Reg(ax) },
        Insn::Ja { off: -5 },
        r0,
        Insn::Exit,
    ];
    let got: Vec<Insn> = x.insns.iter().map(|i| i.insn).collect();
    assert_eq!(got, want);
}
