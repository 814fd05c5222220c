//! BTF pointers: tp_btf programs on `sched_switch` and `task_newtask` (trusted `task_struct`
//! arguments), task iterators (a nullable task), fentry (refused before verification by a
//! kernel without trampolines): argument bounds, loads through `PTR_TO_BTF_ID` at valid,
//! padding, nested, array and out-of-bounds offsets, writes, variable offsets, walked pointer
//! fields, NULL checks, `bpf_get_current_task_btf` and the socket casts.
//!
//! Field offsets are those of the capture kernel's `struct task_struct` (its BTF digest is in
//! every record; on another kernel the family is skipped, never re-targeted).

use kbpf_isa::BpfFunc as F;
use kbpf_isa::RawInsn;

use super::asm::*;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;

const FAM: &str = "btf_ptr";

/// `BPF_TRACE_RAW_TP`, `BPF_TRACE_FENTRY`, `BPF_TRACE_FEXIT`, `BPF_TRACE_ITER`.
const RAW_TP: u32 = 23;
const FENTRY: u32 = 24;
const FEXIT: u32 = 25;
const ITER: u32 = 28;
/// `BPF_MODIFY_RETURN`, `BPF_LSM_MAC`.
const MODIFY_RETURN: u32 = 26;
const LSM_MAC: u32 = 27;

/// `struct task_struct` of the capture kernel: size and (offset, size) of some fields.
const TASK_SIZE: i64 = 3264;
const TASK_FIELDS: [(i64, i64); 14] = [
    (24, 4),   // __state
    (32, 8),   // stack
    (44, 4),   // flags
    (52, 4),   // on_cpu
    (108, 4),  // prio
    (128, 8),  // se (nested sched_entity)
    (1136, 8), // mm
    (1264, 4), // pid
    (1268, 4), // tgid
    (1280, 8), // real_parent (__rcu)
    (1328, 8), // group_leader
    (1736, 8), // cred (__rcu)
    (1752, 1), // comm[16]
    (1824, 8), // files
];
/// Pointer fields of `task_struct` a program may walk.
const TASK_PTRS: [i64; 5] = [1280, 1288, 1328, 1136, 1736];

/// (attach target, argument count, argument slots holding a `task_struct *`).
const TPS: [(&str, i64, &[i64]); 3] = [
    ("btf_trace_sched_switch", 4, &[1, 2]),
    ("btf_trace_task_newtask", 2, &[0]),
    ("btf_trace_sched_process_fork", 2, &[0, 1]),
];

fn tp(name: String, target: &str, p: Vec<RawInsn>) -> Case {
    Case::new(FAM, name, ProgType::Tracing, p).with_attach(RAW_TP, Some(target))
}

/// The family.
pub fn btf_ptr(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    // argument bounds of each tracepoint, every size
    for (target, nargs, _) in TPS {
        let short = target.trim_start_matches("btf_trace_");
        for k in 0..=nargs {
            for sz in [Sz::Dw, Sz::W] {
                let p = vec![ldx(sz, 0, 1, (k * 8) as i16), mov(0, 0), exit()];
                out.push(tp(format!("arg_{short}_{k}_{}", sz.bytes()), target, p));
            }
        }
        out.push(tp(format!("ctx_write_{short}"), target, vec![st(Sz::Dw, 1, 0, 0), mov(0, 0), exit()]));
    }
    // iterators: `ctx->task` may be NULL
    for checked in [false, true] {
        let mut p = vec![ldx(Sz::Dw, 2, 1, 8)];
        if checked {
            p.push(jmpi(Cond::Eq, 2, 0, 1));
        }
        p.push(ldx(Sz::W, 3, 2, 1264));
        p.extend(ret0());
        let c = Case::new(FAM, format!("iter_task_pid_checked_{checked}"), ProgType::Tracing, p);
        out.push(c.with_attach(ITER, Some("bpf_iter_task")));
    }
    for ret in [0, 1, 2] {
        let c = Case::new(FAM, format!("iter_task_ret_{ret}"), ProgType::Tracing, vec![mov(0, ret), exit()]);
        out.push(c.with_attach(ITER, Some("bpf_iter_task")));
    }
    // fentry/fexit: a kernel without trampolines refuses them before the walk
    for (at, tag) in [(FENTRY, "fentry"), (FEXIT, "fexit")] {
        for f in ["bpf_fentry_test1", "bpf_fentry_test7"] {
            let p = vec![ldx(Sz::Dw, 0, 1, 0), mov(0, 0), exit()];
            out.push(Case::new(FAM, format!("{tag}_{f}"), ProgType::Tracing, p).with_attach(at, Some(f)));
        }
    }
    // fmod_ret and lsm need trampolines too
    for (ty, at, f) in [
        (ProgType::Tracing, MODIFY_RETURN, "bpf_modify_return_test"),
        (ProgType::Lsm, LSM_MAC, "bpf_lsm_file_open"),
    ] {
        let c = Case::new(FAM, format!("{}_{f}", ty.name()), ty, vec![mov(0, 0), exit()]);
        out.push(c.with_attach(at, Some(f)));
    }
    while out.len() < n {
        let i = out.len();
        let (target, _, tasks) = rng.pick(&TPS);
        let short = target.trim_start_matches("btf_trace_");
        let arg = rng.pick(tasks);
        let (desc, p) = body(rng, arg);
        out.push(tp(format!("{i:04}_{short}_{desc}"), target, p));
    }
    out
}

