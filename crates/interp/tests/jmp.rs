//! JMP and JMP32: every condition against an independent oracle, ja, gotol, may_goto.

mod common;
use common::{asm, run, run_insns};
use kbpf_interp::BPF_MAX_LOOPS;
use kbpf_isa::{AluOp, Insn, Reg, Src, Width};

const CONDS: [&str; 11] = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"];

fn oracle(cond: &str, w32: bool, a: u64, b: u64) -> bool {
    let (ua, ub) = if w32 { (a as u32 as u64, b as u32 as u64) } else { (a, b) };
    let (sa, sb) = if w32 { (a as u32 as i32 as i64, b as u32 as i32 as i64) } else { (a as i64, b as i64) };
    match cond {
        "jeq" => ua == ub,
        "jne" => ua != ub,
        "jgt" => ua > ub,
        "jge" => ua >= ub,
        "jlt" => ua < ub,
        "jle" => ua <= ub,
        "jsgt" => sa > sb,
        "jsge" => sa >= sb,
        "jslt" => sa < sb,
        "jsle" => sa <= sb,
        _ => ua & ub != 0,
    }
}

fn taken(cond: &str, w32: bool, a: u64, operand: &str) -> bool {
    let suffix = if w32 { "32" } else { "" };
    let src =
        format!("lddw %r1, {a:#x}\nmov %r0, 0\n{cond}{suffix} %r1, {operand}, +1\nexit\nmov %r0, 1\nexit");
    run(&src) == 1
}

#[test]
fn register_conditions() {
    let vals = [0u64, 1, 2, u64::MAX, 0x1_0000_0000, 0xffff_ffff, 0x7fff_ffff, 0x8000_0000, 1 << 63];
    for cond in CONDS {
        for w32 in [false, true] {
            for &a in &vals {
                for &b in &vals {
                    let suffix = if w32 { "32" } else { "" };
                    let src = format!(
                        "lddw %r1, {a:#x}\nlddw %r2, {b:#x}\nmov %r0, 0\n{cond}{suffix} %r1, %r2, +1\nexit\nmov %r0, 1\nexit"
                    );
                    assert_eq!(run(&src) == 1, oracle(cond, w32, a, b), "{cond}{suffix} {a:#x} {b:#x}");
                }
            }
        }
    }
}

#[test]
fn immediate_conditions() {
    let vals = [0u64, 1, 2, u64::MAX, 0x1_0000_0000, 0xffff_ffff, 0x7fff_ffff, 0x8000_0000, 1 << 63];
    let imms = [0i32, 1, 2, -1, i32::MIN, i32::MAX];
    for cond in CONDS {
        for w32 in [false, true] {
            for &a in &vals {
                for &imm in &imms {
                    // The immediate is sign-extended for 64-bit comparisons.
                    let b = imm as i64 as u64;
                    assert_eq!(
                        taken(cond, w32, a, &imm.to_string()),
                        oracle(cond, w32, a, b),
                        "{cond} w32={w32} {a:#x} {imm}"
                    );
                }
            }
        }
    }
}

#[test]
fn unconditional_jumps() {
    assert_eq!(run("mov %r0, 1\nja skip\nmov %r0, 2\nskip:\nexit"), 1);
    assert_eq!(run("mov %r0, 1\nja32 skip\nmov %r0, 2\nskip:\nexit"), 1);
    assert_eq!(run("mov %r0, 0\nja +1\nexit\nadd %r0, 1\njlt %r0, 10, -2\nexit"), 10);
    assert_eq!(run("mov %r0, 0\nloop:\nadd %r0, 1\njlt32 %r0, 100, loop\nexit"), 100);
}

/// `r0 = 0; loop: may_goto end; r0 += 1; goto loop; end: exit`.
fn may_goto_loop() -> Vec<Insn> {
    vec![
        Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(0) },
        Insn::MayGoto { off: 2 },
        Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Src::Imm(1) },
        Insn::Ja { off: -3 },
        Insn::Exit,
    ]
}

#[test]
fn may_goto_falls_through_bpf_max_loops_times() {
    assert_eq!(run_insns(may_goto_loop(), &mut []).unwrap(), BPF_MAX_LOOPS);
}

#[test]
fn may_goto_counter_is_per_frame() {
    // main exhausts its counter, then calls f, whose fresh counter lets its may_goto fall
    // through; back in main the counter is still exhausted, so main's next may_goto jumps.
    let mut p = asm("mov %r6, 0\nja +0\nadd %r6, 1\nja -3\ncall local f\nmov %r7, %r0\nja +0\nmov %r7, 99\n\
         mov %r0, %r6\nadd %r0, %r7\nexit\nf:\nmov %r0, 0\nja +0\nmov %r0, 1000\nexit");
    p[1] = Insn::MayGoto { off: 2 };
    p[6] = Insn::MayGoto { off: 1 };
    p[12] = Insn::MayGoto { off: 1 };
    assert_eq!(run_insns(p, &mut []).unwrap(), BPF_MAX_LOOPS + 1000);
}
