//! The bpf_conformance plugin protocol (shared/docs/conformance-format.md §4): a
//! trusted-input test harness that runs programs unverified (the suite has programs the kernel
//! rejects), natively with `--engine jit`.
#![allow(unsafe_code)]

use std::io::Read;
use std::process::ExitCode;

use kbpf::Engine;
use kbpf::isa::Program;

/// Whether the binary was started under a name ending in `plugin` (e.g. a `kbpf-plugin` link).
pub fn invoked_as_plugin() -> bool {
    std::env::args_os()
        .next()
        .and_then(|a| std::path::Path::new(&a).file_name().map(|n| n.to_string_lossy().ends_with("plugin")))
        .unwrap_or(false)
}

/// Runner-style argv: `[mem-hex] [--jit|--interpret|--engine E] ...`; memory only if the first
/// argument does not start with `--`.
pub fn main_from_argv() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut mem = None;
    let mut engine = Engine::Interp;
    let mut it = args.iter().peekable();
    if let Some(first) = it.peek()
        && !first.starts_with("--")
    {
        mem = it.next().map(String::as_str);
    }
    while let Some(a) = it.next() {
        match a.as_str() {
            "--jit" => engine = Engine::Jit,
            "--interpret" | "--interp" => engine = Engine::Interp,
            "--engine" => match it.next().map(String::as_str) {
                Some("jit") => engine = Engine::Jit,
                Some("interp") => engine = Engine::Interp,
                other => {
                    eprintln!("kbpf plugin: bad --engine {other:?}");
                    return ExitCode::from(2);
                }
            },
            // Options of other plugins (`--elf`, `--profile`) are not ours: refuse clearly.
            other => {
                eprintln!("kbpf plugin: unsupported option {other}");
                return ExitCode::from(2);
            }
        }
    }
    run(mem, engine, None)
}

/// Reads the program from stdin, runs it, prints r0 in hex.
pub fn run(mem: Option<&str>, engine: Engine, insn_budget: Option<u64>) -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        outln!("cannot read the program from stdin: {e}");
        return ExitCode::from(2);
    }
    let bytes = match kbpf::parse_hex(&text) {
        Ok(b) => b,
        Err(e) => {
            outln!("program: {e}");
            return ExitCode::from(2);
        }
    };
    let mut mem = match mem.map(kbpf::parse_hex).transpose() {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => {
            outln!("memory: {e}");
            return ExitCode::from(2);
        }
    };
    let slots = match Program::from_bytes(&bytes) {
        Ok(p) => p.to_slots(),
        Err(e) => {
            outln!("{e}");
            return ExitCode::from(1);
        }
    };
    let linker = kbpf::Linker::with_registry(kbpf::kfunc::profiles::conformance());
    let prog = kbpf::Prog::from(kbpf::Module::plain(slots));
    let handle = match engine {
        Engine::Interp => {
            prog.load_unverified(&linker, &kbpf::CompileOptions { insn_budget, ..Default::default() })
        }
        // SAFETY: the plugin is a trusted-input test harness (its help says so): the
        // bpf_conformance runner feeds it the suite's programs, which run unverified because
        // the suite has programs the kernel rejects.
        Engine::Jit => unsafe { prog.compile_unverified(&linker, engine, &kbpf::CompileOptions::default()) },
    };
    let result = handle.and_then(|h| h.run(&mut mem));
    match result {
        Ok(r0) => {
            outln!("{r0:x}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            outln!("{e}");
            ExitCode::from(1)
        }
    }
}
