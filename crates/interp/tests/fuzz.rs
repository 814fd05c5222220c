//! Random programs never panic the interpreter: every outcome is a value or a typed error.
//! `KBPF_FUZZ_ITERS` raises the iteration count (default 5k, about a second in debug).

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::{DecodeErrorKind, Program, RawInsn, decode_insn};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Opcode bytes that decode with at least one field combination.
fn valid_codes(rng: &mut Rng) -> Vec<u8> {
    (0..=255u8)
        .filter(|&code| {
            (0..400).any(|_| {
                let raw = RawInsn::new(
                    code,
                    rng.below(12) as u8,
                    rng.below(12) as u8,
                    [0, 1, 8, 16, 32, -8][rng.below(6) as usize],
                    [0, 1, 16, 32, 64, 0xe1, 0xf1, 0x100, 0x110, 0x41][rng.below(10) as usize],
                );
                decode_insn(raw, Some(RawInsn::default())).is_ok()
            })
        })
        .collect()
}

fn random_slot(rng: &mut Rng, codes: &[u8]) -> RawInsn {
    let code = codes[rng.below(codes.len() as u64) as usize];
    let reg = |rng: &mut Rng| if rng.below(16) == 0 { 11 } else { rng.below(11) as u8 };
    let off = match rng.below(5) {
        0 | 4 => rng.below(9) as i16 - 4,
        1 => -(8 * (rng.below(8) as i16 + 1)),
        2 => 8 * (rng.below(8) as i16),
        _ => rng.next() as i16,
    };
    let imm = match rng.below(6) {
        0 | 5 => rng.below(8) as i32 - 3,
        1 => [16, 32, 64, 0xe1, 0xf1, 0x100, 0x110, 0x01, 0x41, 0xa1][rng.below(10) as usize],
        2 => -(rng.below(600) as i32),
        _ => rng.next() as i32,
    };
    RawInsn::new(code, reg(rng), reg(rng), off, imm)
}

/// Decodes, retargeting branches and calls that point outside the program to slot 0.
fn program(slots: &mut [RawInsn]) -> Option<Program> {
    for _ in 0..slots.len() + 1 {
        match Program::from_slots(slots) {
            Ok(p) => return Some(p),
            Err(e) => match e.kind {
                DecodeErrorKind::JumpOutOfRange { .. }
                | DecodeErrorKind::JumpIntoLdImm64(_)
                | DecodeErrorKind::CallOutOfRange => {
                    let back = -(e.index as i64) - 1;
                    let s = slots.get_mut(e.index)?;
                    if s.code == 0x06 || s.code == 0x85 {
                        s.imm = back as i32;
                    } else {
                        s.off = back as i16;
                    }
                }
                _ => return None,
            },
        }
    }
    None
}

#[test]
fn random_programs_never_panic() {
    let iters: usize = std::env::var("KBPF_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let codes = valid_codes(&mut rng);
    assert!(codes.len() > 100, "only {} opcodes decode", codes.len());
    let registry = kbpf_kfunc::profiles::conformance();
    let opts = VmOptions { insn_budget: 300, ..VmOptions::default() };
    let (mut ran, mut ok) = (0, 0);
    for _ in 0..iters {
        let n = 1 + rng.below(24) as usize;
        let mut slots: Vec<RawInsn> = Vec::with_capacity(n + 2);
        while slots.len() < n {
            // Retry until the slot decodes on its own, so most programs get past the decoder.
            let next = RawInsn::new(0, 0, 0, 0, rng.next() as i32);
            if let Some(raw) =
                (0..50).map(|_| random_slot(&mut rng, &codes)).find(|&r| decode_insn(r, Some(next)).is_ok())
            {
                slots.push(raw);
                if raw.code == 0x18 {
                    slots.push(next);
                }
            }
        }
        if rng.below(2) == 0 {
            slots.push(RawInsn::new(0x95, 0, 0, 0, 0));
        }
        let Some(prog) = program(&mut slots) else { continue };
        let kernel_compat = rng.below(4) == 0;
        let Ok(vm) = Vm::new(&prog, &registry, VmOptions { kernel_compat, ..opts }) else { continue };
        let mut mem = vec![0u8; rng.below(3) as usize * 32];
        ran += 1;
        ok += vm.run(&mut mem).is_ok() as usize;
    }
    eprintln!("{ran} programs ran, {ok} returned a value");
    assert!(ran > iters / 10);
}
