//! Scalar families: range tracking through ALU ops, branch refinement, 32-bit ops, div/shift.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;
use crate::map::MapSpec;

/// An unknown scalar into r6: helper result, or a ctx field (`skb->len`).
fn unknown(b: &mut B, rng: &mut Rng) -> &'static str {
    if rng.chance(1, 2) {
        b.i(call(7)).i(movr(6, 0));
        "rand"
    } else {
        b.i(ldx(Sz::W, 6, 1, 0));
        "len"
    }
}

/// A step that bounds r6 (and, rsh, mod by a constant).
fn bounding_alu(b: &mut B, rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => {
            let m = rng.pick(&[0x0f, 0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 7, 3]);
            b.i(alu64i(Op::And, 6, m));
            format!("And_{m}")
        }
        1 => {
            let k = rng.range(20, 40) as i32;
            b.i(alu64i(Op::Rsh, 6, k));
            format!("Rsh_{k}")
        }
        _ => {
            let k = rng.range(1, 600) as i32;
            b.i(alu64i(Op::Mod, 6, k));
            format!("Mod_{k}")
        }
    }
}

/// One random ALU step on r6; returns its text for the case name.
fn random_alu(b: &mut B, rng: &mut Rng) -> String {
    let op = rng.pick(&[
        Op::And,
        Op::And,
        Op::Rsh,
        Op::Mod,
        Op::Add,
        Op::Sub,
        Op::Lsh,
        Op::Or,
        Op::Mul,
        Op::Arsh,
        Op::Xor,
        Op::Div,
    ]);
    let imm = match op {
        Op::And => rng.pick(&[0x0f, 0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 7, 3]),
        Op::Rsh | Op::Arsh | Op::Lsh => rng.range(1, 60) as i32,
        Op::Mod | Op::Div => rng.range(1, 200) as i32,
        Op::Mul => rng.range(1, 8) as i32,
        _ => rng.range(-32, 64) as i32,
    };
    let w32 = rng.chance(1, 5);
    if w32 {
        let imm = if matches!(op, Op::Rsh | Op::Arsh | Op::Lsh) { imm % 32 } else { imm };
        b.i(alu32i(op, 6, imm));
        format!("{op:?}32_{imm}")
    } else {
        b.i(alu64i(op, 6, imm));
        format!("{op:?}_{imm}")
    }
}

/// Unknown scalar through ALU ops, then used as a stack or map value offset.
pub fn scalar_range(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "scalar_range";
    let mut out = Vec::new();
    for i in 0..n {
        let mut b = B::new();
        b.i(movr(9, 1));
        let src = unknown(&mut b, rng);
        let steps = rng.range(0, 2);
        let mut ops = vec![bounding_alu(&mut b, rng)];
        ops.extend((0..steps).map(|_| random_alu(&mut b, rng)));
        let use_map = rng.chance(1, 2);
        let mut maps = Vec::new();
        let udesc = if use_map {
            let vs = rng.pick(&[16u32, 64, 256, 512]);
            maps.push(MapSpec::array(vs, 1, "vals"));
            b.all(map_lookup(0, -8)).j(jmpi(Cond::Eq, 0, 0, 0), "out");
            b.i(alu64r(Op::Add, 0, 6)).i(ldx(Sz::B, 1, 0, 0));
            format!("map{vs}")
        } else {
            let s = rng.pick(&[16, 64, 256, 512]);
            b.i(movr(2, 10)).i(alu64i(Op::Add, 2, -s)).i(alu64r(Op::Add, 2, 6)).i(st(Sz::B, 2, 0, 1));
            format!("stk{s}")
        };
        b.label("out").all(ret0());
        let name = format!("{i:04}_{src}_{}_{udesc}", ops.join("_"));
        out.push(Case::new(fam, name, ProgType::SocketFilter, b.build()).with_maps(maps));
    }
    out
}

/// Unknown scalar bounded by conditional jumps (64 and 32-bit, signed and unsigned), then used.
pub fn branch_refine(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "branch_refine";
    let mut out = Vec::new();
    for i in 0..n {
        let mut b = B::new();
        let src = unknown(&mut b, rng);
        let size = rng.pick(&[8, 16, 64, 128]);
        let nchecks = rng.range(1, 2);
        let mut descs = Vec::new();
        for _ in 0..nchecks {
            let proper = rng.chance(1, 2);
            let (c, exit_taken) = if proper {
                rng.pick(&[(Cond::Gt, true), (Cond::Ge, true), (Cond::Lt, false), (Cond::Le, false)])
            } else {
                // Exit on the branch or fall through to exit: either side may carry the bound.
                (rng.pick(&CONDS), rng.chance(1, 2))
            };
            let k = match rng.below(4) {
                0 => size,
                1 => size - 1,
                2 => size + 1,
                _ => rng.range(-4, 2 * size as i64) as i32,
            };
            let j32 = rng.chance(1, 4);
            if exit_taken {
                b.j(if j32 { jmp32i(c, 6, k, 0) } else { jmpi(c, 6, k, 0) }, "out");
            } else {
                b.j(if j32 { jmp32i(c, 6, k, 0) } else { jmpi(c, 6, k, 0) }, "body_ok");
                b.j(ja(0), "out");
            }
            if !exit_taken {
                // "body_ok" is defined once; a second check keeps falling into it.
                descs.push(format!("{c:?}{}_{k}_t", if j32 { "32" } else { "" }));
                break;
            }
            descs.push(format!("{c:?}{}_{k}", if j32 { "32" } else { "" }));
        }
        b.label("body_ok");
        b.i(movr(2, 10)).i(alu64i(Op::Add, 2, -size)).i(alu64r(Op::Add, 2, 6));
        if rng.chance(1, 2) {
            b.i(st(Sz::B, 2, 0, 1));
        } else {
            b.i(st(Sz::B, 10, -(size as i16), 0)).i(ldx(Sz::B, 0, 2, 0));
        }
        b.label("out").all(ret0());
        let name = format!("{i:04}_{src}_s{size}_{}", descs.join("_"));
        out.push(Case::new(fam, name, ProgType::SocketFilter, b.build()));
    }
    out
}

