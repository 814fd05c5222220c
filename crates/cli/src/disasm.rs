//! `kbpf asm` and `kbpf disasm`: assembly to raw instructions and back, with source lines
//! from line info.

use std::path::PathBuf;
use std::process::ExitCode;

use kbpf::SourceKind;
use kbpf::isa::disasm::{self, Syntax};

use crate::input::Input;
use crate::{ProfileArg, SyntaxArg, fail, listing};

/// `kbpf disasm`'s arguments.
#[derive(clap::Args)]
pub struct DisasmArgs {
    #[command(flatten)]
    pub input: Input,
    /// Output syntax.
    #[arg(long, value_enum, default_value = "kernel")]
    pub syntax: SyntaxArg,
    /// Print immediates in hex (LLVM syntax only, as llvm-objdump 19 does by default).
    #[arg(long)]
    pub hex: bool,
    /// Helpers and kfuncs `call NAME` may name (assembly input).
    #[arg(long, value_enum, default_value = "testmod")]
    pub profile: ProfileArg,
    /// Show the source lines (`; line @ file:N`, like the verifier log) above the
    /// instructions: the default for an ELF object with BTF line info.
    #[arg(long, conflicts_with = "no_source")]
    pub source: bool,
    /// Do not show source lines.
    #[arg(long)]
    pub no_source: bool,
}

/// Runs `kbpf disasm`.
pub fn cmd(args: DisasmArgs) -> std::process::ExitCode {
    let DisasmArgs { input, syntax, hex, profile, source, no_source } = args;
    match input.read(&profile.registry()) {
        Ok(m) => {
            let syntax = match syntax {
                SyntaxArg::Kernel => Syntax::Kernel,
                SyntaxArg::Llvm => Syntax::Llvm { hex },
            };
            // With maps: assembly that reads back into the same module (map
            // directives, named map references, no pc prefixes).
            let program = match m.program() {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let text = if m.maps.is_empty() {
                disasm::disassemble(&program, syntax)
            } else {
                disasm::disassemble_module(&program, &m.maps, syntax)
            };
            if source && m.line_info.is_empty() {
                eprintln!("kbpf: no line info in this input (an ELF object compiled with -g has it)");
            }
            if no_source || m.line_info.is_empty() {
                out!("{text}");
            } else {
                out!("{}", listing::with_source(&text, &program, &m));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `kbpf asm`'s arguments.
#[derive(clap::Args)]
pub struct AsmArgs {
    /// Assembly file.
    pub file: PathBuf,
    /// Output file for the raw instructions (the main program's slots as written).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Helpers and kfuncs `call NAME` may name.
    #[arg(long, value_enum, default_value = "testmod")]
    pub profile: ProfileArg,
}

/// Runs `kbpf asm`.
pub fn asm(args: AsmArgs) -> std::process::ExitCode {
    let AsmArgs { file, output, profile } = args;
    // The slots as written, like `verify` reads them: `kbpf verify OUT` answers as for
    // the source (r11/r12 misuse included).
    match kbpf::read_module(&file, SourceKind::Asm, &profile.registry(), None) {
        Ok(m) => {
            let bytes: Vec<u8> = m.slots.iter().flat_map(|s| s.to_bytes()).collect();
            match std::fs::write(&output, bytes) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format_args!("{}: {e}", output.display())),
            }
        }
        Err(e) => fail(e),
    }
}
