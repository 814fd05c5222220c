//! `kbpf jit --dump`: the native code of a program, one BPF instruction heading each block.
//!
//! What it compiles is what a run compiles (the kernel's pipeline into its JIT): for a program
//! the verifier accepts, the verifier's post-verification program (dead branches hard-wired,
//! dead code and no-ops removed) linked to maps created for the dump, with the frames the
//! verifier's stack depths give. A program the verifier rejects is compiled as written, after
//! a note on stderr that the kernel would not JIT it.

use std::process::ExitCode;

use kbpf::jit::{JitOptions, Link, StackDepth};
use kbpf::verifier::VerifyOptions;

use crate::input::Input;
use crate::{ArchArg, ProfileArg, fail};

/// `kbpf jit`'s arguments.
#[derive(clap::Args)]
pub struct JitArgs {
    /// Print the code (the only action so far; kept for `bpftool`-like muscle memory).
    #[arg(long)]
    pub dump: bool,
    /// Target architecture (any host can dump either).
    #[arg(long, value_enum, default_value = "x86_64")]
    pub arch: ArchArg,
    #[command(flatten)]
    pub input: Input,
    /// Helpers and kfuncs the program may call.
    #[arg(long, value_enum, default_value = "testmod")]
    pub profile: ProfileArg,
}

/// Runs `kbpf jit`.
pub fn cmd(args: JitArgs) -> ExitCode {
    let JitArgs { dump: _, arch, input, profile } = args;
    let registry = profile.registry();
    let module = match input.read(&registry) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let arch = match arch {
        ArchArg::X86_64 => kbpf::Arch::X86_64,
        ArchArg::Arm64 => kbpf::Arch::Arm64,
    };
    match listing(&module, &registry, arch) {
        Ok(text) => {
            out!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kbpf: {e}");
            ExitCode::from(1)
        }
    }
}

/// The backend's listing of what the JIT compiles for `module` (see the module doc).
fn listing(
    module: &kbpf::Module,
    registry: &kbpf::kfunc::Registry,
    arch: kbpf::Arch,
) -> Result<String, String> {
    let backend = kbpf::backend(arch);
    // map references become the addresses of maps created for the dump, as for a run
    let maps = kbpf::create_maps(module).map_err(|e| e.to_string())?;
    let opts = VerifyOptions { kfuncs: kbpf::kfunc_table(registry), ..VerifyOptions::default() };
    let out = kbpf::verify_module(module, opts);
    match (out.witness, out.error) {
        (Some(w), _) => {
            // callback references become opaque tokens (the drivers compare them)
            let link = Link { maps: Some(&maps), func_token: &|pc| pc as u64 };
            // callback helpers as the drivers every engine runs them through
            let (prog, roles) = kbpf::jit::link_lowered(&w, &link).map_err(|e| e.to_string())?;
            let stack_depth = kbpf::jit::verifier_frames_for(w.program(), &prog, w.stack_depth())
                .map_or(StackDepth::Inferred, StackDepth::Verifier);
            let opts = JitOptions { stack_depth, roles, ..JitOptions::default() };
            backend.dump(&prog, registry, &opts).map_err(|e| e.to_string())
        }
        (None, e) => {
            let why =
                e.map_or_else(|| "no witness".into(), |e| format!("{}: {}", e.errno().name(), e.message()));
            eprintln!(
                "kbpf: note: the verifier rejects this program ({why}); the kernel would not JIT it, \
                 and the code below is kbpf's JIT of it unverified"
            );
            let prog = module.program().map_err(|e| e.to_string())?;
            let prog = kbpf::resolve_maps(&prog, &maps).map_err(|e| e.to_string())?;
            backend.dump(&prog, registry, &JitOptions::default()).map_err(|e| e.to_string())
        }
    }
}
