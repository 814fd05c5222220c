//! Running a [`Module`] with its maps: the maps are created from the module's table, map
//! references in `ld_imm64` are resolved to the maps' host addresses (as the kernel's
//! `resolve_pseudo_ldimm64` does at load time), and the engine gets the run's [`MapSet`].
//! Timers the run started fire afterwards (crate `timers` module).

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::{Insn, LdImm64Src, Program};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use kbpf_jit::{JitOptions, JitProgram, TailCallHook};
use kbpf_kfunc::Registry;
use kbpf_kfunc::maps::{MapError, MapSet, TailCalls, tail_call_resolve};

use crate::engine::{Engine, RunError, RunOptions, host_backend};
use crate::source::Module;
use crate::timers::{MAX_TIMER_FIRINGS, callback_driver, decode_callback, driver_input};

/// Creates the maps of `module` (initial array data, prog-array slots by program name).
pub fn create_maps(module: &Module) -> Result<MapSet, MapError> {
    MapSet::new(&module.maps, |name| module.prog_id(name))
}

/// `prog` with every `BPF_PSEUDO_MAP_FD` / `BPF_PSEUDO_MAP_VALUE` load replaced by a plain
/// 64-bit load of the map's (or the value byte's) host address in `maps`, and every
/// `BPF_PSEUDO_FUNC` load by its callback token (as program 0, see [`crate::callback_token`]).
pub fn resolve_maps(prog: &Program, maps: &MapSet) -> Result<Program, RunError> {
    resolve_prog(prog, 0, maps)
}

/// [`resolve_maps`] for program `prog_id` of a module.
fn resolve_prog(prog: &Program, prog_id: usize, maps: &MapSet) -> Result<Program, RunError> {
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

/// Runs `module` once on `engine` with `maps` (from [`create_maps`]; they keep their contents
/// across runs) and `mem` as the input buffer; returns `r0` of the main program.
///
/// Both engines get the main program and every tail-call target (program id = index in
/// [`Module::programs`]). After the main program returns, the timers it (or an earlier run)
/// started fire on the same engine (module docs of `timers`: virtual clock, expiry order).
pub fn run_module(
    module: &Module,
    maps: &MapSet,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    opts: RunOptions,
) -> Result<u64, RunError> {
    run_module_with_regions(module, maps, engine, registry, mem, &mut [], opts)
}

/// [`run_module`] where the input buffer points into further memory the program may access
/// (a packet behind a context): the interpreter checks accesses against `regions` too.
pub fn run_module_with_regions(
    module: &Module,
    maps: &MapSet,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    regions: &mut [&mut [u8]],
    opts: RunOptions,
) -> Result<u64, RunError> {
    run_with_packet(module, maps, engine, registry, mem, regions, None, opts)
}

/// [`run_module_with_regions`] where `LD_ABS`/`LD_IND` read `regions[i]` for `ld_abs = Some(i)`
/// (the packet behind an skb context, as the kernel's legacy packet loads read `skb->data`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_with_packet(
    module: &Module,
    maps: &MapSet,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    regions: &mut [&mut [u8]],
    ld_abs: Option<usize>,
    opts: RunOptions,
) -> Result<u64, RunError> {
    let progs = module.programs().map_err(Box::new)?;
    let progs =
        progs.iter().enumerate().map(|(id, p)| resolve_prog(p, id, maps)).collect::<Result<Vec<_>, _>>()?;
    // the timer natives (JIT code) act on these maps for the whole run, callbacks included
    let _active = maps.activate();
    let vm_opts =
        VmOptions { kernel_compat: opts.kernel_compat, ld_abs_region: ld_abs, ..Default::default() };
    match engine {
        Engine::Interp => {
            let refs: Vec<&Program> = progs.iter().collect();
            let vm = Vm::with_programs(&refs, registry, vm_opts)?;
            let r0 = vm.run_env_with_regions(mem, regions, maps)?.r0;
            let mut drivers: HashMap<u64, Vm> = HashMap::new();
            fire_timers(maps, |token, prog_id, pc, input| {
                let driver = match drivers.entry(token) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let d = callback_driver(&progs[prog_id], pc)?;
                        let mut all = refs.clone();
                        all.push(&d);
                        e.insert(Vm::with_programs(&all, registry, vm_opts)?)
                    }
                };
                driver.run_program_env(refs.len(), input, &mut [], maps)?;
                Ok(())
            })?;
            Ok(r0)
        }
        Engine::Jit => {
            let backend = host_backend().ok_or(RunError::NoJit(std::env::consts::ARCH))?;
            // The tail-call state lives at a fixed address the code is compiled against; entry
            // addresses are filled in once every program is compiled.
            let mut tail_calls = Box::new(TailCalls::default());
            let hook = TailCallHook {
                ctx: &*tail_calls as *const TailCalls as u64,
                resolve: tail_call_resolve as *const () as u64,
            };
            let jit_opts = JitOptions { tail_call: Some(hook), ..JitOptions::default() };
            let codes = progs
                .iter()
                .map(|p| backend.compile(p, registry, &jit_opts))
                .collect::<Result<Vec<_>, _>>()?;
            for (id, c) in codes.iter().enumerate() {
                tail_calls.set_entry(id, c.main_addr());
            }
            tail_calls.reset();
            // a fault (out-of-bounds LD_ABS) ends the program with r0 = 0, as in the kernel
            let r0 = match ld_abs.and_then(|i| regions.get(i)) {
                Some(packet) => codes[0].execute_with_packet(mem, packet).unwrap_or(0),
                None => codes[0].run(mem),
            };
            let mut drivers: HashMap<u64, JitProgram> = HashMap::new();
            fire_timers(maps, |token, prog_id, pc, input| {
                let driver = match drivers.entry(token) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let d = callback_driver(&progs[prog_id], pc)?;
                        e.insert(backend.compile(&d, registry, &jit_opts)?)
                    }
                };
                tail_calls.reset();
                driver.run(input);
                Ok(())
            })?;
            Ok(r0)
        }
    }
}

/// Fires due timers one by one: `run(token, prog_id, pc, input)` runs the callback's driver on
/// `input` ([`crate::driver_input`]); at most [`MAX_TIMER_FIRINGS`].
fn fire_timers(
    maps: &MapSet,
    mut run: impl FnMut(u64, usize, usize, &mut [u8]) -> Result<(), RunError>,
) -> Result<(), RunError> {
    for _ in 0..MAX_TIMER_FIRINGS {
        let Some(due) = maps.next_due_timer() else { break };
        let (prog_id, pc) = decode_callback(due.callback).ok_or(RunError::Callback(due.callback))?;
        let mut input = driver_input(&due);
        maps.set_running_timer(Some(due.timer));
        let r = run(due.callback, prog_id, pc, &mut input);
        maps.set_running_timer(None);
        r?;
    }
    Ok(())
}
