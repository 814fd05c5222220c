//! Decode and encode are exact inverses over every opcode byte and a spread of field values.

use kbpf_isa::{Program, RawInsn, decode_insn};

const OFFS: [i16; 9] = [0, 1, 8, 16, 32, -8, -16, 7, i16::MIN];
const IMMS: [i32; 12] = [0, 1, 16, 32, 64, -1, 0x50, 0xe1, 0xf1, 0x100, 0x110, i32::MIN];

#[test]
fn every_decodable_slot_reencodes_to_itself() {
    let tail = RawInsn::new(0, 0, 0, 0, 0x1234_5678);
    let mut decoded = 0usize;
    for code in 0..=255u8 {
        for dst in 0..16u8 {
            for src in 0..16u8 {
                for off in OFFS {
                    for imm in IMMS {
                        let raw = RawInsn::new(code, dst, src, off, imm);
                        if let Ok(insn) = decode_insn(raw, Some(tail)) {
                            decoded += 1;
                            let enc = insn.encode();
                            assert_eq!(enc[0], raw, "{insn:?}");
                            if insn.slots() == 2 {
                                assert_eq!(enc[1], tail);
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(decoded > 10_000, "only {decoded} slots decoded");
}

#[test]
fn r11_only_in_stack_arg_forms() {
    // *(u64 *)(r11 -8) = r1
    assert!(decode_insn(RawInsn::new(0x7b, 11, 1, -8, 0), None).unwrap().is_stack_arg_store());
    // *(u64 *)(r11 -16) = 7
    assert!(decode_insn(RawInsn::new(0x7a, 11, 0, -16, 7), None).unwrap().is_stack_arg_store());
    // r1 = *(u64 *)(r11 +8)
    assert!(decode_insn(RawInsn::new(0x79, 1, 11, 8, 0), None).unwrap().is_stack_arg_load());
    for bad in [
        RawInsn::new(0xb7, 11, 0, 0, 1),  // r11 = 1
        RawInsn::new(0xbf, 0, 11, 0, 0),  // r0 = r11
        RawInsn::new(0x79, 11, 1, 8, 0),  // load into r11
        RawInsn::new(0x7b, 1, 11, -8, 0), // store of r11
        RawInsn::new(0x63, 11, 1, -8, 0), // 4-byte store through r11
        RawInsn::new(0x79, 1, 11, -8, 0), // load with a negative offset
        RawInsn::new(0xdb, 11, 1, -8, 0), // atomic through r11
    ] {
        let e = decode_insn(bad, None).unwrap_err();
        assert_eq!(e.to_string(), "R11 is invalid", "{bad:?}");
    }
}

#[test]
fn program_errors_carry_the_index() {
    let p = |words: &[u64]| {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        Program::from_bytes(&bytes)
    };
    // goto +5 ; exit
    let e = p(&[0x0005_0005u64, 0x95]).unwrap_err();
    assert_eq!(e.to_string(), "insn 0: jump out of range from insn 0 to 6");
    // r0 = 0 ; unknown 0xff
    let e = p(&[0xb7, 0xff]).unwrap_err();
    assert_eq!(e.to_string(), "insn 1: unknown opcode ff");
    // truncated ld_imm64
    let e = p(&[0xb7, 0x18]).unwrap_err();
    assert_eq!(e.to_string(), "insn 1: invalid bpf_ld_imm64 insn");
    // goto +1 lands in the second slot of ld_imm64
    let e = p(&[0x0001_0005, 0x18, 0, 0x95]).unwrap_err();
    assert_eq!(e.to_string(), "insn 0: jump into the middle of ldimm64 insn 1");
    let ok = p(&[0x18, 7 << 32, 0x95]).unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok.len_slots(), 3);
    assert_eq!(ok.index_at(2), Some(1));
    assert_eq!(ok.index_at(1), None);
}

#[test]
fn alu_reference_semantics_edges() {
    use kbpf_isa::{AluOp, Width};
    let min64 = i64::MIN as u64;
    assert_eq!(AluOp::Div.eval(Width::W64, 7, 0), 0);
    assert_eq!(AluOp::Mod.eval(Width::W64, 7, 0), 7);
    assert_eq!(AluOp::SDiv.eval(Width::W64, min64, u64::MAX), min64);
    assert_eq!(AluOp::SMod.eval(Width::W64, min64, u64::MAX), 0);
    assert_eq!(AluOp::SMod.eval(Width::W64, (-7i64) as u64, 0), (-7i64) as u64);
    assert_eq!(AluOp::Lsh.eval(Width::W64, 1, 65), 2);
    assert_eq!(AluOp::Lsh.eval(Width::W32, 1, 33), 2);
    // 32-bit results are zero-extended, inputs truncated.
    assert_eq!(AluOp::Mov.eval(Width::W32, 0, u64::MAX), 0xffff_ffff);
    assert_eq!(AluOp::Add.eval(Width::W32, 0xffff_ffff_0000_0001, 1), 2);
    assert_eq!(AluOp::Mod.eval(Width::W32, 0x1_0000_0007, 0), 7);
    assert_eq!(AluOp::Arsh.eval(Width::W32, 0x8000_0000, 31), 0xffff_ffff);
    assert_eq!(AluOp::SDiv.eval(Width::W32, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
}

/// The kernel's per-CPU mov encodes as ALU64 mov with off -1 and prints as bpftool does; a
/// submitted program cannot hold it (the verifier refuses the reserved offset).
#[test]
fn percpu_mov_is_the_kernels_and_refused_on_input() {
    use kbpf_isa::{Insn, Reg, decode_insn};
    let insn = Insn::MovPercpu { dst: Reg::R0, src: Reg::R1 };
    let raw = insn.encode()[0];
    assert_eq!(raw.to_bytes(), [0xbf, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    assert_eq!(
        kbpf_isa::disasm::format_insn(&insn, 0, kbpf_isa::disasm::Syntax::Kernel),
        "r0 = &(void __percpu *)(r1)"
    );
    assert!(decode_insn(raw, None).is_err());
}
