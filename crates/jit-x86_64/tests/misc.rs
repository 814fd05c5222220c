//! Long branches, stack-depth policies, gotol, and running one program from many threads.
#![allow(unsafe_code)]
mod common;
use common::*;
use kbpf_isa::*;
use kbpf_jit::{Backend, JitOptions, StackDepth};
use kbpf_jit_x86_64::X86_64;

#[test]
fn long_forward_and_backward_branches() {
    // r0 counts down a loop whose body is 3000 instructions long; a gotol skips 5000 more.
    let mut v = vec![mov(Reg::R0, 0), mov(Reg::R6, 3)];
    let head = v.len();
    for _ in 0..3000 {
        v.push(alu64(AluOp::Add, Reg::R0, Src::Imm(1)));
    }
    v.push(alu64(AluOp::Sub, Reg::R6, Src::Imm(1)));
    let back = head as i16 - v.len() as i16 - 1;
    v.push(jmp(JmpCond::Ne, Reg::R6, Src::Imm(0), back));
    v.push(Insn::Gotol { imm: 5000 });
    for _ in 0..5000 {
        v.push(mov(Reg::R0, -1));
    }
    v.push(EXIT);
    assert_eq!(run(v), 9000);
}

#[test]
fn stack_depth_policies_agree() {
    let v = vec![
        st(Size::DW, Reg::R10, -8, 5),
        st(Size::W, Reg::R10, -100, 6),
        ldx(Size::DW, Reg::R0, Reg::R10, -8),
        ldx(Size::W, Reg::R1, Reg::R10, -100),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R1)),
        EXIT,
    ];
    let p = prog(v);
    let reg = kbpf_kfunc::profiles::conformance();
    for sd in [StackDepth::Inferred, StackDepth::Max, StackDepth::Verifier(vec![112])] {
        let jp =
            // SAFETY: a trusted test program, run only on the inputs it was written for.
            unsafe { X86_64.compile_unverified(&p, &reg, &JitOptions { stack_depth: sd.clone(), ..Default::default() }) }.unwrap();
        assert_eq!(jp.run(&mut []), 11, "{sd:?}");
    }
}

#[test]
fn one_program_many_threads() {
    let v = vec![
        ldx(Size::DW, Reg::R6, Reg::R1, 0),
        mov(Reg::R0, 0),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R6)),
        alu64(AluOp::Sub, Reg::R6, Src::Imm(1)),
        jmp(JmpCond::Ne, Reg::R6, Src::Imm(0), -3),
        EXIT,
    ];
    // SAFETY: a trusted test program, run only on the inputs it was written for.
    let jp = unsafe {
        X86_64.compile_unverified(&prog(v), &kbpf_kfunc::profiles::conformance(), &JitOptions::default())
    }
    .unwrap();
    std::thread::scope(|s| {
        for t in 1..=4u64 {
            let jp = &jp;
            s.spawn(move || {
                for n in 0..200u64 {
                    let k = t * 1000 + n;
                    let mut mem = k.to_le_bytes();
                    assert_eq!(jp.run(&mut mem), k * (k + 1) / 2);
                }
            });
        }
    });
}

#[test]
fn backend_reports_its_name() {
    assert_eq!(X86_64.name(), "x86_64");
}

/// Random slot sequences that decode: compiling them returns Ok or a typed error, never panics.
#[test]
fn compiling_arbitrary_decoded_programs_never_panics() {
    let mut s = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let reg = kbpf_kfunc::profiles::conformance();
    let (mut compiled, mut rejected) = (0, 0);
    for _ in 0..20_000 {
        let n = 1 + next() % 12;
        let mut slots: Vec<RawInsn> = Vec::new();
        for _ in 0..n - 1 {
            // Retry each slot until it decodes on its own.
            for _ in 0..50 {
                let r = next();
                let code = (r & 0xff) as u8;
                let off = match (r >> 8) % 4 {
                    0 => ((r >> 16) % 8) as i16 - 4,
                    1 => -(((r >> 16) % 70) as i16) * 8,
                    _ => (r >> 16) as i16,
                };
                let imm = if (r >> 40) % 3 == 0 { ((r >> 44) % 16) as i32 - 2 } else { (r >> 32) as i32 };
                let raw = RawInsn::new(code, ((r >> 24) % 12) as u8, ((r >> 28) % 12) as u8, off, imm);
                // bpf-to-bpf calls split functions and mostly make random programs fall through.
                let local_call = code == 0x85 && raw.src == 1 && r % 16 != 0;
                if !local_call && decode_insn(raw, None).is_ok() {
                    slots.push(raw);
                    break;
                }
            }
        }
        slots.push(RawInsn::new(0x95, 0, 0, 0, 0));
        if let Ok(p) = Program::from_slots(&slots) {
            // SAFETY: a trusted test program, run only on the inputs it was written for.
            match unsafe { X86_64.compile_unverified(&p, &reg, &JitOptions::default()) } {
                Ok(_) => compiled += 1,
                Err(e) => {
                    rejected += 1;
                    if rejected < 3 {
                        eprintln!("e.g. {e}");
                    }
                }
            }
        }
    }
    eprintln!("{compiled} compiled, {rejected} rejected with a typed error");
    assert!(compiled + rejected > 1000, "too few decodable programs: {compiled} + {rejected}");
}
