//! Encoding families: every opcode byte, reserved fields, bad registers, r10 writes, malformed
//! ld_imm64, and the r11 (`BPF_REG_PARAMS`) stack-argument forms this kernel does not know.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;

/// Each of the 256 opcode bytes with plain operands, plus reserved-field and register mutations
/// of valid instructions, r10 writes and malformed ld_imm64.
pub fn encoding(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "encoding";
    let mut out = Vec::new();
    for code in 0u16..256 {
        let code = code as u8;
        let mut p = vec![mov(0, 0), mov(2, 1), st(Sz::Dw, 10, -8, 0)];
        p.extend(plausible(code));
        p.extend([mov(0, 0), exit()]);
        out.push(Case::new(fam, format!("op_{code:02x}"), ProgType::SocketFilter, p));
    }
    while out.len() < n {
        let i = out.len();
        let kind = rng.below(6);
        let (desc, p) = match kind {
            0 => {
                // A valid instruction with one field made non-zero that must be zero.
                let base = rng.pick(&[
                    (mov(0, 1), "mov"),
                    (movr(0, 2), "movr"),
                    (alu64i(Op::Add, 0, 1), "add"),
                    (alu32i(Op::Add, 0, 1), "add32"),
                    (ldx(Sz::W, 0, 10, -8), "ldx"),
                    (stx(Sz::W, 10, 2, -8), "stx"),
                    (st(Sz::W, 10, -8, 1), "st"),
                    (ja(0), "ja"),
                    (jmpi(Cond::Eq, 0, 0, 0), "jeq"),
                    (jmpr(Cond::Eq, 0, 2, 0), "jeqr"),
                    (ins(0xdc, 0, 0, 0, 16), "be16"),
                    (alu64i(Op::Neg, 0, 0), "neg"),
                ]);
                let (mut x, name) = base;
                let field = rng.below(3);
                match field {
                    0 => x.src = rng.range(1, 15) as u8,
                    1 => x.off = rng.pick(&[1i16, -1, 8, 0x7fff]),
                    _ => x.imm = rng.pick(&[1, -1, 0x100]),
                }
                let p = vec![mov(0, 0), mov(2, 1), st(Sz::Dw, 10, -8, 0), x, mov(0, 0), exit()];
                (format!("reserved_{name}_f{field}"), p)
            }
            1 => {
                // Registers 10..15 as dst/src of common instructions.
                let r = rng.range(10, 15) as u8;
                let x = match rng.below(5) {
                    0 => mov(r, 1),
                    1 => movr(0, r),
                    2 => alu64i(Op::Add, r, 8),
                    3 => ldx(Sz::Dw, r, 10, -8),
                    _ => stx(Sz::Dw, 10, r, -8),
                };
                (format!("reg{r}_{:02x}", x.code), vec![st(Sz::Dw, 10, -8, 0), x, mov(0, 0), exit()])
            }
            2 => {
                // Malformed ld_imm64.
                let form = rng.below(7);
                let mut li = ld_imm64(rng.pick(&[0, 2]), 0x1122_3344_5566_7788);
                let mut p = vec![mov(0, 0)];
                match form {
                    0 => li[1].code = 0x18,
                    1 => li[1].dst = 1,
                    2 => li[1].off = 1,
                    3 => li[0].src = rng.pick(&[3u8, 5, 6, 7, 15]),
                    4 => li[0].off = 1,
                    5 => {
                        // First half as the last slot.
                        p.push(exit());
                        p.push(li[0]);
                        return_case(&mut out, fam, format!("{i:04}_ldimm64_last"), p);
                        continue;
                    }
                    _ => li[1].src = 1,
                }
                p.extend(li);
                p.push(exit());
                (format!("ldimm64_{form}"), p)
            }
            3 => {
                // Writes to r10.
                let x = match rng.below(5) {
                    0 => mov(10, 0),
                    1 => alu64i(Op::Add, 10, -8),
                    2 => ldx(Sz::Dw, 10, 10, -8),
                    3 => alu32i(Op::Mov, 10, 0),
                    _ => ins(0xdc, 10, 0, 0, 16),
                };
                (format!("r10_{:02x}", x.code), vec![st(Sz::Dw, 10, -8, 0), x, mov(0, 0), exit()])
            }
            4 => {
                // Byte swaps and sign-extension widths, valid and invalid.
                let code = rng.pick(&[0xd4u8, 0xdc, 0xd7]);
                let imm = rng.pick(&[16, 32, 64, 8, 0, 24]);
                (format!("end_{code:02x}_{imm}"), vec![mov(0, 5), ins(code, 0, 0, 0, imm), exit()])
            }
            _ => {
                // Legacy packet loads (socket_filter allows them), in and out of shape.
                let code = rng.pick(&[0x20u8, 0x28, 0x30, 0x38, 0x40, 0x48, 0x50]);
                let imm = rng.pick(&[0, 12, 14, -1, 0x7fff_ffff]);
                let src = if rng.chance(1, 4) { 1 } else { 0 };
                let p = vec![movr(6, 1), mov(7, 0), ins(code, 0, src, 0, imm), mov(0, 0), exit()];
                (format!("ldabs_{code:02x}_{imm}_s{src}"), p)
            }
        };
        out.push(Case::new(fam, format!("{i:04}_{desc}"), ProgType::SocketFilter, p));
    }
    out
}

