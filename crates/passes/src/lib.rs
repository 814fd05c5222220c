//! Static passes over the raw instruction slice, run before the verifier's symbolic walk, in the
//! kernel's order (Linux 6.18 `bpf_check`): subprogram discovery and checks, instruction
//! validation with ld_imm64 resolution, the CFG check, postorder, SCCs, register liveness.
//! Constant folding with dead-branch pruning (`bpf_compute_const_regs`, `const_fold.c`) is a
//! post-6.18 pass: the kernel kbpf follows does not run it, so kbpf does not either.
//!
//! Owns: pure functions from the decoded program (`kbpf_isa::SlotTable`, built once by the
//! verifier's pipeline) to side tables and the kernel's messages for the
//! errors these passes report. Must not touch: abstract register state, the log buffer, maps
//! (resolution is delegated to a [`check::Resolver`]).

#![allow(clippy::needless_range_loop)] // index-based loops mirror the kernel passes

pub mod cfg;
pub mod check;
mod error;
pub mod liveness;
pub mod postorder;
pub mod scc;
pub mod shape;
pub mod stack_arg;
pub mod subprogs;
pub mod successors;

pub use error::{Errno, PassError, PassErrorKind, ResolveError};

use kbpf_isa::SlotTable;

/// Everything the static passes computed for one program.
#[derive(Clone, Debug, Default)]
pub struct StaticInfo {
    /// Subprogram table.
    pub subprogs: subprogs::Subprogs,
    /// CFG marks (prune points, jump points, forced checkpoints).
    pub cfg: cfg::Cfg,
    /// Postorder per subprogram.
    pub postorder: postorder::Postorder,
    /// SCC id per instruction.
    pub scc: Vec<u32>,
    /// Registers live before each instruction. (Stack slots are the walk's business: 6.18
    /// learns their liveness from the paths it explores, `kbpf_verifier`'s `prune::liveness`.)
    pub live_regs: Vec<u16>,
}

/// Runs the passes in the kernel's order, stopping at the first error.
///
/// `privileged` allows back-edges; `stack_args` turns the stack-argument ABI on or off (see
/// [`check::check_and_resolve_insns_abi`]); `helper_args` gives helper parameter counts for
/// liveness, `kfunc_args` those of the kfuncs the program may call (by BTF id);
/// `exception_cb` is the main program's exception callback start (a subprogram and a CFG root).
pub fn run_static_passes(
    slots: &SlotTable<'_>,
    privileged: bool,
    stack_args: bool,
    resolver: &mut dyn check::Resolver,
    helper_args: &dyn Fn(i32) -> Option<u8>,
    kfunc_args: &dyn Fn(i32) -> Option<u8>,
    exception_cb: Option<usize>,
) -> Result<StaticInfo, PassError> {
    let mut subprogs = subprogs::add_subprogs_with(slots, exception_cb)?;
    subprogs::check_subprogs(slots, &mut subprogs)?;
    check::check_and_resolve_insns_abi(slots, resolver, stack_args)?;
    let cfg = cfg::check_cfg_with(slots, privileged, exception_cb)?;
    let postorder = postorder::compute_postorder(slots, &subprogs);
    let scc = scc::compute_scc(slots);
    let live_regs = liveness::compute_live_registers(slots, &postorder, helper_args, kfunc_args);
    Ok(StaticInfo { subprogs, cfg, postorder, scc, live_regs })
}
