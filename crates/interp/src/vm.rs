//! The public VM: construction (pre-decoding, kernel-compat checks) and options.

use std::collections::HashMap;

use kbpf_isa::{CallTarget, Insn, Program};
use kbpf_kfunc::Registry;
use kbpf_kfunc::callbacks::FuncRoles;
use kbpf_kfunc::maps::HostEnv;

use crate::compile::{CallxTarget, Native, Op, compile_all};
use crate::error::InterpError;
use kbpf_isa::KernelMsg;

/// `BPF_MAX_LOOPS`: the value the kernel initialises each frame's hidden `may_goto` counter to.
pub const BPF_MAX_LOOPS: u64 = 8 * 1024 * 1024;

/// Default instruction budget: 2^32 instructions (a few seconds of run time).
pub const DEFAULT_INSN_BUDGET: u64 = 1 << 32;

/// Run-time options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmOptions {
    /// Most instructions one [`Vm::run`] may execute; running out is
    /// [`InterpError::BudgetExhausted`]. Default [`DEFAULT_INSN_BUDGET`].
    pub insn_budget: u64,
    /// Behave like the kernel's own interpreter: refuse programs with kfunc calls
    /// (`calling kernel functions are not allowed in non-JITed programs`) and programs with any
    /// r11 stack-argument instruction (`stack args are not supported in non-JITed programs`).
    /// Off by default: kbpf's interpreter is the reference for the JITs and runs both.
    pub kernel_compat: bool,
    /// `LD_ABS`/`LD_IND` read extra region `i` of [`Vm::run_env_with_regions`] instead of the
    /// input buffer: the packet of an skb program's test run, whose input buffer is the
    /// context (the kernel's `LD_ABS` reads `skb->data`). `None`: the input buffer.
    pub ld_abs_region: Option<usize>,
    /// With [`VmOptions::ld_abs_region`]: the input is a test run's skb context whose host
    /// pointers at this offset say where in the region the packet is (`data`, `data_end`, then
    /// after the other three, the link-layer and network headers that negative `SKF_LL_OFF` /
    /// `SKF_NET_OFF` offsets read); `None`: the whole region is the packet.
    pub ld_abs_ctx: Option<usize>,
}

impl Default for VmOptions {
    fn default() -> VmOptions {
        VmOptions {
            insn_budget: DEFAULT_INSN_BUDGET,
            kernel_compat: false,
            ld_abs_region: None,
            ld_abs_ctx: None,
        }
    }
}

/// Outcome of [`Vm::run_stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStats {
    /// `r0` at the main function's `exit`.
    pub r0: u64,
    /// Instructions executed (an `LD_IMM64` counts once).
    pub insns: u64,
}

/// A program prepared for interpretation. Immutable; [`Vm::run`] can be called any number of
/// times (each run gets fresh registers, stacks and counters).
#[derive(Clone, Debug)]
pub struct Vm {
    pub(crate) ops: Vec<Op>,
    /// Jump targets before threading, per op.
    pub(crate) unthreaded: Vec<u32>,
    pub(crate) pcs: Vec<u32>,
    pub(crate) natives: Vec<Native>,
    /// First op of each program (the main program, then tail-call targets by program id).
    pub(crate) entries: Vec<u32>,
    /// Every runnable helper by id, for `callx`.
    pub(crate) helpers: HashMap<i64, CallxTarget>,
    pub(crate) opts: VmOptions,
}

impl Vm {
    /// Prepares `prog` with the helpers and kfuncs of `registry`.
    ///
    /// Calls to ids the registry lacks are not an error here; they fail when executed
    /// ([`InterpError::UnknownHelper`], [`InterpError::UnknownKfunc`]).
    pub fn new(prog: &Program, registry: &Registry, opts: VmOptions) -> Result<Vm, InterpError> {
        Vm::with_programs(&[prog], registry, opts)
    }

    /// Prepares a main program (`progs[0]`) together with the programs it may tail-call: program
    /// id `i` of a prog array is `progs[i]`.
    pub fn with_programs(
        progs: &[&Program],
        registry: &Registry,
        opts: VmOptions,
    ) -> Result<Vm, InterpError> {
        Vm::with_roles(progs, &[], registry, opts)
    }

