//! An `exit` with junk in its offset: Linux 6.18 ignores the field (its walk checks an exit's
//! source, immediate and registers only) and loads the program, so kbpf accepts it and every
//! engine runs it; byte-exact decoding still refuses the junk.

use kbpf::jit::JitOptions;
use kbpf::kfunc::profiles;
use kbpf::verifier::{ProgType, VerifyOptions, verify};
use kbpf::{Arch, Engine, Module, RunOptions};

mod support;
use kbpf_isa::{Insn, RawInsn};

/// `r0 = 42; exit` with the exit's offset `off`.
fn prog(off: i16) -> Vec<RawInsn> {
    vec![RawInsn::new(0xb7, 0, 0, 0, 42), RawInsn::new(0x95, 0, 0, off, 0)]
}

#[test]
fn accepted_and_run_on_every_engine() {
    let registry = profiles::testmod();
    for off in [1, -1, 5, i16::MAX] {
        let module = Module::plain(prog(off));
        let mut engines = vec![Engine::Interp];
        if kbpf::host_backend().is_some() {
            engines.push(Engine::Jit);
        }
        for engine in engines {
            let mut mem = [0u8; 64];
            let r0 = support::run_once(&module, engine, &registry, &mut mem, RunOptions::default());
            assert_eq!(r0.expect("runs").0, 42, "off {off} on {engine:?}");
        }
        // both backends emit the witness's code (arm64 is emitted, not run, on another host)
        let opts = VerifyOptions { prog_type: ProgType::SocketFilter, jit: true, ..VerifyOptions::default() };
        let out = verify(&prog(off), &opts);
        let w = out.witness.expect("accepted");
        assert_eq!(w.program().insns()[1], Insn::Exit);
        for arch in [Arch::X86_64, Arch::Arm64] {
            let text = kbpf::backend(arch).dump(w.program(), &registry, &JitOptions::default());
            assert!(text.is_ok(), "off {off} on {arch:?}: {text:?}");
        }
    }
}

#[test]
fn byte_exact_decoding_keeps_refusing_the_offset() {
    // the assembler, disassembler and `Program::from_bytes` round-trip bytes exactly, so the
    // junk has no `Insn`; only the verifier's kernel reading ignores it
    assert!(kbpf_isa::decode_insn(prog(5)[1], None).is_err());
    assert!(kbpf_isa::decode_insn(prog(0)[1], None).is_ok());
}
