//! Control-flow families: CFG shape errors, bounded loops and may_goto, bpf-to-bpf calls.

use kbpf_isa::RawInsn;

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;

/// A structured program (forward jumps only, r0 set on every path), then one mutation:
/// dead code, jump out of range, back-edge, missing exit, jump into ld_imm64, r0 unset on a path.
pub fn cfg(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "cfg";
    let mut out = Vec::new();
    for i in 0..n {
        let len = rng.range(3, 9) as usize;
        let mut p: Vec<RawInsn> = vec![call(7)];
        p.push(mov(0, 1));
        for k in 0..len {
            let remaining = (len - k) as i64;
            match rng.below(4) {
                0 => p.push(jmpi(
                    rng.pick(&CONDS),
                    0,
                    rng.range(0, 9) as i32,
                    rng.range(0, remaining - 1) as i16,
                )),
                1 => p.push(alu64i(Op::Add, 0, rng.range(1, 5) as i32)),
                2 => p.push(mov(rng.pick(&[2, 3, 4]), rng.range(0, 9) as i32)),
                _ => p.push(ja(if rng.chance(1, 5) { rng.range(0, remaining - 1) as i16 } else { 0 })),
            }
        }
        p.push(exit());
        let m = rng.below(9);
        let desc = match m {
            0 => {
                p.push(mov(0, 2));
                p.push(exit());
                "dead_tail"
            }
            1 => {
                let at = rng.range(2, p.len() as i64 - 2) as usize;
                let far = rng.pick(&[1i16, 2, 10, 100, -100, -3]);
                p[at] = jmpi(Cond::Ne, 0, 3, (p.len() - at) as i16 + far - 1);
                "oob_jump"
            }
            2 => {
                let at = rng.range(2, p.len() as i64 - 2) as usize;
                let back = -(rng.range(1, at as i64 - 1) as i16) - 1;
                p[at] = if rng.chance(1, 2) { ja(back) } else { jmpi(Cond::Gt, 0, 5, back) };
                "back_edge"
            }
            3 => {
                p.pop();
                "no_exit"
            }
            4 => {
                let li = ld_imm64(5, 0x1234_5678_9abc_def0);
                p.insert(2, ja(1));
                p.insert(3, li[0]);
                p.insert(4, li[1]);
                if rng.chance(1, 2) {
                    p[2] = ja(0);
                }
                "ld_imm64_mid"
            }
            5 => {
                p[1] = mov(2, 1);
                "r0_maybe_unset"
            }
            6 => {
                let at = rng.range(2, p.len() as i64 - 2) as usize;
                p[at] = ja(-1);
                "self_loop"
            }
            _ => "ok",
        };
        out.push(Case::new(fam, format!("{i:04}_{desc}"), ProgType::SocketFilter, p));
    }
    out
}