    /// [`Vm::with_programs`] for programs whose callbacks were lowered
    /// (`kbpf_jit::lower_callbacks`): `roles[i]` names the drivers and the exception function
    /// of program `i`. A driver's frame does not count against `MAX_CALL_FRAMES`; `bpf_throw`
    /// unwinds every frame and runs the exception function in the main function's place, its
    /// `exit` ending the run.
    pub fn with_roles(
        progs: &[&Program],
        roles: &[FuncRoles],
        registry: &Registry,
        opts: VmOptions,
    ) -> Result<Vm, InterpError> {
        if opts.kernel_compat {
            for prog in progs {
                kernel_compat_check(prog)?;
            }
        }
        let c = compile_all(progs, roles, registry);
        Ok(Vm {
            ops: c.ops,
            unthreaded: c.unthreaded,
            pcs: c.pcs,
            natives: c.natives,
            entries: c.entries,
            helpers: c.helpers,
            opts,
        })
    }

    /// Runs the program on `mem` (`r1` = its address, or 0 if empty; `r2` = its length) and
    /// returns `r0` at the main function's `exit`.
    pub fn run(&self, mem: &mut [u8]) -> Result<u64, InterpError> {
        crate::exec::run(self, mem, &mut [], None, 0).map(|(r0, _)| r0)
    }

    /// Like [`Vm::run`], also reporting how many instructions ran.
    pub fn run_stats(&self, mem: &mut [u8]) -> Result<RunStats, InterpError> {
        crate::exec::run(self, mem, &mut [], None, 0).map(|(r0, insns)| RunStats { r0, insns })
    }

    /// Like [`Vm::run_stats`], with further memory regions the program may access besides the
    /// input buffer and its stacks: typically memory that helpers or kfuncs hand out pointers to
    /// (map values, buffers). A pointer a helper returns is usable only if it falls in one of
    /// these; the interpreter never dereferences host memory it was not given.
    pub fn run_with_regions(
        &self,
        mem: &mut [u8],
        regions: &mut [&mut [u8]],
    ) -> Result<RunStats, InterpError> {
        crate::exec::run(self, mem, regions, None, 0).map(|(r0, insns)| RunStats { r0, insns })
    }

    /// Like [`Vm::run_stats`], with the run's maps (or any other [`HostEnv`]): map helpers,
    /// `bpf_tail_call`, and loads and stores of map values go through `env`, which checks every
    /// address. Map references (`ld_imm64` with a map source) must already be resolved to the
    /// environment's addresses (`kbpf::resolve_maps`).
    pub fn run_env(&self, mem: &mut [u8], env: &dyn HostEnv) -> Result<RunStats, InterpError> {
        crate::exec::run(self, mem, &mut [], Some(env), 0).map(|(r0, insns)| RunStats { r0, insns })
    }

    /// [`Vm::run_env`] and [`Vm::run_with_regions`] together: a run with maps whose context
    /// points into further memory (a packet).
    pub fn run_env_with_regions(
        &self,
        mem: &mut [u8],
        regions: &mut [&mut [u8]],
        env: &dyn HostEnv,
    ) -> Result<RunStats, InterpError> {
        crate::exec::run(self, mem, regions, Some(env), 0).map(|(r0, insns)| RunStats { r0, insns })
    }

    /// [`Vm::run_env_with_regions`] starting at program `id` of [`Vm::with_programs`] instead of
    /// the main program (how the facade runs a timer callback's driver program).
    pub fn run_program_env(
        &self,
        id: usize,
        mem: &mut [u8],
        regions: &mut [&mut [u8]],
        env: &dyn HostEnv,
    ) -> Result<RunStats, InterpError> {
        let entry = *self.entries.get(id).ok_or(InterpError::FellOffEnd { pc: 0 })? as usize;
        crate::exec::run(self, mem, regions, Some(env), entry).map(|(r0, insns)| RunStats { r0, insns })
    }

    /// The options the VM was built with.
    pub fn options(&self) -> &VmOptions {
        &self.opts
    }

    /// Slot index of op `idx`.
    pub(crate) fn pc_of(&self, idx: usize) -> usize {
        self.pcs.get(idx).map_or(idx, |&p| p as usize)
    }
}

/// The kernel's `bpf_fixup_call_args` order for a program that cannot be JITed: kfunc calls
/// first, then stack arguments.
fn kernel_compat_check(prog: &Program) -> Result<(), InterpError> {
    if let Some((pc, _)) = prog.iter().find(|(_, i)| matches!(i, Insn::Call(CallTarget::Kfunc { .. }))) {
        return Err(InterpError::KernelCompat { pc, msg: KernelMsg::KfuncNonJit });
    }
    if let Some((pc, _)) = prog.iter().find(|(_, i)| i.is_stack_arg()) {
        return Err(InterpError::KernelCompat { pc, msg: KernelMsg::StackArgsNonJit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Vm>();
    }

    #[test]
    fn default_options() {
        let o = VmOptions::default();
        assert_eq!((o.insn_budget, o.kernel_compat), (1 << 32, false));
    }
}