/// `code` with the operands its class expects (so that valid opcodes load and invalid ones are
/// rejected for the opcode alone).
fn plausible(code: u8) -> Vec<kbpf_isa::RawInsn> {
    let x = code & 0x08 != 0;
    match code & 7 {
        0 => {
            let src = if code & 0xe0 == 0x40 { 2 } else { 0 };
            let mut v = vec![ins(code, 0, src, 0, 1)];
            if code == 0x18 {
                v.push(ins(0, 0, 0, 0, 0));
            }
            v
        }
        1 => vec![ins(code, 0, 10, -8, 0)],
        2 => vec![ins(code, 10, 0, -8, 1)],
        3 => vec![ins(code, 10, 2, -8, 0)],
        4 | 7 => match code & 0xf0 {
            0x80 => vec![ins(code, 0, 0, 0, 0)],
            0xd0 => vec![ins(code, 0, 0, 0, 16)],
            _ if x => vec![ins(code, 0, 2, 0, 0)],
            _ => vec![ins(code, 0, 0, 0, 1)],
        },
        _ => match code & 0xf0 {
            0x80 => vec![ins(code, 0, 0, 0, 7)],
            0x00 | 0x90 => vec![ins(code, 0, 0, 0, 0)],
            _ if x => vec![ins(code, 0, 2, 0, 0)],
            _ => vec![ins(code, 0, 0, 0, 1)],
        },
    }
}

fn return_case(out: &mut Vec<Case>, fam: &str, name: String, p: Vec<kbpf_isa::RawInsn>) {
    out.push(Case::new(fam, name, ProgType::SocketFilter, p));
}

/// r11 (`BPF_REG_PARAMS`) stack-argument stores and loads, in main programs and subprograms,
/// and r11 in other positions. The 6.18 kernel has no stack arguments: expected rejects.
pub fn r11(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "r11";
    let mut out = Vec::new();
    for i in 0..n {
        let k = rng.range(1, 8) as i16;
        let sz = if rng.chance(3, 4) { Sz::Dw } else { rng.pick(&SIZES) };
        let x = match rng.below(6) {
            0 => stx(sz, 11, 2, -8 * k),
            1 => ldx(sz, 2, 11, 8 * k),
            2 => st(sz, 11, -8 * k, 1),
            3 => movr(2, 11),
            4 => alu64i(Op::Add, 11, 8),
            _ => stx(sz, 11, 2, 8 * k),
        };
        let in_sub = rng.chance(1, 2);
        let mut b = B::new();
        b.i(mov(2, 1));
        let ty = rng.pick(&[ProgType::SocketFilter, ProgType::Syscall, ProgType::Xdp]);
        if in_sub {
            b.call("f").i(exit()).label("f").i(mov(2, 1)).i(x).all(ret0());
        } else {
            b.i(x).all(ret0());
        }
        let name = format!("{i:04}_{:02x}_{}_{}", x.code, x.off, if in_sub { "sub" } else { "main" });
        out.push(Case::new(fam, name, ty, b.build()));
    }
    out
}
