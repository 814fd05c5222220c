//! Compile-only tests (any host): rejected programs give typed errors, random programs never
//! panic, and the dump is a readable arm64 listing.
#![allow(unsafe_code)]

mod common;

use common::*;
use kbpf_isa::{AluOp, Insn, LdImm64Src, Program, RawInsn, Size, Src, Width};
use kbpf_jit::{Backend, JitError, JitOptions};
use kbpf_jit_arm64::{Arm64, AtomicsMode};
use kbpf_kfunc::{NativeFn, Registry};

fn compile_err(insns: Vec<Insn>, reg: &Registry) -> JitError {
    let prog = Program::new(insns).expect("well formed");
    Arm64::default().assemble(&prog, reg, &JitOptions::default()).expect_err("rejected")
}

extern "C" fn one(_: u64) -> u64 {
    1
}

#[test]
fn typed_errors() {
    let reg = Registry::new();
    assert_eq!(compile_err(vec![call_helper(7), exit()], &reg), JitError::UnknownHelper { pc: 0, id: 7 });
    assert_eq!(
        compile_err(vec![mov64(R0, 0), call_kfunc(9), exit()], &reg),
        JitError::UnknownKfunc { pc: 1, btf_id: 9 }
    );
    assert!(matches!(compile_err(vec![call_local(-1), exit()], &reg), JitError::Recursion { .. }));
    assert!(matches!(compile_err(vec![mov64(R0, 0)], &reg), JitError::FallThrough { pc: 0 }));
    assert!(matches!(
        compile_err(vec![st(Size::DW, R11, -64, 1), exit()], &reg),
        JitError::StackArg { pc: 0, off: -64 }
    ));
    let cast = Insn::AddrSpaceCast { dst: R0, src: R1, dst_as: 1, src_as: 0 };
    assert!(matches!(compile_err(vec![cast, exit()], &reg), JitError::Unsupported { pc: 0, .. }));
    let map = Insn::LdImm64 { dst: R1, src: LdImm64Src::MapFd, imm: 3, imm_hi: 0 };
    assert!(matches!(compile_err(vec![map, exit()], &reg), JitError::Unsupported { pc: 0, .. }));
    // A frame the immediate of `sub sp` cannot hold is an error, not a dynasm panic.
    let prog = Program::new(vec![st(Size::DW, R10, -8, 1), mov64(R0, 0), exit()]).expect("well formed");
    let opts =
        JitOptions { stack_depth: kbpf_jit::StackDepth::Verifier(vec![1 << 20]), ..Default::default() };
    assert!(matches!(Arm64::default().assemble(&prog, &reg, &opts), Err(JitError::Encoding { pc: 0, .. })));
    let mut reg = Registry::new();
    reg.add_helper(1, "one", NativeFn::A1(one)).expect("fresh");
    let prog = Program::new(vec![call_helper(1), exit()]).expect("well formed");
    assert!(Arm64::default().assemble(&prog, &reg, &JitOptions::default()).is_ok());
}

/// Random raw slots that decode must compile or be rejected, never panic, in both atomics modes.
#[test]
fn random_programs_never_panic() {
    let reg = kbpf_kfunc::profiles::conformance();
    let mut x = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // Opcodes that decode with some field values (ALU/JMP/LD/ST/atomic forms).
    let mut codes = Vec::new();
    for code in 0..=255u8 {
        let ok = [
            (0, 0, 0i16, 0i32),
            (1, 2, 0, 0),
            (1, 0, 0, 16),
            (1, 2, 1, 0),
            (1, 2, 8, 0),
            (1, 2, 0, 1),
            (0, 0, 0, 0x100),
        ]
        .iter()
        .any(|&(d, s, o, i)| {
            kbpf_isa::decode_insn(RawInsn::new(code, d, s, o, i), Some(RawInsn::default())).is_ok()
        });
        if ok {
            codes.push(code);
        }
    }
    let imms = [0i32, 1, -1, 8, 16, 32, 64, 0x100, 0x110, 0xf1, 0xe1, 0x51, 5, i32::MIN, i32::MAX];
    let (mut compiled, mut decoded) = (0, 0);
    for _ in 0..20_000 {
        let n = 1 + next() % 12;
        let mut slots: Vec<RawInsn> = Vec::new();
        while (slots.len() as u64) < n {
            // Rejection-sample each slot so that it decodes on its own (lddw gets its tail).
            let v = next();
            let code = codes[(v % codes.len() as u64) as usize];
            let off = ((v >> 8) % (2 * n + 2)) as i16 - n as i16 - 1;
            let off = if (v >> 20) % 4 == 0 { off * 8 } else { off };
            let imm = if (v >> 24) % 2 == 0 {
                imms[((v >> 32) % imms.len() as u64) as usize]
            } else {
                (v >> 32) as i32
            };
            let mut raw = RawInsn::new(code, ((v >> 40) % 12) as u8, ((v >> 44) % 12) as u8, off, imm);
            for _ in 0..4 {
                if kbpf_isa::decode_insn(raw, Some(RawInsn::default())).is_ok() {
                    break;
                }
                // Common reasons to fail: a field that must be zero.
                match next() % 3 {
                    0 => raw.src = 0,
                    1 => raw.off = 0,
                    _ => raw.imm = 0,
                }
            }
            if kbpf_isa::decode_insn(raw, Some(RawInsn::default())).is_ok() {
                slots.push(raw);
                if code == 0x18 {
                    slots.push(RawInsn::new(0, 0, 0, 0, (next() >> 32) as i32));
                }
            }
        }
        slots.push(RawInsn::from_u64(0x95));
        let Ok(prog) = Program::from_slots(&slots) else { continue };
        decoded += 1;
        for atomics in [AtomicsMode::Lse, AtomicsMode::LlSc] {
            if Arm64::with_atomics(atomics).assemble(&prog, &reg, &JitOptions::default()).is_ok() {
                compiled += 1;
            }
        }
    }
    eprintln!("{decoded} random programs decoded, {compiled} compilations succeeded");
    assert!(decoded > 1000 && compiled > 100, "{decoded} {compiled}");
}

/// Off aarch64, compiling for execution is refused (the code could not run); on aarch64 it works.
#[test]
fn compile_for_execution_only_on_aarch64() {
    let prog = Program::new(vec![mov64(R0, 1), exit()]).expect("well formed");
    // SAFETY: a trusted test program, run only on the inputs it was written for.
    let r = unsafe { Arm64::default().compile_unverified(&prog, &Registry::new(), &JitOptions::default()) };
    if cfg!(target_arch = "aarch64") {
        assert_eq!(r.expect("compiles").run(&mut []), 1);
    } else {
        assert!(matches!(r, Err(JitError::Unsupported { pc: 0, .. })), "{r:?}");
    }
}

#[test]
fn dump_lists_every_instruction() {
    let reg = kbpf_kfunc::profiles::conformance();
    let prog = Program::new(vec![
        mov64(R0, 1),
        alu(Width::W64, AluOp::Add, R0, Src::Imm(2)),
        Insn::LdAbs { size: Size::B, imm: 3 },
        exit(),
    ])
    .expect("well formed");
    let text = Arm64::default().dump(&prog, &reg, &JitOptions::default()).expect("dumps");
    for want in [
        "; entry trampoline",
        "; func #0 prologue",
        "0: r0 = 1",
        "1: r0 += 2",
        "2: r0 = *(u8 *)skb[3]",
        "3: exit",
        "; func #0 fault stubs",
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
    assert!(text.contains("add x8, x8, #0x2"), "{text}");
    assert!(text.contains("ret"), "{text}");
    assert!(!text.contains(".word"), "{text}");
}
