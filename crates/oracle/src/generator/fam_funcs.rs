//! Family `funcs`: programs whose subprograms carry BTF prototypes (`.func` declarations sent
//! as program BTF + `func_info`): global functions verified on their own with scalar
//! arguments, static ones in line, the checks at the call and at the global's exit, and
//! random mixes of both.

use kbpf_isa::asm::{NoKfuncs, assemble_module_slots};

use super::Rng;
use crate::btf::CaseFunc;
use crate::case::Case;
use crate::load::ProgType;

const FAM: &str = "funcs";

fn case(name: &str, src: &str) -> Case {
    let m = assemble_module_slots(src, &NoKfuncs).unwrap_or_else(|e| panic!("{name}: {e}"));
    let funcs = m
        .funcs
        .iter()
        .map(|f| CaseFunc { pc: f.pc, name: f.name.clone(), nargs: f.nargs, global: f.global })
        .collect();
    Case::new(FAM, name, ProgType::SocketFilter, m.slots).with_funcs(funcs)
}

/// Fixed programs, one per rule.
const FIXED: &[(&str, &str)] = &[
    ("global_ok", "r1 = 1\nr2 = 2\ncall g\nexit\n.func g, 2, global\ng: r0 = r1\nr0 += r2\nexit"),
    ("static_ok", "r1 = 1\nr2 = 2\ncall g\nexit\n.func g, 2\ng: r0 = r1\nr0 += r2\nexit"),
    (
        "global_r0_unknown",
        "r1 = 1\ncall g\nr1 = r10\nr1 += r0\nr0 = *(u8 *)(r1 -1)\nexit\n.func g, 1, global\ng: r0 = 1\nexit",
    ),
    (
        "static_ptr_arg",
        "*(u64 *)(r10 -8) = 7\nr1 = r10\nr1 += -8\ncall g\nexit\n.func g, 1\ng: r0 = *(u64 *)(r1 +0)\nexit",
    ),
    ("static_uninit_arg", "r1 = 0\ncall g\nexit\n.func g, 2\ng: r0 = r1\nexit"),
    (
        "global_bounded_loop_ok",
        "r1 = 4\ncall g\nexit\n.func g, 1, global\ng: r0 = 0\nr1 &= 7\nloop: if r1 == 0 goto out\nr0 += r1\nr1 -= 1\ngoto loop\nout: exit",
    ),
    (
        "global_precise_r6",
        "r6 = 4\nr1 = 0\ncall g\nr1 = r10\nr1 += -8\nr1 += r6\n*(u8 *)(r1 -1) = 0\nr0 = 0\nexit\n.func g, 1, global\ng: r0 = 0\nexit",
    ),
    (
        "global_in_loop",
        "r6 = 0\nloop: r1 = r6\ncall g\nr6 += 1\nif r6 < 3 goto loop\nr0 = 0\nexit\n.func g, 1, global\ng: r0 = r1\nexit",
    ),
    (
        "static_r0_known",
        "r1 = 1\ncall g\nr1 = r10\nr1 += r0\nr0 = *(u8 *)(r1 -2)\nr0 = 0\nexit\n.func g, 1\ng: r0 = -1\nexit",
    ),
    (
        "global_deref_scalar_arg",
        "r1 = r10\nr1 += -8\ncall g\nexit\n.func g, 1, global\ng: r0 = *(u64 *)(r1 +0)\nexit",
    ),
    (
        "global_ptr_into_scalar",
        "*(u64 *)(r10 -8) = 0\nr1 = r10\nr1 += -8\ncall g\nexit\n.func g, 1, global\ng: r0 = r1\nexit",
    ),
    ("global_ctx_into_scalar", "call g\nexit\n.func g, 1, global\ng: r0 = 0\nexit"),
    ("global_returns_ptr", "r1 = 0\ncall g\nr0 = 0\nexit\n.func g, 1, global\ng: r0 = r10\nexit"),
    ("global_no_r0", "r1 = 0\ncall g\nexit\n.func g, 1, global\ng: exit"),
    ("global_uninit_arg", "r1 = 0\ncall g\nexit\n.func g, 2, global\ng: r0 = r2\nexit"),
    ("global_reads_undeclared_reg", "r1 = 0\nr2 = 0\ncall g\nexit\n.func g, 1, global\ng: r0 = r2\nexit"),
    ("global_clobbers_caller_regs", "r1 = 0\ncall g\nr0 = r1\nexit\n.func g, 1, global\ng: r0 = 0\nexit"),
    (
        "global_keeps_callee_saved",
        "r6 = 7\nr1 = 0\ncall g\nr0 = r6\nexit\n.func g, 1, global\ng: r6 = 1\nr0 = 0\nexit",
    ),
    (
        "global_chain",
        "r1 = 3\ncall g1\nexit\n.func g1, 1, global\ng1: call g2\nexit\n.func g2, 1, global\ng2: r0 = r1\nr0 *= 2\nexit",
    ),
    (
        "global_chain_bad",
        "r1 = 3\ncall g1\nexit\n.func g1, 1, global\ng1: call g2\nexit\n.func g2, 1, global\ng2: r0 = *(u32 *)(r1 +0)\nexit",
    ),
    (
        "global_calls_static",
        "r1 = 3\ncall g\nexit\n.func g, 1, global\ng: r2 = r1\ncall s\nexit\n.func s, 2\ns: r0 = r1\nr0 += r2\nexit",
    ),
    (
        "static_calls_global",
        "r1 = 3\ncall s\nexit\n.func s, 1\ns: call g\nr0 += 1\nexit\n.func g, 1, global\ng: r0 = r1\nexit",
    ),
    (
        "global_called_twice",
        "r1 = 1\ncall g\nr6 = r0\nr1 = 2\ncall g\nr0 += r6\nexit\n.func g, 1, global\ng: r0 = r1\nexit",
    ),
    (
        "global_dead_call",
        "r1 = 0\nif r1 != 0 goto l\nr0 = 0\nexit\nl: call g\nexit\n.func g, 1, global\ng: r0 = *(u64 *)(r1 +0)\nexit",
    ),
    (
        "global_stack_use",
        "r1 = 5\ncall g\nexit\n.func g, 1, global\ng: *(u64 *)(r10 -16) = r1\nr0 = *(u64 *)(r10 -16)\nexit",
    ),
    ("global_stack_uninit", "r1 = 5\ncall g\nexit\n.func g, 1, global\ng: r0 = *(u64 *)(r10 -16)\nexit"),
    (
        "global_bounded_loop",
        "r1 = 4\ncall g\nexit\n.func g, 1, global\ng: r0 = 0\nif r1 > 8 goto out\nloop: r0 += r1\nr1 -= 1\nif r1 != 0 goto loop\nout: exit",
    ),
    (
        "global_unbounded_loop",
        "r1 = 4\ncall g\nexit\n.func g, 1, global\ng: r0 = 0\nloop: r0 += 1\nif r0 != r1 goto loop\nexit",
    ),
    (
        "global_arg_bounds_unknown",
        "r1 = 4\ncall g\nexit\n.func g, 1, global\ng: r2 = r10\nr2 += r1\nr0 = 0\nexit",
    ),
    (
        "global_arg_bounds_checked",
        "r1 = 4\ncall g\nexit\n.func g, 1, global\ng: r0 = 0\nif r1 > 7 goto out\nr2 = r10\nr2 += -8\nr2 += r1\n*(u8 *)(r2 +0) = 1\nout: exit",
    ),
    (
        "global_five_args",
        "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\ncall g\nexit\n.func g, 5, global\ng: r0 = r5\nr0 += r1\nexit",
    ),
    (
        "global_six_params",
        "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\ncall g\nexit\n.func g, 6, global\ng: r0 = r5\nexit",
    ),
    (
        "static_six_params",
        "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\ncall g\nexit\n.func g, 6\ng: r0 = r5\nexit",
    ),
    ("global_zero_params", "call g\nexit\n.func g, 0, global\ng: r0 = 9\nexit"),
    ("global_zero_params_reads_r1", "call g\nexit\n.func g, 0, global\ng: r0 = r1\nexit"),
    (
        "global_r0_pointer_math_ok",
        "r1 = 2\ncall g\nr0 &= 7\nr1 = r10\nr1 += -8\nr1 += r0\n*(u8 *)(r1 +0) = 0\nr0 = 0\nexit\n.func g, 1, global\ng: r0 = r1\nexit",
    ),
    (
        "global_bad_after_good",
        "r1 = 1\ncall g1\nr1 = 1\ncall g2\nexit\n.func g1, 1, global\ng1: r0 = r1\nexit\n.func g2, 1, global\ng2: r0 = r10\nexit",
    ),
    ("global_helper_call", "r1 = 1\ncall g\nexit\n.func g, 1, global\ng: call bpf_get_prandom_u32\nexit"),
    (
        "global_map_lookup_null",
        "r1 = 1\ncall g\nexit\n.func g, 1, global\ng: *(u64 *)(r10 -8) = r1\nr0 = 0\nexit",
    ),
];

