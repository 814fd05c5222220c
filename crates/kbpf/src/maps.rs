//! Running a [`Module`] with its maps: the maps are created from the module's table, map
//! references in `ld_imm64` are resolved to the maps' host addresses (as the kernel's
//! `resolve_pseudo_ldimm64` does at load time), and the engine gets the run's [`MapSet`].
//! Timers the run started fire afterwards (crate `timers` module).

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::{Insn, LdImm64Src, Program};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use kbpf_jit::{FaultKind, JitOptions, JitProgram, Link, TailCallHook, VerifiedCode};
use kbpf_kfunc::Registry;
use kbpf_kfunc::maps::{MapError, MapSet, TailCalls, tail_call_resolve};
use kbpf_verifier::{ProgType, Verified};

use crate::engine::{Engine, RunError, RunOptions, host_backend};
use crate::source::Module;
use crate::timers::{MAX_TIMER_FIRINGS, callback_driver, decode_callback, driver_input};

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

/// Verifies `module` (every program: the main one and its tail-call targets, against its
/// maps and `registry`'s kfuncs, as `opts.prog_type`, default a context of `mem.len()` bytes)
/// and runs it once on `engine` with `maps` (from [`create_maps`]; they keep their contents
/// across runs) and `mem` as the input buffer; returns `r0` of the main program. A program the
/// verifier rejects is [`RunError::Rejected`]; a helper or kfunc the engine cannot run is
/// [`RunError::Unsupported`]; an input smaller than the verified context is
/// [`RunError::Context`].
///
/// Both engines get the main program and every tail-call target (program id = index in
/// [`Module::programs`]), as the verifier left them (dead code removed). After the main program
/// returns, the timers it (or an earlier run) started fire on the same engine (module docs of
/// `timers`: virtual clock, expiry order).
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
    let vopts = crate::guard::run_verify_options(engine, registry, &opts, mem.len())?;
    let witnesses = crate::guard::verify_programs(module, vopts, registry, engine)?;
    // SAFETY: verified programs, and no built context: the input is checked against the
    // witness's context size before anything runs.
    unsafe { run_core(module, maps, engine, registry, mem, regions, opts, Some(&witnesses), None) }
}

/// Runs `module` on the interpreter without verifying it: safe for any program, since the
/// interpreter checks every access and every pointer it hands to a native.
pub fn run_module_unverified_interp(
    module: &Module,
    maps: &MapSet,
    registry: &Registry,
    mem: &mut [u8],
    regions: &mut [&mut [u8]],
    opts: RunOptions,
) -> Result<u64, RunError> {
    // SAFETY: the interpreter needs no guarantee from the program.
    unsafe { run_core(module, maps, Engine::Interp, registry, mem, regions, opts, None, None) }
}

/// Runs `module` on `engine` without verifying it.
///
/// # Safety
///
/// With [`Engine::Jit`] the programs run as native code without bounds checks or instruction
/// budget: the caller guarantees that they only access `mem`, their stacks and `maps`, pass
/// helpers and kfuncs valid arguments and terminate, as if verified for this input. With
/// [`Engine::Interp`] there is no requirement.
pub unsafe fn run_module_unchecked(
    module: &Module,
    maps: &MapSet,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    regions: &mut [&mut [u8]],
    opts: RunOptions,
) -> Result<u64, RunError> {
    // SAFETY: forwarded to our caller.
    unsafe { run_core(module, maps, engine, registry, mem, regions, opts, None, None) }
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
    let crate::PacketCtx { ctx, packet } = ctx;
    let built = Some(BuiltCtx { ld_abs_region: ld_abs.then_some(0) });
    // SAFETY: `ctx` was built by `PacketCtx::new` for the witness's program type around
    // `packet`, which lives (and does not move) for the whole run.
    unsafe {
        run_core(
            module,
            maps,
            engine,
            registry,
            ctx,
            &mut [packet.as_mut_slice()],
            opts,
            Some(witnesses),
            built,
        )
    }
}

/// A context the facade built (test runs), and whether `LD_ABS`/`LD_IND` read `regions[i]`.
#[derive(Clone, Copy)]
pub(crate) struct BuiltCtx {
    ld_abs_region: Option<usize>,
}

