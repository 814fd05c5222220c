//! `kbpf`: assemble, disassemble, run, JIT and verify BPF programs from the command line, with
//! veristat's (`stats`) and bpftool's (`btf dump`) interfaces.
//!
//! Owns argument parsing, printing and reading reports (stats CSVs), and spreading `stats`
//! over threads; every piece of BPF work is a call into the `kbpf` facade. Bad input of any kind ends in one line on stderr and exit code 2, never a panic.

#[macro_use]
mod out;

mod btf;
mod color;
mod disasm;
mod dump;
mod func_sig;
mod generate;
mod helpers;
mod input;
mod jit;
mod jited;
mod listing;
mod plugin;
mod run;
mod stats;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use input::FormatArg;
use kbpf::kfunc::{Registry, profiles};
use kbpf::{Engine, SourceKind};

#[derive(Parser)]
#[command(name = "kbpf", version, about = "The Linux BPF verifier and JITs, in userspace")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Colour: `auto` (only on a terminal, and not when `NO_COLOR` is set), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    color: color::ColorArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EngineArg {
    Interp,
    Jit,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Engine {
        match e {
            EngineArg::Interp => Engine::Interp,
            EngineArg::Jit => Engine::Jit,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SyntaxArg {
    Kernel,
    Llvm,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ProfileArg {
    /// Kernel-numbered helpers plus the test kfunc set.
    Testmod,
    /// The bpf_conformance helper numbering (uBPF's).
    Conformance,
}

impl ProfileArg {
    pub(crate) fn registry(self) -> Registry {
        match self {
            ProfileArg::Testmod => profiles::testmod(),
            ProfileArg::Conformance => profiles::conformance(),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OutFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ArchArg {
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Dump a verified program after the kernel's fixups (`xlated`) or its native code
    /// (`jited`), in bpftool's formats.
    Dump(dump::DumpArgs),
    /// Assemble kernel- or LLVM-syntax assembly into raw 8-byte instructions.
    Asm(disasm::AsmArgs),
    /// Disassemble a program.
    Disasm(disasm::DisasmArgs),
    /// Run a program once and print r0.
    Run(run::RunArgs),
    /// JIT-compile a program and print the native code, one BPF instruction heading each block.
    Jit(jit::JitArgs),
    /// Verify a program like the kernel would and print its log. Exit 0 accepted, 1 rejected,
    /// 2 bad input, 3 accepted but kbpf cannot run it on the engine.
    Verify(verify::VerifyArgs),
    /// Verifier statistics of every program of every object, veristat's interface: a table,
    /// CSV or JSON, or the comparison of two CSVs (`-C`). Exit 0 unless an input cannot be
    /// read (2), or 1 with `--fail-on-reject` when a program is not accepted.
    Stats(stats::StatsArgs),
    /// BTF files: `kbpf btf dump FILE --format c > vmlinux.h`.
    Btf {
        #[command(subcommand)]
        cmd: btf::BtfCmd,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `kbpf completions bash > /etc/bash_completion.d/kbpf`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), of kbpf or of one subcommand: `kbpf man stats | man -l -`.
    Man {
        /// A subcommand (its page is `kbpf-SUBCOMMAND(1)`).
        subcommand: Option<String>,
    },
    /// List the helpers a program type may call, with their prototypes in the kernel's
    /// spelling (`ARG_*`, `RET_*`) and what kbpf does not model of them.
    Helpers {
        /// Program type (`sched_cls`, `xdp`, `tracing` ...).
        #[arg(long)]
        prog_type: String,
        /// Expected attach type (the cgroup and tracing types' sets depend on it).
        #[arg(long)]
        attach_type: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
    },
    /// List the helpers and kfuncs of a profile with their ids and prototypes.
    Kfuncs {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        /// Profile to list.
        #[arg(long, value_enum, default_value = "testmod")]
        profile: ProfileArg,
    },
    /// The bpf_conformance plugin protocol: program hex on stdin, r0 in hex on stdout.
    ///
    /// A trusted-input test harness: programs are NOT verified (the conformance suite has
    /// programs the kernel rejects), and with `--engine jit` they run as native code without
    /// bounds checks, so a hostile program can crash the process. Never feed it untrusted input.
    Plugin {
        /// Input memory as hex bytes (the runner's first argument).
        mem: Option<String>,
        /// Engine.
        #[arg(long, value_enum, default_value = "interp")]
        engine: EngineArg,
        /// The interpreter's instruction budget (default 2^32).
        #[arg(long)]
        insn_budget: Option<u64>,
    },
}

fn source_kind(file: &std::path::Path, format: Option<FormatArg>) -> SourceKind {
    match format {
        Some(FormatArg::Bin) => SourceKind::Bin,
        Some(FormatArg::Asm) => SourceKind::Asm,
        Some(FormatArg::Hex) => SourceKind::Hex,
        Some(FormatArg::Elf) => SourceKind::Elf,
        None => SourceKind::from_path(file),
    }
}

/// Prints a one-line error and returns exit code 2 (bad input).
pub fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("kbpf: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // Busybox style: invoked as `...plugin`, behave as `kbpf plugin` so the bpf_conformance
    // runner can spawn the binary directly (it passes the memory as the first argument).
    if plugin::invoked_as_plugin() {
        return plugin::main_from_argv();
    }
    let cli = Cli::parse();
    let paint = color::Paint::stdout(cli.color);
    match cli.cmd {
        Cmd::Dump(args) => dump::run(args),
        Cmd::Stats(args) => stats::run(&args, paint),
        Cmd::Btf { cmd } => btf::run(&cmd),
        Cmd::Completions { shell } => generate::completions(shell),
        Cmd::Man { subcommand } => generate::man(subcommand.as_deref()),
        Cmd::Asm(args) => disasm::asm(args),
        Cmd::Disasm(args) => disasm::cmd(args),
        Cmd::Run(args) => run::cmd(args),
        Cmd::Plugin { mem, engine, insn_budget } => plugin::run(mem.as_deref(), engine.into(), insn_budget),
        Cmd::Jit(args) => jit::cmd(args),
        Cmd::Verify(args) => verify::cmd(args),
        Cmd::Helpers { prog_type, attach_type, format } => {
            helpers::run(&prog_type, attach_type.as_deref(), format)
        }
        Cmd::Kfuncs { format, profile } => {
            let registry = profile.registry();
            match format {
                OutFormat::Text => out!("{}", listing::text(&registry)),
                OutFormat::Json => outln!("{}", listing::json(&registry)),
            }
            ExitCode::SUCCESS
        }
    }
}