/// Random mixes: a main calling one to three functions, each static or global, each body a
/// template that is safe or not depending on the arguments it gets.
fn random(rng: &mut Rng, k: usize) -> Case {
    const BODIES: &[&str] = &[
        "r0 = r1\nr0 += 1\nexit",
        "r0 = 0\nif r1 > 7 goto +3\nr2 = r10\nr2 += -8\nr2 += r1\nexit",
        "r0 = 0\nif r1 > 7 goto +4\nr2 = r10\nr2 += -8\nr2 += r1\n*(u8 *)(r2 +0) = 1\nexit",
        "*(u64 *)(r10 -8) = r1\nr0 = *(u64 *)(r10 -8)\nexit",
        "r0 = *(u64 *)(r10 -8)\nexit",
        "r0 = r1\nr0 &= 3\nexit",
        "r0 = r10\nexit",
        "call bpf_get_prandom_u32\nexit",
        "r0 = r2\nexit",
    ];
    let nfun = 1 + rng.below(3) as usize;
    let mut main = String::new();
    let mut funcs = String::new();
    for i in 0..nfun {
        let arg: i64 = match rng.below(4) {
            0 => 3,
            1 => 100,
            2 => -1,
            _ => 0,
        };
        if rng.below(5) == 0 {
            main.push_str("r1 = r10\nr1 += -8\n");
        } else {
            main.push_str(&format!("r1 = {arg}\n"));
        }
        if rng.below(3) == 0 {
            main.push_str("r2 = 1\n");
        }
        main.push_str(&format!("call f{i}\n"));
        if rng.below(2) == 0 {
            main.push_str("r0 &= 7\nr1 = r10\nr1 += -8\nr1 += r0\nr0 = *(u8 *)(r1 +0)\n");
        }
        let global = if rng.below(3) == 0 { "" } else { ", global" };
        let nargs = 1 + rng.below(2);
        let body = BODIES[rng.below(BODIES.len() as u64) as usize];
        funcs.push_str(&format!(".func f{i}, {nargs}{global}\nf{i}:\n{body}\n"));
    }
    main.insert_str(0, "*(u64 *)(r10 -8) = 0\n");
    main.push_str("r0 = 0\nexit\n");
    case(&format!("mix_{k}"), &format!("{main}{funcs}"))
}

/// The fixed programs plus `n` random mixes.
pub fn funcs(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut v: Vec<Case> = FIXED.iter().map(|(name, src)| case(name, src)).collect();
    for k in 0..n.saturating_sub(v.len()) {
        v.push(random(rng, k));
    }
    v
}