/// The shared run: `checked` = the witnesses of every program (else the module's programs run
/// as written); `built_ctx` = `mem` is a context the facade built.
///
/// # Safety
///
/// Without witnesses and with [`Engine::Jit`], the caller vouches for the programs as in
/// [`run_module_unchecked`]; with `built_ctx`, `mem` is a context built by
/// [`crate::PacketCtx::new`] for the witnesses' program type, valid for the whole run.
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
    let progs = match checked {
        Some(ws) => ws
            .iter()
            .enumerate()
            .map(|(id, w)| {
                let token = move |pc: usize| crate::callback_token(id, pc);
                kbpf_jit::link(w, &Link { maps: Some(maps), func_token: &token })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => {
            let progs = module.programs().map_err(Box::new)?;
            progs
                .iter()
                .enumerate()
                .map(|(id, p)| resolve_prog(p, id, maps))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    // the input contract of the main program's witness
    let mut padded = None;
    if let Some(w) = checked.and_then(|ws| ws.first()) {
        let pt = w.prog_type();
        let refuse = |why| Err(RunError::Context { prog_type: pt, why, given: mem.len() });
        match (w.ctx_bytes(), pt) {
            (None, _) if built_ctx.is_some() => {}
            (None, _) => {
                return refuse("a packet program runs only through test_run, which builds its context");
            }
            (Some(n), ProgType::Syscall) if mem.len() < n => {
                let mut buf = vec![0u8; n];
                buf[..mem.len()].copy_from_slice(mem);
                padded = Some(buf);
            }
            (Some(n), _) if mem.len() < n => return refuse("the input is smaller than the verified context"),
            (Some(_), _) => {}
        }
    }
    let len = mem.len();
    let r0 = match padded.as_mut() {
        // SAFETY: forwarded to our caller; the padded buffer covers the verified context.
        Some(buf) => unsafe {
            run_engine(&progs, checked, maps, engine, registry, buf, regions, opts, built_ctx)
        },
        // SAFETY: forwarded to our caller.
        None => unsafe { run_engine(&progs, checked, maps, engine, registry, mem, regions, opts, built_ctx) },
    }?;
    if let Some(buf) = padded {
        mem.copy_from_slice(&buf[..len]);
    }
    Ok(r0)
}

/// [`run_core`] once the programs are linked and the input is settled.
///
/// # Safety
///
/// As [`run_core`].
#[allow(clippy::too_many_arguments)]
unsafe fn run_engine(
    progs: &[Program],
    checked: Option<&[Verified]>,
    maps: &MapSet,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    regions: &mut [&mut [u8]],
    opts: RunOptions,
    built_ctx: Option<BuiltCtx>,
) -> Result<u64, RunError> {
    let ld_abs = built_ctx.and_then(|b| b.ld_abs_region);
    // the timer natives (JIT code) act on these maps for the whole run, callbacks included
    let _active = maps.activate();
    let mut vm_opts =
        VmOptions { kernel_compat: opts.kernel_compat, ld_abs_region: ld_abs, ..Default::default() };
    if let Some(b) = opts.insn_budget {
        vm_opts.insn_budget = b;
    }
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
            // SAFETY: `tail_call_resolve` has the resolver's signature and `tail_calls` outlives
            // every program compiled with the hook (all are dropped before it, below).
            let hook = unsafe {
                TailCallHook::new(
                    &*tail_calls as *const TailCalls as u64,
                    tail_call_resolve as *const () as u64,
                )
            };
            let jit_opts = JitOptions { tail_call: Some(hook), ..JitOptions::default() };
            let verified: Vec<VerifiedCode<'_>>;
            let unverified: Vec<JitProgram>;
            let codes: Vec<&JitProgram> = match checked {
                Some(ws) => {
                    verified = ws
                        .iter()
                        .enumerate()
                        .map(|(id, w)| {
                            let token = move |pc: usize| crate::callback_token(id, pc);
                            backend.compile(
                                w,
                                registry,
                                &Link { maps: Some(maps), func_token: &token },
                                &jit_opts,
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    verified.iter().map(VerifiedCode::code).collect()
                }
                None => {
                    unverified = progs
                        .iter()
                        // SAFETY: unverified programs reach here only from `run_module_unchecked`,
                        // whose caller vouched for them.
                        .map(|p| unsafe { backend.compile_unverified(p, registry, &jit_opts) })
                        .collect::<Result<Vec<_>, _>>()?;
                    unverified.iter().collect()
                }
            };
            for (id, c) in codes.iter().enumerate() {
                tail_calls.set_entry(id, c.main_addr());
            }
            tail_calls.reset();
            let packet = ld_abs.and_then(|i| regions.get(i));
            let res = match (built_ctx.is_some() || checked.is_none(), packet) {
                // SAFETY: a built context (or a vouched-for program): our caller's guarantee.
                (true, Some(p)) => unsafe { codes[0].execute_with_packet_unchecked(mem, p) },
                // SAFETY: as above.
                (true, None) => unsafe { codes[0].execute_unchecked(mem) },
                (false, Some(p)) => codes[0].execute_with_packet(mem, p),
                (false, None) => codes[0].execute(mem),
            };
            let r0 = match res {
                Ok(r0) => r0,
                // like the kernel: an out-of-bounds LD_ABS or an unknown callx ends with r0 = 0
                Err(f) if matches!(f.kind, FaultKind::LdAbsOutOfBounds | FaultKind::UnknownCallx) => 0,
                Err(f) => return Err(f.into()),
            };
            let mut drivers: HashMap<u64, JitProgram> = HashMap::new();
            fire_timers(maps, |token, prog_id, pc, input| {
                let driver = match drivers.entry(token) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let d = callback_driver(&progs[prog_id], pc)?;
                        // SAFETY: the driver is a callback of a linked program (verified as an
                        // async callback when `checked`, vouched for otherwise) behind a prefix
                        // that loads the map, value and key pointers of a due timer from
                        // `driver_input`, which points into `maps` (alive for this run).
                        e.insert(unsafe { backend.compile_unverified(&d, registry, &jit_opts)? })
                    }
                };
                tail_calls.reset();
                driver.run(input);
                Ok(())
            })?;
            drop(drivers);
            drop(codes);
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