/// Bounded loops with constant trip counts, may_goto loops over unknown bounds, infinite loops,
/// bpf_loop callbacks.
pub fn loops(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "loops";
    let mut out = Vec::new();
    for i in 0..n {
        let kind = rng.below(10);
        let mut b = B::new();
        let desc: String = match kind {
            0..=3 => {
                // Constant trip count: for (r1 = start; r1 <cond> N; r1 += step) r0 += r1.
                let big = rng.chance(1, 40);
                let nmax = if big {
                    rng.pick(&[200_000, 400_000])
                } else {
                    rng.pick(&[1, 2, 3, 10, 64, 100, 500, 2000])
                };
                let step = rng.pick(&[1, 1, 2, 3]);
                let c = rng.pick(&[Cond::Lt, Cond::Le, Cond::Ne, Cond::Slt, Cond::Sle]);
                b.i(mov(0, 0)).i(mov(1, 0)).label("top");
                b.i(alu64r(Op::Add, 0, 1))
                    .i(alu64i(Op::Add, 1, step))
                    .j(jmpi(c, 1, nmax, 0), "top")
                    .i(exit());
                format!("const_{c:?}_{nmax}_step{step}")
            }
            4 | 5 => {
                // may_goto at the head, bound unknown to the verifier.
                let jump_back_cond = rng.chance(1, 2);
                b.i(call(7)).i(movr(6, 0)).i(mov(0, 0)).i(mov(1, 0)).label("top");
                b.j(may_goto(0), "done");
                b.i(alu64r(Op::Add, 0, 1)).i(alu64i(Op::Add, 1, 1));
                if jump_back_cond {
                    b.j(jmpr(Cond::Lt, 1, 6, 0), "top");
                } else {
                    b.j(ja(0), "top");
                }
                b.label("done").i(exit());
                format!("may_goto_{}", if jump_back_cond { "cond" } else { "forever" })
            }
            6 => {
                // Unknown bound without may_goto: explored until the limit (kept rare: slow).
                if rng.chance(1, 6) {
                    b.i(call(7)).i(movr(6, 0)).i(mov(0, 0)).i(mov(1, 0)).label("top");
                    b.i(alu64i(Op::Add, 1, 1)).j(jmpr(Cond::Lt, 1, 6, 0), "top").i(exit());
                    "unknown_bound".to_string()
                } else {
                    // Same shape with the bound masked to a small range: accepted.
                    let mask = rng.pick(&[3, 7, 15, 63]);
                    b.i(call(7))
                        .i(movr(6, 0))
                        .i(alu64i(Op::And, 6, mask))
                        .i(mov(0, 0))
                        .i(mov(1, 0))
                        .label("top");
                    b.i(alu64i(Op::Add, 1, 1)).j(jmpr(Cond::Lt, 1, 6, 0), "top").i(exit());
                    format!("masked_bound_{mask}")
                }
            }
            7 => {
                // Loops the verifier sees as infinite (no state change).
                let form = rng.below(3);
                b.i(mov(0, 0));
                match form {
                    0 => b.label("top").j(ja(0), "top").i(exit()),
                    1 => b.label("top").j(jmpi(Cond::Eq, 0, 0, 0), "top").i(exit()),
                    _ => b.label("top").i(mov(1, 1)).j(jmpi(Cond::Ne, 1, 0, 0), "top").i(exit()),
                };
                format!("infinite_{form}")
            }
            8 if rng.chance(1, 4) => {
                // bpf_loop(nr, callback, ctx, flags) with BPF_PSEUDO_FUNC (needs BTF func_info).
                let nr = rng.pick(&[1, 10, 1000, 1 << 23, 1 << 24]);
                let flags = if rng.chance(1, 5) { 1 } else { 0 };
                let cb_ret = rng.pick(&[0, 1, 2]);
                b.i(mov(1, nr));
                let at = b.len();
                b.all([ins(0x18, 2, 4, 0, 0), ins(0, 0, 0, 0, 0)]);
                b.i(mov(3, 0)).i(mov(4, flags)).i(call(181)).all(ret0());
                let cb = b.len();
                b.i(mov(0, cb_ret)).i(exit());
                let mut p = b.build();
                p[at].imm = (cb - at - 1) as i32;
                out.push(Case::new(
                    fam,
                    format!("{i:04}_bpf_loop_{nr}_f{flags}_r{cb_ret}"),
                    ProgType::SocketFilter,
                    p,
                ));
                continue;
            }
            _ => {
                // Nested constant loops.
                let a = rng.pick(&[2, 5, 10, 30]);
                let c = rng.pick(&[2, 5, 10, 30]);
                b.i(mov(0, 0)).i(mov(1, 0)).label("outer").i(mov(2, 0)).label("inner");
                b.i(alu64i(Op::Add, 0, 1)).i(alu64i(Op::Add, 2, 1)).j(jmpi(Cond::Lt, 2, c, 0), "inner");
                b.i(alu64i(Op::Add, 1, 1)).j(jmpi(Cond::Lt, 1, a, 0), "outer").i(exit());
                format!("nested_{a}x{c}")
            }
        };
        out.push(Case::new(fam, format!("{i:04}_{desc}"), ProgType::SocketFilter, b.build()));
    }
    out
}

