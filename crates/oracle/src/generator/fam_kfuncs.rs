//! kfuncs by name (their BTF ids are resolved at load time): acquire/release pairs, leaked
//! references, releases of pointers that were not acquired, NULL-able returns, trusted-argument
//! rules, the number iterator's life cycle, RCU sections, sleepable-only kfuncs and kfuncs
//! outside a program type's set.

use kbpf_isa::BpfFunc as F;
use kbpf_isa::RawInsn;

use super::asm::*;
use super::rng::Rng;
use crate::case::{Case, KfuncCall};
use crate::load::ProgType;

const FAM: &str = "kfuncs";

/// A program with kfunc calls by name.
#[derive(Default)]
struct P {
    slots: Vec<RawInsn>,
    calls: Vec<KfuncCall>,
}

impl P {
    fn i(&mut self, x: RawInsn) -> &mut P {
        self.slots.push(x);
        self
    }
    fn kf(&mut self, name: &str) -> &mut P {
        self.calls.push(KfuncCall { slot: self.slots.len(), name: name.to_string() });
        self.slots.push(ins(0x85, 0, 2, 0, 0));
        self
    }
    /// `if rX == 0 goto +off`.
    fn if_null(&mut self, r: u8, off: i16) -> &mut P {
        self.i(jmpi(Cond::Eq, r, 0, off))
    }
    fn ret0(&mut self) -> &mut P {
        self.i(mov(0, 0)).i(exit())
    }
}

/// Where a program runs: the context gives a trusted task (tp_btf on `sched_switch`: argument
/// 1), or none (syscall: sleepable; socket_filter: no task kfuncs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Where {
    TpBtf,
    Syscall,
    Socket,
}

impl Where {
    fn tag(self) -> &'static str {
        match self {
            Where::TpBtf => "tp_btf",
            Where::Syscall => "syscall",
            Where::Socket => "socket",
        }
    }

    fn case(self, name: String, p: P) -> Case {
        let c = match self {
            Where::TpBtf => Case::new(FAM, name, ProgType::Tracing, p.slots)
                .with_attach(23, Some("btf_trace_sched_switch")),
            Where::Syscall => Case::new(FAM, name, ProgType::Syscall, p.slots),
            Where::Socket => Case::new(FAM, name, ProgType::SocketFilter, p.slots),
        };
        c.with_kfuncs(p.calls)
    }

    /// `r6 = a task`: the trusted argument, or the current task (a helper's trusted pointer).
    fn task(self, p: &mut P) {
        match self {
            Where::TpBtf => p.i(ldx(Sz::Dw, 6, 1, 8)),
            _ => p.i(call(F::GetCurrentTaskBtf as i32)).i(movr(6, 0)),
        };
    }
}

const WHERE: [Where; 4] = [Where::TpBtf, Where::TpBtf, Where::Syscall, Where::Socket];

/// The family: every scenario in every program type, then random variations.
pub fn kfuncs(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    for w in [Where::TpBtf, Where::Syscall, Where::Socket] {
        for s in 0..SCENARIOS {
            let (desc, p) = scenario(s, w, 0);
            out.push(w.case(format!("{}_{s:02}_{desc}", w.tag()), p));
        }
    }
    while out.len() < n {
        let i = out.len();
        let w = rng.pick(&WHERE);
        let s = rng.below(SCENARIOS);
        let (desc, p) = scenario(s, w, rng.below(4));
        out.push(w.case(format!("{i:04}_{}_{desc}_v", w.tag()), p));
    }
    out
}

const SCENARIOS: u64 = 25;

