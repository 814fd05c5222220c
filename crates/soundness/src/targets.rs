//! The bodies of the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs` call these), so that the
//! corpora replay on stable without libFuzzer (`tests/corpus.rs`). Each returns normally on any
//! input kbpf handles correctly and panics on a finding: a crash, a round trip that loses
//! information, a soundness violation, or engines that disagree.

use std::sync::OnceLock;

use kbpf_isa::disasm::{Syntax, disassemble};
use kbpf_isa::{Program, RawInsn};

use crate::generate::Choices;

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets by name (the `fuzz/` binaries and the corpus directories are named alike).
pub const TARGETS: [(&str, Target); 6] = [
    ("decode", decode),
    ("assemble", assemble),
    ("elf", elf),
    ("verify_raw", verify_raw),
    ("verify_gen", verify_gen),
    ("jit_diff", jit_diff),
];

/// Bytes to a program: whatever decodes re-encodes to the same bytes, and both disassembly
/// syntaxes read back to the same instructions.
pub fn decode(data: &[u8]) {
    let Ok(prog) = Program::from_bytes(data) else { return };
    assert_eq!(prog.to_bytes(), data, "decode/encode round trip");
    round_trip_text(&prog);
}

fn round_trip_text(prog: &Program) {
    for syntax in [Syntax::Kernel, Syntax::Llvm { hex: false }, Syntax::Llvm { hex: true }] {
        let text = disassemble(prog, syntax);
        match kbpf_isa::asm::assemble(&text) {
            Ok(back) => {
                assert_eq!(back, prog.insns(), "{syntax:?} disassembly reads back differently:\n{text}")
            }
            Err(e) => panic!("{syntax:?} disassembly does not assemble ({e}):\n{text}"),
        }
    }
}

/// Text to a program: what assembles disassembles and reassembles to the same program.
pub fn assemble(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(insns) = kbpf_isa::asm::assemble(text) else { return };
    let Ok(prog) = Program::new(insns) else { return };
    round_trip_text(&prog);
}

fn load_options() -> &'static kbpf_elf::LoadOptions {
    static OPTS: OnceLock<kbpf_elf::LoadOptions> = OnceLock::new();
    OPTS.get_or_init(kbpf_elf::LoadOptions::default)
}

/// An ELF object through the loader (sections, maps, BTF, relocations): no panic.
pub fn elf(data: &[u8]) {
    let _ = kbpf_elf::open_object(data, load_options());
}

/// Arbitrary slots through the verifier, as two program types: no panic, and an accepted
/// program carries its witness.
pub fn verify_raw(data: &[u8]) {
    let slots: Vec<RawInsn> =
        data.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().unwrap_or([0; 8]))).collect();
    if slots.is_empty() {
        return;
    }
    for pt in [kbpf_verifier::ProgType::Syscall, kbpf_verifier::ProgType::SocketFilter] {
        let opts = kbpf_verifier::VerifyOptions { prog_type: pt, log_level: 1, ..crate::check::options() };
        let out = kbpf_verifier::verify(&slots, &opts);
        assert_eq!(out.accepted, out.witness.is_some(), "accepted without a witness");
    }
}

fn registry() -> &'static kbpf_kfunc::Registry {
    static REG: OnceLock<kbpf_kfunc::Registry> = OnceLock::new();
    REG.get_or_init(crate::check::registry)
}

/// Instructions a run of [`verify_gen`] may execute (a fifth of the harness's: `may_goto`
/// loops run into it, and each such run with a candidate is walked along its path).
pub const VERIFY_GEN_BUDGET: u64 = 4_000;

/// The structured generator driven by the fuzzer's bytes, through the soundness check.
pub fn verify_gen(data: &[u8]) {
    let insns = crate::generate::program(&mut Choices::from_bytes(data));
    let seed = data.iter().fold(0u64, |h, &b| h.rotate_left(5) ^ b as u64);
    let r = crate::check::check_budget(&insns, 4, seed, registry(), VERIFY_GEN_BUDGET);
    if let Some(v) = r.violation {
        panic!("soundness violation {v:?} in\n{}", crate::cases::render(&insns, "").unwrap_or_default());
    }
}

/// A generated program the verifier accepts, on the interpreter and the host JIT (through
/// the facade's embedding API): the same `r0` and the same context afterwards.
pub fn jit_diff(data: &[u8]) {
    let insns = crate::generate::program(&mut Choices::from_bytes(data));
    let Ok(prog) = Program::new(insns) else { return };
    // a loop that runs into the kernel's 1M-instruction limit takes minutes of verifying under
    // the address sanitizer: what the harness caps is left out here too
    let (out, _) = kbpf_verifier::proven::verify_recording(
        &prog.to_slots(),
        &crate::check::options(),
        kbpf_verifier::proven::Recording { no_prune: false, max_insns: Some(crate::check::WALK_INSNS) },
    );
    if !out.accepted {
        return;
    }
    let mut ctx = vec![0u8; crate::check::CTX_BYTES];
    let mut c = Choices::seeded(data.len() as u64);
    for chunk in ctx[..256].chunks_mut(8) {
        let v = c.value();
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    let Some([a, b]) = engines_run(&prog, &ctx) else { return };
    // a run the interpreter stops by budget (a long `may_goto` loop) is not a comparison
    if a.0.as_ref().is_err_and(|e| e.contains("budget")) || a.0.is_err() && b.0.is_err() {
        return;
    }
    assert_eq!(a.0, b.0, "r0 differs between the interpreter and the JIT");
    assert!(a.1 == b.1, "the context differs after the run");
}

/// One engine's run: `r0` (or the error, as text) and the context afterwards.
pub type EngineRun = (Result<u64, String>, Vec<u8>);

/// Instructions the interpreter may run in [`engines_run`]: a `may_goto` loop runs 8M
/// iterations, a minute of the interpreter under the address sanitizer (a libFuzzer timeout);
/// a run past the budget is no comparison.
pub const JIT_DIFF_BUDGET: u64 = 1_000_000;

/// Verifies `prog` as a privileged `syscall` program and runs it once on the interpreter (at
/// most [`JIT_DIFF_BUDGET`] instructions) and once on the host JIT with a copy of `ctx` each;
/// `None` when there is no host JIT or kbpf refuses the program.
pub fn engines_run(prog: &Program, ctx: &[u8]) -> Option<[EngineRun; 2]> {
    use kbpf::{CompileOptions, Engine, Linker, Object, VerifyConfig};
    kbpf::host_backend()?;
    let linker = Linker::new();
    let obj = Object::from_bytes(&prog.to_bytes()).ok()?;
    let main = obj.main().ok()?;
    let verified = main.verify(&linker, &VerifyConfig::of(kbpf_verifier::ProgType::Syscall)).ok()?;
    let run = |engine| -> Option<EngineRun> {
        let opts = CompileOptions { insn_budget: Some(JIT_DIFF_BUDGET), ..CompileOptions::default() };
        let handle = verified.compile_with(engine, &opts).ok()?;
        let mut mem = ctx.to_vec();
        kbpf_kfunc::profiles::reset_prandom();
        Some((handle.run(&mut mem).map_err(|e| e.to_string()), mem))
    };
    Some([run(Engine::Interp)?, run(Engine::Jit)?])
}
