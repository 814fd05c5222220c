//! Running a [`Module`] with its maps: the maps are created from the module's table, map
//! references in `ld_imm64` are resolved to the maps' host addresses (as the kernel's
//! `resolve_pseudo_ldimm64` does at load time), and the engine gets the run's [`MapSet`].
//! Timers the run started fire afterwards (crate `timers` module).

use kbpf_isa::{Insn, LdImm64Src, Program};
use kbpf_kfunc::Registry;
use kbpf_kfunc::maps::{MapError, MapSet};
use kbpf_verifier::Verified;

use crate::engine::{Engine, RunError, RunOptions};
use crate::prepared::{BuiltCtx, Prepared};
use crate::source::Module;

/// Creates the maps of `module` (initial array data, prog-array slots by program name).
pub fn create_maps(module: &Module) -> Result<MapSet, MapError> {
    for m in &module.maps {
        for (slot, name) in &m.progs {
            if let Some((_, why)) = module.unusable_progs.iter().find(|(n, _)| n == name) {
                return Err(MapError::Invalid(format!(
                    "map {} slot {slot}: program `{name}` cannot run: {why}",
                    m.name
                )));
            }
        }
    }
    // kbpf's socket maps stay empty: a program that may put a socket in one cannot run
    if let Some(m) = module.maps.iter().find(|m| kbpf_kfunc::maps::holds_sockets(m.map_type))
        && calls_helper(module, kbpf_isa::BpfFunc::MapUpdateElem.id())
    {
        return Err(MapError::Invalid(format!(
            "map {}: a program that calls bpf_map_update_elem may put a socket in it, and kbpf has no sockets",
            m.name
        )));
    }
    MapSet::new(&module.maps, |name| module.prog_id(name))
}

/// Whether any program of `module` (main, subprograms, tail-call targets) calls helper `id`.
fn calls_helper(module: &Module, id: i32) -> bool {
    let slots = &module.slots;
    let main =
        (0..slots.len()).filter_map(|i| kbpf_isa::decode_insn(slots[i], slots.get(i + 1).copied()).ok());
    let others = module.progs.iter().flat_map(|p| p.program.insns().iter().copied());
    main.chain(others).any(|insn| insn == Insn::Call(kbpf_isa::CallTarget::Helper(id)))
}

/// `prog` with every `BPF_PSEUDO_MAP_FD` / `BPF_PSEUDO_MAP_VALUE` load replaced by a plain
/// 64-bit load of the map's (or the value byte's) host address in `maps`, and every
/// `BPF_PSEUDO_FUNC` load by its callback token (as program 0, see `timers::callback_token`).
pub fn resolve_maps(prog: &Program, maps: &MapSet) -> Result<Program, RunError> {
    resolve_prog(prog, 0, maps)
}

/// [`resolve_maps`] for program `prog_id` of a module.
pub(crate) fn resolve_prog(prog: &Program, prog_id: usize, maps: &MapSet) -> Result<Program, RunError> {
    let mut insns = prog.insns().to_vec();
    for (i, insn) in insns.iter_mut().enumerate() {
        let Insn::LdImm64 { dst, src, imm, imm_hi } = *insn else { continue };
        let pc = prog.pc(i);
        let addr = match src {
            LdImm64Src::MapFd => maps.map_addr(imm as usize),
            LdImm64Src::MapValue => maps.value_addr(imm as usize, imm_hi as u32),
            _ => continue,
        }
        .ok_or(RunError::MapRef { pc, fd: imm, off: imm_hi })?;
        *insn =
            Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: addr as u32 as i32, imm_hi: (addr >> 32) as i32 };
    }
    crate::timers::resolve_funcs(&mut insns, prog, prog_id);
    Ok(Program::new(insns).expect("same shape as a valid program"))
}

/// Runs a module on a context the test run built: the packet program types; with `ld_abs`,
/// `LD_ABS`/`LD_IND` read the packet (an skb's `data`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_verified_packet(
    module: &Module,
    witnesses: &[Verified],
    maps: &MapSet,
    engine: Engine,
    registry: &Registry,
    ctx: &mut crate::PacketCtx,
    ld_abs: bool,
    opts: RunOptions,
) -> Result<u64, RunError> {
    let (ctx, mut regions) = ctx.parts();
    let built = Some(BuiltCtx { ld_abs_region: ld_abs.then_some(0) });
    // SAFETY: `ctx` was built by `PacketCtx::new` for the witness's program type around
    // `regions` (its buffer, its socket), which live (and do not move) for the whole run.
    unsafe { run_core(module, maps, engine, registry, ctx, &mut regions, opts, Some(witnesses), built) }
}

/// The shared one-shot run: prepare, run once.
///
/// # Safety
///
/// As [`Prepared::new`] and [`Prepared::run`].
#[allow(clippy::too_many_arguments)]
unsafe fn run_core(
    module: &Module,
    maps: &MapSet,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    regions: &mut [&mut [u8]],
    opts: RunOptions,
    checked: Option<&[Verified]>,
    built_ctx: Option<BuiltCtx>,
) -> Result<u64, RunError> {
    // SAFETY: forwarded to our caller.
    let p = unsafe { Prepared::new(module, maps, engine, registry, opts, checked, built_ctx)? };
    // SAFETY: forwarded to our caller.
    unsafe { p.run(maps, registry, mem, regions) }
}