/// bpf-to-bpf calls: depth, combined stack size, argument passing, callee-saved registers,
/// recursion, bad targets, returning stack pointers.
pub fn calls(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "calls";
    let mut out = Vec::new();
    const FN: [&str; 11] = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10"];
    for i in 0..n {
        let kind = rng.below(6);
        let mut b = B::new();
        let desc: String = match kind {
            0..=2 => {
                // Chain main -> f1 -> ... -> fd, each frame touching its own stack depth.
                let depth = rng.range(1, 9) as usize;
                let mut used = Vec::new();
                let main_stack = rng.pick(&[0, 8, 64, 256]);
                if main_stack > 0 {
                    b.i(st(Sz::Dw, 10, -(main_stack as i16), 0));
                }
                b.i(mov(1, 1)).call(FN[1]).i(exit());
                used.push(main_stack);
                for d in 1..=depth {
                    let s = rng.pick(&[0, 8, 32, 64, 128, 256, 512]);
                    used.push(s);
                    b.label(FN[d]);
                    if s > 0 {
                        b.i(st(Sz::Dw, 10, -(s as i16), 0));
                    }
                    if d < depth {
                        b.call(FN[d + 1]);
                    } else {
                        b.i(movr(0, 1));
                    }
                    b.i(exit());
                }
                format!("chain{depth}_{}", used.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("_"))
            }
            3 => {
                // Argument and callee-saved register reads.
                let set: Vec<u8> =
                    [1u8, 2, 3, 4, 5, 6].iter().copied().filter(|_| rng.chance(1, 2)).collect();
                let read = rng.pick(&[1u8, 2, 3, 4, 5, 6, 7]);
                for &r in &set {
                    b.i(mov(r, r as i32));
                }
                b.call(FN[1]).i(exit());
                b.label(FN[1]).i(movr(0, read)).i(exit());
                format!("args_{}_read{read}", set.iter().map(|r| r.to_string()).collect::<String>())
            }
            4 => {
                // Stack pointers across frames.
                let form = rng.below(4);
                match form {
                    0 => {
                        // Caller passes its stack; callee writes through it.
                        b.i(movr(1, 10))
                            .i(alu64i(Op::Add, 1, -8))
                            .call(FN[1])
                            .i(ldx(Sz::Dw, 0, 10, -8))
                            .i(exit());
                        b.label(FN[1]).i(st(Sz::Dw, 1, 0, 7)).i(mov(0, 0)).i(exit());
                    }
                    1 => {
                        // Callee returns its own stack pointer.
                        b.call(FN[1]).i(ldx(Sz::Dw, 0, 0, 0)).i(exit());
                        b.label(FN[1])
                            .i(st(Sz::Dw, 10, -8, 0))
                            .i(movr(0, 10))
                            .i(alu64i(Op::Add, 0, -8))
                            .i(exit());
                    }
                    2 => {
                        // Callee returns the caller's pointer back.
                        b.i(st(Sz::Dw, 10, -8, 3)).i(movr(1, 10)).i(alu64i(Op::Add, 1, -8)).call(FN[1]);
                        b.i(ldx(Sz::Dw, 0, 0, 0)).i(exit());
                        b.label(FN[1]).i(movr(0, 1)).i(exit());
                    }
                    _ => {
                        // Callee reads past its caller's pointer.
                        b.i(movr(1, 10)).i(alu64i(Op::Add, 1, -8)).call(FN[1]).i(exit());
                        b.label(FN[1]).i(ldx(Sz::Dw, 0, 1, 8)).i(exit());
                    }
                }
                format!("stackptr_{form}")
            }
            _ => {
                // Bad shapes.
                let form = rng.below(6);
                match form {
                    0 => {
                        // Recursion.
                        b.i(mov(0, 0)).call(FN[1]).i(exit()).label(FN[1]).call(FN[1]).i(exit());
                    }
                    1 => {
                        // Call past the end.
                        b.i(mov(0, 0)).i(call_local(rng.pick(&[5, 100, -10]))).i(exit());
                        out.push(Case::new(
                            fam,
                            format!("{i:04}_bad_target"),
                            ProgType::SocketFilter,
                            b.build(),
                        ));
                        continue;
                    }
                    2 => {
                        // Main falls through into the subprogram.
                        b.i(mov(0, 0)).call(FN[1]).label(FN[1]).i(mov(0, 1)).i(exit());
                    }
                    3 => {
                        // Callee without r0.
                        b.call(FN[1]).i(exit()).label(FN[1]).i(exit());
                    }
                    4 => {
                        // Jump from main into the subprogram body.
                        b.i(call(7)).j(jmpi(Cond::Eq, 0, 0, 0), "inside").call(FN[1]).i(exit());
                        b.label(FN[1]).i(mov(0, 1)).label("inside").i(exit());
                    }
                    _ => {
                        // Callee's last insn not an exit.
                        b.i(mov(0, 0)).call(FN[1]).i(exit()).label(FN[1]).i(mov(0, 1)).i(mov(0, 2));
                    }
                }
                format!("bad_{form}")
            }
        };
        out.push(Case::new(fam, format!("{i:04}_{desc}"), ProgType::SocketFilter, b.build()));
    }
    out
}
