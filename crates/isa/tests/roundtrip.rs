//! Disassembling any decodable instruction in either syntax and assembling the text gives the
//! same instruction back.

mod common;

use common::{SYNTAXES, decodable, fit_targets, insn, kernel_text_needs_code};
use kbpf_isa::asm::{assemble, assemble_program};
use kbpf_isa::disasm::{Syntax, disassemble, format_insn, format_insn_with_code};
use kbpf_isa::{Insn, Program, RawInsn, decode_insn};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

fn check(insn: &Insn) {
    for syntax in SYNTAXES {
        let text = format_insn_with_code(insn, 0, syntax);
        let back = assemble(&text).unwrap_or_else(|e| panic!("{syntax:?} `{text}`: {e} ({insn:?})"));
        assert_eq!(back, vec![*insn], "{syntax:?} `{text}`");
        if syntax == Syntax::Kernel && kernel_text_needs_code(insn) {
            continue;
        }
        let text = format_insn(insn, 0, syntax);
        let back = assemble(&text).unwrap_or_else(|e| panic!("{syntax:?} `{text}`: {e} ({insn:?})"));
        assert_eq!(back, vec![*insn], "{syntax:?} `{text}`");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn every_insn_round_trips(i in insn()) {
        check(&i);
    }
}

/// The same over a grid of raw slots covering every opcode byte, so that no opcode depends on the
/// random strategy reaching it.
#[test]
fn every_opcode_round_trips() {
    let tail = RawInsn::new(0, 0, 0, 0, 0x1234_5678);
    let regs = [0u8, 1, 10, 11];
    let offs = [0i16, 1, 8, 16, 32, -8, -32768];
    let imms = [0i32, 1, 16, 32, 64, -1, 0x50, 0xe1, 0xf1, 0x100, 0x110, 0x10002, i32::MIN];
    let mut codes = std::collections::BTreeSet::new();
    let mut n = 0;
    for code in 0..=255u8 {
        for dst in regs {
            for src in [0u8, 1, 2, 3, 4, 5, 6, 10, 11] {
                for off in offs {
                    for imm in imms {
                        if let Ok(i) = decode_insn(RawInsn::new(code, dst, src, off, imm), Some(tail)) {
                            check(&i);
                            codes.insert(code);
                            n += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(n > 5_000, "{n}");
    // ALU 53 (12 ops x K/X x 2 classes, neg x 2, 3 byte swaps), JMP 50 (11 conditions x K/X x 2
    // classes, ja, gotol, call, callx, exit, may_goto), LDX 7, ST 4, STX 4, atomics 4, LD 7.
    assert_eq!(codes.len(), 129, "every opcode byte");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Whole programs: `disassemble` output (with pc and opcode prefixes) assembles back.
    #[test]
    fn programs_round_trip(body in prop::collection::vec(insn(), 1..40)) {
        let prog = Program::new(fit_targets(body)).expect("targets fitted");
        for syntax in SYNTAXES {
            let text = disassemble(&prog, syntax);
            let back = assemble_program(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            prop_assert_eq!(back.insns(), prog.insns());
        }
    }
}

#[test]
fn strategy_covers_every_variant() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..5_000 {
        let i = insn().new_tree(&mut runner).expect("strategy").current();
        assert!(decodable(&i));
        seen.insert(format!("{i:?}").split([' ', '(']).next().unwrap_or_default().to_string());
    }
    assert_eq!(seen.len(), 18, "{seen:?}");
}