/// Scenario `s` in `w`; `v` varies it (the iterator bounds, the field walked).
fn scenario(s: u64, w: Where, v: u64) -> (String, P) {
    let mut p = P::default();
    let desc = match s {
        // acquire, check, release
        0 => {
            w.task(&mut p);
            p.i(movr(1, 6)).kf("bpf_task_acquire").if_null(0, 2).i(movr(1, 0)).kf("bpf_task_release");
            "task_acquire_release"
        }
        // acquired and never released
        1 => {
            w.task(&mut p);
            p.i(movr(1, 6)).kf("bpf_task_acquire");
            "task_acquire_leak"
        }
        // released without the NULL check
        2 => {
            w.task(&mut p);
            p.i(movr(1, 6)).kf("bpf_task_acquire").i(movr(1, 0)).kf("bpf_task_release");
            "task_release_unchecked"
        }
        // releasing a pointer that was not acquired
        3 => {
            w.task(&mut p);
            p.i(movr(1, 6)).kf("bpf_task_release");
            "task_release_borrowed"
        }
        // released twice
        4 => {
            w.task(&mut p);
            p.i(movr(1, 6)).kf("bpf_task_acquire").if_null(0, 5).i(movr(7, 0)).i(movr(1, 0));
            p.kf("bpf_task_release").i(movr(1, 7)).kf("bpf_task_release");
            "task_release_twice"
        }
        // a looked-up task used without a NULL check, then with one
        5 | 6 => {
            p.i(mov(1, 1)).kf("bpf_task_from_pid");
            if s == 6 {
                p.if_null(0, 3);
            }
            p.i(ldx(Sz::W, 7, 0, 1264)).i(movr(1, 0)).kf("bpf_task_release");
            if s == 5 { "from_pid_unchecked" } else { "from_pid_checked" }
        }
        // a walked pointer: `real_parent` is RCU-protected, `group_leader` and `mm` are not
        7 => {
            w.task(&mut p);
            let f = [1280i16, 1328, 1288, 1136][v as usize % 4];
            p.i(ldx(Sz::Dw, 1, 6, f))
                .kf("bpf_task_acquire")
                .if_null(0, 2)
                .i(movr(1, 0))
                .kf("bpf_task_release");
            "acquire_walked"
        }
        // a scalar and NULL where a trusted task is wanted
        8 => {
            p.i(mov(1, if v.is_multiple_of(2) { 0 } else { 8 }))
                .kf("bpf_task_acquire")
                .if_null(0, 2)
                .i(movr(1, 0));
            p.kf("bpf_task_release");
            "acquire_scalar"
        }
        // a cpumask created and released, leaked, or used
        9 => {
            p.kf("bpf_cpumask_create").if_null(0, 2).i(movr(1, 0)).kf("bpf_cpumask_release");
            "cpumask_create_release"
        }
        10 => {
            p.kf("bpf_cpumask_create").if_null(0, 1).i(ldx(Sz::Dw, 1, 0, 0));
            "cpumask_leak"
        }
        11 => {
            p.kf("bpf_cpumask_create").if_null(0, 6).i(movr(6, 0)).i(mov(1, v as i32)).i(movr(2, 6));
            p.kf("bpf_cpumask_set_cpu").i(movr(1, 6)).kf("bpf_cpumask_release");
            "cpumask_set_cpu"
        }
        // the number iterator: a whole loop, no destroy, no new, twice new
        12..=15 => {
            let (lo, hi) = [(0, 10), (5, 5), (0, 100), (-1, 3)][v as usize % 4];
            p.i(movr(1, 10)).i(alu64i(Op::Add, 1, -8)).i(mov(2, lo)).i(mov(3, hi));
            if s != 14 {
                p.kf("bpf_iter_num_new");
            }
            if s == 15 {
                p.i(movr(1, 10)).i(alu64i(Op::Add, 1, -8)).i(mov(2, 0)).i(mov(3, 1)).kf("bpf_iter_num_new");
            }
            // loop: r0 = next(&it); if r0 == 0 break; r7 += *r0
            p.i(movr(1, 10)).i(alu64i(Op::Add, 1, -8)).kf("bpf_iter_num_next").if_null(0, 2);
            p.i(ldx(Sz::W, 7, 0, 0)).i(ja(-6));
            if s != 13 {
                p.i(movr(1, 10)).i(alu64i(Op::Add, 1, -8)).kf("bpf_iter_num_destroy");
            }
            ["iter_num_loop", "iter_num_no_destroy", "iter_num_no_new", "iter_num_new_twice"]
                [(s - 12) as usize]
        }
        // iterator on an unaligned or too small slot
        16 => {
            let off = [-4i32, -12, -1, -16][v as usize % 4];
            p.i(movr(1, 10)).i(alu64i(Op::Add, 1, off)).i(mov(2, 0)).i(mov(3, 4)).kf("bpf_iter_num_new");
            p.i(movr(1, 10)).i(alu64i(Op::Add, 1, off)).kf("bpf_iter_num_destroy");
            "iter_num_slot"
        }
        // RCU sections: balanced, unlocked at exit, unmatched unlock, nested
        17 => {
            p.kf("bpf_rcu_read_lock").kf("bpf_rcu_read_unlock");
            "rcu_balanced"
        }
        18 => {
            p.kf("bpf_rcu_read_lock");
            if v % 2 == 1 {
                w.task(&mut p);
            }
            "rcu_unlocked_at_exit"
        }
        19 => {
            p.kf("bpf_rcu_read_unlock");
            "rcu_unmatched_unlock"
        }
        // a sleepable-only kfunc
        20 => {
            p.i(st(Sz::Dw, 10, -8, 0))
                .i(movr(1, 10))
                .i(alu64i(Op::Add, 1, -8))
                .i(mov(2, 8))
                .i(mov(3, 0))
                .i(mov(4, 0));
            p.kf("bpf_copy_from_user_str");
            "copy_from_user_str"
        }
        // a pointer walked from an acquired one (trusted through the reference)
        22 => {
            w.task(&mut p);
            let f = [1136i16, 1280, 1736, 1824][v as usize % 4];
            p.i(movr(1, 6)).kf("bpf_task_acquire").if_null(0, 3).i(ldx(Sz::Dw, 7, 0, f)).i(movr(1, 0));
            p.kf("bpf_task_release");
            if v % 2 == 1 {
                // a rejection after the walk, so that the level-1 log shows the walked type
                p.i(ldx(Sz::Dw, 0, 1, 0));
            }
            "walk_acquired"
        }
        // an RCU-protected field walked inside an explicit RCU section, acquired, released
        23 => {
            w.task(&mut p);
            p.kf("bpf_rcu_read_lock").i(ldx(Sz::Dw, 1, 6, 1280)).kf("bpf_task_acquire").if_null(0, 2);
            p.i(movr(1, 0)).kf("bpf_task_release").kf("bpf_rcu_read_unlock");
            "rcu_walk_acquire"
        }
        // an acquire on one path only: released there, or leaked there
        24 => {
            w.task(&mut p);
            let leak = v % 2 == 1;
            p.i(call(F::GetPrandomU32 as i32)).i(jmpi(Cond::Eq, 0, 0, if leak { 4 } else { 5 }));
            p.i(movr(1, 6)).kf("bpf_task_acquire");
            if leak {
                p.if_null(0, 1).i(ldx(Sz::W, 7, 0, 1264));
            } else {
                p.if_null(0, 2).i(movr(1, 0)).kf("bpf_task_release");
            }
            if leak { "branch_leak" } else { "branch_release" }
        }
        // a cgroup looked up, walked and released
        _ => {
            p.i(mov(1, 1)).kf("bpf_cgroup_from_id").if_null(0, 3).i(movr(1, 0)).i(ldx(Sz::Dw, 7, 1, 0));
            p.kf("bpf_cgroup_release");
            "cgroup_from_id"
        }
    };
    p.ret0();
    (desc.to_string(), p)
}
