//! Running a [`Module`] with its maps: the maps are created from the module's table, map
//! references in `ld_imm64` are resolved to the maps' host addresses (as the kernel's
//! `resolve_pseudo_ldimm64` does at load time), and the engine gets the run's [`MapSet`].

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::{Insn, LdImm64Src, Program};
use kbpf_jit::{JitOptions, TailCallHook};
use kbpf_kfunc::Registry;
use kbpf_kfunc::maps::{MapError, MapSet, TailCalls, tail_call_resolve};

use crate::engine::{Engine, RunError, RunOptions, host_backend};
use crate::source::Module;

/// Creates the maps of `module` (initial array data, prog-array slots by program name).
pub fn create_maps(module: &Module) -> Result<MapSet, MapError> {
    MapSet::new(&module.maps, |name| module.prog_id(name))
}

/// `prog` with every `BPF_PSEUDO_MAP_FD` / `BPF_PSEUDO_MAP_VALUE` load replaced by a plain
/// 64-bit load of the map's (or the value byte's) host address in `maps`.
pub fn resolve_maps(prog: &Program, maps: &MapSet) -> Result<Program, RunError> {
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
    Ok(Program::new(insns).expect("same shape as a valid program"))
}

/// Runs `module` once on `engine` with `maps` (from [`create_maps`]; they keep their contents
/// across runs) and `mem` as the input buffer; returns `r0`.
///
/// Both engines get the main program and every tail-call target (program id = index in
/// [`Module::programs`]).
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
    let progs = module.programs().map_err(Box::new)?;
    let progs = progs.iter().map(|p| resolve_maps(p, maps)).collect::<Result<Vec<_>, _>>()?;
    match engine {
        Engine::Interp => {
            let refs: Vec<&Program> = progs.iter().collect();
            let vm = Vm::with_programs(
                &refs,
                registry,
                VmOptions { kernel_compat: opts.kernel_compat, ..Default::default() },
            )?;
            Ok(vm.run_env_with_regions(mem, regions, maps)?.r0)
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
            let opts = JitOptions { tail_call: Some(hook), ..JitOptions::default() };
            let codes =
                progs.iter().map(|p| backend.compile(p, registry, &opts)).collect::<Result<Vec<_>, _>>()?;
            for (id, c) in codes.iter().enumerate() {
                tail_calls.set_entry(id, c.main_addr());
            }
            tail_calls.reset();
            Ok(codes[0].run(mem))
        }
    }
}