/// A random use of the task pointer in argument slot `arg`.
fn body(rng: &mut Rng, arg: i64) -> (String, Vec<RawInsn>) {
    let mut p = vec![ldx(Sz::Dw, 6, 1, (arg * 8) as i16)];
    let sz = rng.pick(&SIZES);
    let desc = match rng.below(9) {
        // a field, at its offset or near it
        0 | 1 => {
            let (off, fsz) = rng.pick(&TASK_FIELDS);
            let (off, sz) =
                if rng.chance(1, 2) { (off, Sz::of(fsz as i32)) } else { (off + rng.range(-2, 6), sz) };
            p.push(ldx(sz, 0, 6, off as i16));
            format!("ld_{off}_{}", sz.bytes())
        }
        // near the end of the struct and past it, and negative
        2 => {
            let off =
                rng.pick(&[TASK_SIZE - 8, TASK_SIZE - 4, TASK_SIZE - 1, TASK_SIZE, TASK_SIZE + 8, -8, -1]);
            p.push(ldx(sz, 0, 6, off as i16));
            format!("edge_{off}_{}", sz.bytes())
        }
        // writes are refused
        3 => {
            let (off, _) = rng.pick(&TASK_FIELDS);
            if rng.chance(1, 2) {
                p.push(st(sz, 6, off as i16, 1));
            } else {
                p.push(stx(sz, 6, 1, off as i16));
            }
            format!("write_{off}_{}", sz.bytes())
        }
        // a variable offset
        4 => {
            p.push(ldx(Sz::Dw, 2, 1, 0));
            p.push(alu64i(Op::And, 2, rng.pick(&[0, 7, 8, 255])));
            p.push(alu64r(Op::Add, 6, 2));
            p.push(ldx(Sz::W, 0, 6, 1264));
            "varoff".into()
        }
        // a walked pointer field, then a load through it (with or without a NULL check)
        5 | 6 => {
            let f = rng.pick(&TASK_PTRS);
            p.push(ldx(Sz::Dw, 7, 6, f as i16));
            let checked = rng.chance(1, 2);
            if checked {
                p.push(jmpi(Cond::Eq, 7, 0, 1));
            }
            let off = rng.pick(&[0i64, 24, 1264, 8, 4]);
            p.push(ldx(Sz::W, 0, 7, off as i16));
            format!("walk_{f}_{off}_{checked}")
        }
        // the current task, typed
        7 => {
            p.push(call(F::GetCurrentTaskBtf as i32));
            let (off, fsz) = rng.pick(&TASK_FIELDS);
            p.push(ldx(Sz::of(fsz as i32), 0, 0, off as i16));
            format!("current_{off}")
        }
        // pointer arithmetic and helpers that take BTF pointers
        _ => match rng.below(4) {
            0 => {
                p.push(movr(1, 6));
                p.push(call(F::SkcToTcpSock as i32));
                "skc_cast_task".into()
            }
            1 => {
                p.push(alu64i(Op::Add, 6, rng.pick(&[8, 1264, -8, 4000])));
                p.push(ldx(Sz::W, 0, 6, 0));
                "ptr_add".into()
            }
            2 => {
                // a task pointer where the helper wants memory
                p.push(movr(1, 6));
                p.push(mov(2, 8));
                p.push(movr(3, 6));
                p.push(call(F::ProbeReadKernel as i32));
                "probe_read_into_task".into()
            }
            _ => {
                p.push(movr(0, 6));
                p.push(exit());
                return ("ret_ptr".into(), p);
            }
        },
    };
    p.extend(ret0());
    (desc, p)
}