/// 32-bit ALU, zero extension and sign extension (movsx, ldsx) feeding a bounded use.
pub fn alu32(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "alu32";
    let mut out = Vec::new();
    for i in 0..n {
        let mut b = B::new();
        let src = unknown(&mut b, rng);
        let mut descs = Vec::new();
        match rng.below(5) {
            0 => {
                let m = rng.pick(&[0xff, 0x3f, 0x7f, -1, 0x7fff_ffff]);
                b.i(alu32i(Op::And, 6, m));
                descs.push(format!("and32_{m}"));
            }
            1 => {
                let off = rng.pick(&[8i16, 16, 32]);
                b.i(ins(0xbf, 6, 6, off, 0));
                descs.push(format!("movsx64_{off}"));
            }
            2 => {
                let off = rng.pick(&[8i16, 16]);
                b.i(ins(0xbc, 6, 6, off, 0));
                descs.push(format!("movsx32_{off}"));
            }
            3 => {
                // Sign-extending load of a stored byte/half/word.
                let (code, name) =
                    rng.pick(&[(0x91u8, "ldsxb"), (0x89, "ldsxh"), (0x81, "ldsxw"), (0x71, "ldxb")]);
                b.i(stx(Sz::Dw, 10, 6, -8)).i(ins(code, 6, 10, -8, 0));
                descs.push(name.to_string());
            }
            _ => {
                let sh = rng.range(1, 31) as i32;
                b.i(alu32i(Op::Rsh, 6, sh));
                descs.push(format!("rsh32_{sh}"));
            }
        }
        if rng.chance(1, 2) {
            let k = rng.pick(&[0, 1, 8, 100]);
            b.i(alu32i(Op::Add, 6, k));
            descs.push(format!("add32_{k}"));
        }
        let size = rng.pick(&[64, 256, 512]);
        if rng.chance(1, 2) {
            let k = rng.pick(&[size, size - 1, 0x7fff_ffff]);
            b.j(jmp32i(Cond::Ge, 6, k, 0), "out");
            descs.push(format!("jge32_{k}"));
        }
        b.i(movr(2, 10)).i(alu64i(Op::Add, 2, -size)).i(alu64r(Op::Add, 2, 6)).i(st(Sz::B, 2, 0, 1));
        b.label("out").all(ret0());
        let name = format!("{i:04}_{src}_{}_s{size}", descs.join("_"));
        out.push(Case::new(fam, name, ProgType::SocketFilter, b.build()));
    }
    out
}

/// Division and modulo by constants (zero included), signed forms, shifts by in and out of range
/// immediates, and register shifts.
pub fn div_shift(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "div_shift";
    let mut out = Vec::new();
    let shifts = [Op::Lsh, Op::Rsh, Op::Arsh];
    for op in shifts {
        for w in [32, 64] {
            for imm in [-1, 0, 1, w - 1, w, w + 1, 2 * w, 255] {
                let x = if w == 32 { alu32i(op, 0, imm) } else { alu64i(op, 0, imm) };
                let p = vec![mov(0, 5), x, exit()];
                out.push(Case::new(fam, format!("{op:?}{w}_{imm}"), ProgType::SocketFilter, p));
            }
        }
    }
    for op in [Op::Div, Op::Mod] {
        for w in [32, 64] {
            for off in [0i16, 1, 2] {
                for imm in [0, 1, -1, 7] {
                    let code = if w == 32 { 0x04 } else { 0x07 } | op as u8;
                    let p = vec![mov(0, 100), ins(code, 0, 0, off, imm), exit()];
                    out.push(Case::new(fam, format!("{op:?}{w}_off{off}_{imm}"), ProgType::SocketFilter, p));
                }
            }
        }
    }
    while out.len() < n {
        let i = out.len();
        let op = rng.pick(&[Op::Lsh, Op::Rsh, Op::Arsh, Op::Div, Op::Mod, Op::Neg, Op::Mul]);
        let w32 = rng.chance(1, 2);
        let reg_form = rng.chance(1, 2);
        let mut b = B::new();
        b.i(mov(0, rng.range(-100, 100) as i32));
        let desc = if reg_form {
            let amt = rng.range(-2, 70) as i32;
            b.i(mov(2, amt));
            b.i(if w32 { alu32r(op, 0, 2) } else { alu64r(op, 0, 2) });
            format!("reg_{amt}")
        } else {
            let amt = rng.range(-2, 70) as i32;
            let src = if rng.chance(1, 5) { rng.range(1, 3) as u8 } else { 0 }; // reserved src field
            let code = if w32 { 0x04 } else { 0x07 } | op as u8;
            b.i(ins(code, 0, src, 0, amt));
            format!("imm_{amt}_src{src}")
        };
        b.i(exit());
        let name = format!("{i:04}_{op:?}{}_{desc}", if w32 { 32 } else { 64 });
        out.push(Case::new(fam, name, ProgType::SocketFilter, b.build()));
    }
    out
}
