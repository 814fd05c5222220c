//! Every binary ALU operation, both widths, register and immediate forms, on random operands,
//! against a straightforward oracle written from the ISA document (RFC 9669 plus the Linux
//! division rules).
#![allow(clippy::manual_checked_ops)] // the oracle spells the rule out on purpose

mod common;
use common::run;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Mostly interesting values: 0, ±1, extremes, small numbers, random.
    fn value(&mut self) -> u64 {
        match self.next() % 8 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => [i64::MIN as u64, i32::MIN as u32 as u64, 0x8000_0000, 0x7fff_ffff]
                [(self.next() % 4) as usize],
            4 => self.next() % 70,
            5 => (self.next() % 70).wrapping_neg(),
            _ => self.next(),
        }
    }
}

const OPS: [&str; 14] =
    ["add", "sub", "mul", "div", "sdiv", "mod", "smod", "or", "and", "xor", "lsh", "rsh", "arsh", "mov"];

fn oracle64(op: &str, a: u64, b: u64) -> u64 {
    let (sa, sb) = (a as i64, b as i64);
    match op {
        "add" => a.wrapping_add(b),
        "sub" => a.wrapping_sub(b),
        "mul" => a.wrapping_mul(b),
        "div" => {
            if b == 0 {
                0
            } else {
                a / b
            }
        }
        "sdiv" => {
            if b == 0 {
                0
            } else if sa == i64::MIN && sb == -1 {
                a
            } else {
                (sa / sb) as u64
            }
        }
        "mod" => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
        "smod" => {
            if b == 0 {
                a
            } else if sb == -1 {
                0
            } else {
                (sa % sb) as u64
            }
        }
        "or" => a | b,
        "and" => a & b,
        "xor" => a ^ b,
        "lsh" => a << (b % 64),
        "rsh" => a >> (b % 64),
        "arsh" => (sa >> (b % 64)) as u64,
        _ => b,
    }
}

fn oracle32(op: &str, a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    let (sa, sb) = (a as i32, b as i32);
    (match op {
        "add" => a.wrapping_add(b),
        "sub" => a.wrapping_sub(b),
        "mul" => a.wrapping_mul(b),
        "div" => {
            if b == 0 {
                0
            } else {
                a / b
            }
        }
        "sdiv" => {
            if b == 0 {
                0
            } else if sa == i32::MIN && sb == -1 {
                a
            } else {
                (sa / sb) as u32
            }
        }
        "mod" => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
        "smod" => {
            if b == 0 {
                a
            } else if sb == -1 {
                0
            } else {
                (sa % sb) as u32
            }
        }
        "or" => a | b,
        "and" => a & b,
        "xor" => a ^ b,
        "lsh" => a << (b % 32),
        "rsh" => a >> (b % 32),
        "arsh" => (sa >> (b % 32)) as u32,
        _ => b,
    }) as u64
}

/// The ISA's reference semantics (`AluOp::eval`, the model the JIT suites test against), which
/// this file's oracle spells out independently.
fn isa_eval(op: &str, w32: bool, a: u64, b: u64) -> u64 {
    use kbpf_isa::{AluOp, Width};
    let op = match op {
        "add" => AluOp::Add,
        "sub" => AluOp::Sub,
        "mul" => AluOp::Mul,
        "div" => AluOp::Div,
        "sdiv" => AluOp::SDiv,
        "mod" => AluOp::Mod,
        "smod" => AluOp::SMod,
        "or" => AluOp::Or,
        "and" => AluOp::And,
        "xor" => AluOp::Xor,
        "lsh" => AluOp::Lsh,
        "rsh" => AluOp::Rsh,
        "arsh" => AluOp::Arsh,
        _ => AluOp::Mov,
    };
    op.eval(if w32 { Width::W32 } else { Width::W64 }, a, b)
}

#[test]
fn alu_matches_oracle() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..600 {
        let op = OPS[(rng.next() % OPS.len() as u64) as usize];
        let (a, b) = (rng.value(), rng.value());
        for w32 in [false, true] {
            let m = if w32 { format!("{op}32") } else { op.to_string() };
            let want = if w32 { oracle32(op, a, b) } else { oracle64(op, a, b) };
            assert_eq!(isa_eval(op, w32, a, b), want, "AluOp::eval: {m} {a:#x}, {b:#x}");
            let src = format!("lddw %r0, {a:#x}\nlddw %r1, {b:#x}\n{m} %r0, %r1\nexit");
            assert_eq!(run(&src), want, "{m} {a:#x}, {b:#x} (register)");
            // Immediate form: the 32-bit immediate, sign-extended for 64-bit operations.
            let imm = b as u32 as i32;
            let bi = imm as i64 as u64;
            let want = if w32 { oracle32(op, a, bi) } else { oracle64(op, a, bi) };
            let src = format!("lddw %r0, {a:#x}\n{m} %r0, {imm}\nexit");
            assert_eq!(run(&src), want, "{m} {a:#x}, {imm} (immediate)");
        }
    }
}
