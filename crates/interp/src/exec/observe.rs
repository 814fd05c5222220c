//! A run that shows an observer the registers before every instruction: the soundness
//! harness compares them with what the verifier proved there. It steps the ordinary loop one
//! instruction at a time (a budget of one, resumed), so the hot loop stays as it is and the
//! observed run has exactly its semantics; it is some 50 times slower, for tests only.

use kbpf_isa::MAX_BPF_STACK;
use kbpf_kfunc::maps::HostEnv;

use super::{Both, Calls, State, Stop, ld_abs_view, packet_load, retry_in_extra, run_loop};
use crate::error::InterpError;
use crate::mem::{Mem, Stack};
use crate::vm::{RunStats, Vm};

/// The machine just before one instruction runs.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// Slot index of the instruction about to run.
    pub pc: usize,
    /// r0..r10 of the current frame.
    pub regs: &'a [u64; 11],
    /// Current bpf-to-bpf call depth (0 = the main function).
    pub depth: usize,
    /// Address of the bottom of frame 0's stack; frame `d`'s `r10` is
    /// `stack_base + (d + 1) * 512`.
    pub stack_base: u64,
}

/// Sees every instruction of an observed run before it executes.
pub trait Observer {
    /// Called before the instruction at `step.pc` (the run goes on whatever it finds: the
    /// budget bounds it).
    fn before(&mut self, step: &Step<'_>);
}

impl Vm {
    /// [`Vm::run_env_with_regions`] (the environment optional), showing `obs` the registers
    /// before every instruction.
    pub fn run_observed(
        &self,
        mem: &mut [u8],
        regions: &mut [&mut [u8]],
        env: Option<&dyn HostEnv>,
        obs: &mut dyn Observer,
    ) -> Result<RunStats, InterpError> {
        run_observed(self, mem, regions, env, obs)
    }
}

fn run_observed(
    vm: &Vm,
    input: &mut [u8],
    extra: &mut [&mut [u8]],
    env: Option<&dyn HostEnv>,
    obs: &mut dyn Observer,
) -> Result<RunStats, InterpError> {
    let mut stack = Stack::new();
    let mut mem = Mem::new(input, &mut stack);
    let stack_base = mem.frame_pointer(0) - MAX_BPF_STACK as u64;
    let mut st = State {
        tail_calls: 0,
        r: [0; 16],
        pc: vm.entries.first().copied().unwrap_or(0) as usize,
        fuel: 1,
        calls: Calls::new(),
    };
    st.r[1] = mem.input_addr();
    st.r[2] = mem.input_len();
    st.r[10] = mem.frame_pointer(0);
    let mut ran = 0u64;
    let budget = vm.opts.insn_budget;
    loop {
        if ran >= budget {
            return Err(InterpError::BudgetExhausted { pc: vm.pc_of(st.pc), budget });
        }
        let mut regs = [0u64; 11];
        regs.copy_from_slice(&st.r[..11]);
        let step = Step { pc: vm.pc_of(st.pc), regs: &regs, depth: st.calls.depth, stack_base };
        obs.before(&step);
        ran += 1;
        st.fuel = 1;
        let (stop, m) = run_loop(vm, mem, &mut st);
        mem = m;
        match stop {
            Stop::Exit(r0) => return Ok(RunStats { r0, insns: ran }),
            // the one-instruction budget ran out: the step is done
            Stop::Error(InterpError::BudgetExhausted { .. }) => {}
            Stop::Error(e) => return Err(e),
            Stop::Fault(cur) => retry_in_extra(vm, cur, &mut st.r, &mut Both { mem: &mut mem, extra, env })?,
            Stop::Host(cur) => {
                crate::host::host_call(vm, cur, &mut st, &mut Both { mem: &mut mem, extra, env })?
            }
            Stop::PacketLoad(cur) => {
                let view = ld_abs_view(vm, mem.input(), extra);
                match vm.ops.get(cur).and_then(|op| view.and_then(|v| packet_load(v, &st.r, op))) {
                    Some(v) => st.r[0] = v,
                    None => return Ok(RunStats { r0: 0, insns: ran }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::{AluOp, CallTarget, Insn, Program, Reg, Src, Width};

    struct Trace(Vec<(usize, u64, usize)>);

    impl Observer for Trace {
        fn before(&mut self, s: &Step<'_>) {
            self.0.push((s.pc, s.regs[0], s.depth));
        }
    }

    #[test]
    fn sees_every_instruction_with_its_registers() {
        let add = |v| Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Src::Imm(v) };
        let mov = Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(1) };
        let insns = vec![mov, Insn::Call(CallTarget::Local(1)), Insn::Exit, add(2), Insn::Exit];
        let prog = Program::new(insns).unwrap();
        let vm = Vm::new(&prog, &kbpf_kfunc::Registry::new(), crate::VmOptions::default()).unwrap();
        let mut t = Trace(Vec::new());
        let r = vm.run_observed(&mut [], &mut [], None, &mut t).unwrap();
        assert_eq!(r.r0, 3);
        assert_eq!(t.0, vec![(0, 0, 0), (1, 1, 0), (3, 1, 1), (4, 3, 1), (2, 3, 0)]);
        assert_eq!(r.insns, 5);
    }
}
