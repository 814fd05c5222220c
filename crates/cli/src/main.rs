//! `kbpf`: assemble, disassemble, run, JIT and verify BPF programs from the command line, with
//! veristat's (`stats`) and bpftool's (`btf dump`) interfaces.
//!
//! Owns argument parsing, printing and reading reports (stats CSVs), and spreading `stats`
//! over threads; every piece of BPF work is a call into the `kbpf` facade. Bad input of any kind ends in one line on stderr and exit code 2, never a panic.

mod btf;
mod color;
mod dump;
mod generate;
mod helpers;
mod input;
mod jited;
mod listing;
mod plugin;
mod run;
mod stats;
mod verify;

use std::path::PathBuf;

use input::{FormatArg, Input};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use kbpf::isa::disasm::{self, Syntax};
use kbpf::kfunc::{Registry, profiles};
use kbpf::{Engine, RunOptions, SourceKind};

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
enum EngineArg {
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
enum SyntaxArg {
    Kernel,
    Llvm,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// Kernel-numbered helpers plus the test kfunc set.
    Testmod,
    /// The bpf_conformance helper numbering (uBPF's).
    Conformance,
}

impl ProfileArg {
    fn registry(self) -> Registry {
        match self {
            ProfileArg::Testmod => profiles::testmod(),
            ProfileArg::Conformance => profiles::conformance(),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
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
    Asm {
        /// Assembly file.
        file: PathBuf,
        /// Output file for the raw instructions (the main program's slots as written).
        #[arg(short, long)]
        output: PathBuf,
        /// Helpers and kfuncs `call NAME` may name.
        #[arg(long, value_enum, default_value = "testmod")]
        profile: ProfileArg,
    },
    /// Disassemble a program.
    Disasm {
        #[command(flatten)]
        input: Input,
        /// Output syntax.
        #[arg(long, value_enum, default_value = "kernel")]
        syntax: SyntaxArg,
        /// Print immediates in hex (LLVM syntax only, as llvm-objdump 19 does by default).
        #[arg(long)]
        hex: bool,
        /// Helpers and kfuncs `call NAME` may name (assembly input).
        #[arg(long, value_enum, default_value = "testmod")]
        profile: ProfileArg,
        /// Show the source lines (`; line @ file:N`, like the verifier log) above the
        /// instructions: the default for an ELF object with BTF line info.
        #[arg(long, conflicts_with = "no_source")]
        source: bool,
        /// Do not show source lines.
        #[arg(long)]
        no_source: bool,
    },
    /// Run a program once and print r0.
    Run {
        #[command(flatten)]
        input: Input,
        /// Engine.
        #[arg(long, value_enum, default_value = "interp")]
        engine: EngineArg,
        /// Input buffer as hex bytes (r1 points to it, r2 holds its length). Default: the
        /// source's `.mem` directive, else an empty buffer.
        #[arg(long)]
        mem: Option<String>,
        /// Refuse what the kernel refuses (stack arguments in the interpreter).
        #[arg(long)]
        kernel_compat: bool,
        /// Helpers and kfuncs the program may call.
        #[arg(long, value_enum, default_value = "testmod")]
        profile: ProfileArg,
        /// Run without verifying first: interpreter only (it checks every access itself; native
        /// code runs only verified programs).
        #[arg(long)]
        no_verify: bool,
        /// The interpreter's instruction budget (default 2^32).
        #[arg(long)]
        insn_budget: Option<u64>,
        /// kbpf extension: global functions may take more than 5 arguments (see `verify`).
        #[arg(long)]
        allow_global_stack_args: bool,
        /// After the run, print every map's contents (`key: value` in hex, arrays in index
        /// order, hash maps by key).
        #[arg(long)]
        dump_maps: bool,
        /// Run as this program type. `tc` (`sched_cls`) and `xdp` run like the kernel's
        /// `BPF_PROG_TEST_RUN`: the program is verified for that type, its context loads
        /// rewritten, and r1 points to a context around the packet (`--packet`, `--pkt-v4`).
        /// ELF sections imply it by libbpf's names; one of a type kbpf does not model is an
        /// error.
        #[arg(long)]
        prog_type: Option<String>,
        /// Expected attach type, by its kernel uapi name (`xdp_devmap` or `BPF_XDP_DEVMAP`);
        /// default: the ELF section's, else none. The kernel test-runs no devmap or cpumap
        /// xdp program, and neither does kbpf.
        #[arg(long)]
        attach_type: Option<String>,
        /// The packet for `--prog-type`, as hex bytes.
        #[arg(long)]
        packet: Option<String>,
        /// Use the kernel selftests' `pkt_v4` (Ethernet + IPv4 + TCP, 54 bytes) as the packet.
        #[arg(long)]
        pkt_v4: bool,
        /// Run N times on the compiled program and print bpftool's `Return value: R, duration
        /// (average): Tns` (the mean time of a run, compiling excluded) instead of r0. The runs
        /// share the input buffer, as the kernel's repeated test runs share their data.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        repeat: Option<u32>,
    },
    /// JIT-compile a program and print the native code, one BPF instruction heading each block.
    Jit {
        /// Print the code (the only action so far; kept for `bpftool`-like muscle memory).
        #[arg(long)]
        dump: bool,
        /// Target architecture (any host can dump either).
        #[arg(long, value_enum, default_value = "x86_64")]
        arch: ArchArg,
        #[command(flatten)]
        input: Input,
        /// Helpers and kfuncs the program may call.
        #[arg(long, value_enum, default_value = "testmod")]
        profile: ProfileArg,
    },
    /// Verify a program like the kernel would and print its log. Exit 0 accepted, 1 rejected,
    /// 2 bad input, 3 accepted but kbpf cannot run it on the engine.
    Verify {
        #[command(flatten)]
        input: Input,
        /// Program type: socket_filter, xdp, tc (sched_cls), syscall, kprobe, tracepoint,
        /// raw_tracepoint, raw_tracepoint_writable, perf_event, mem. Default: what the ELF
        /// section implies by libbpf's section names (`socket`, `tc`, `tcx/ingress`, `xdp`,
        /// `syscall`, `kprobe/F`, `tp/C/E`, `raw_tp/T` ...; a section of another type is an
        /// error), else socket_filter.
        #[arg(long)]
        prog_type: Option<String>,
        /// Expected attach type, by its kernel uapi name (`xdp_devmap` or `BPF_XDP_DEVMAP`):
        /// checked like `BPF_PROG_LOAD` does and used by the context rules (a devmap xdp
        /// program may read `egress_ifindex`). Default: the ELF section's, else none (0).
        #[arg(long)]
        attach_type: Option<String>,
        /// Context size for `--prog-type mem`.
        #[arg(long, default_value_t = 64)]
        ctx_size: u32,
        /// The architecture of the kernel a kprobe or perf_event program is for (the layout
        /// of `struct pt_regs` in its context): x86_64 (default) or arm64.
        #[arg(long)]
        target_arch: Option<kbpf::verifier::TargetArch>,
        /// Log level bits like the kernel's: 1 basic, 2 verbose, 4 stats.
        #[arg(long, default_value_t = 1)]
        log_level: u32,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        /// Helpers and kfuncs the program may call.
        #[arg(long, value_enum, default_value = "testmod")]
        profile: ProfileArg,
        /// Engine the program is bound for (default: a JIT, like a kernel with the JIT on). An
        /// accepted program that calls a helper or kfunc this engine cannot run keeps the
        /// kernel's verdict and log, gets an `unsupported:` line and exit code 3.
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        /// With `--engine interp`: refuse what the kernel's interpreter refuses (stack args).
        #[arg(long)]
        kernel_compat: bool,
        /// kbpf extension: global functions may take more than 5 arguments (6..12 through r11);
        /// the kernel refuses them.
        #[arg(long)]
        allow_global_stack_args: bool,
    },
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
        Cmd::Asm { file, output, profile } => {
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
        Cmd::Disasm { input, syntax, hex, profile, source, no_source } => {
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
                        print!("{text}");
                    } else {
                        print!("{}", listing::with_source(&text, &program, &m));
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Cmd::Run {
            input,
            engine,
            mem,
            kernel_compat,
            profile,
            no_verify,
            insn_budget,
            allow_global_stack_args,
            dump_maps,
            prog_type,
            attach_type,
            packet,
            pkt_v4,
            repeat,
        } => {
            let expected_attach_type = match attach_type.as_deref().map(kbpf::attach_type_by_name).transpose()
            {
                Ok(a) => a,
                Err(e) => return fail(format_args!("--attach-type: {e}")),
            };
            let registry = profile.registry();
            let module = match input.read_as(&registry, prog_type.as_deref()) {
                Ok(m) => m,
                Err(e) => return fail(e),
            };
            let given = match (prog_type.as_deref(), module.section.as_deref()) {
                (Some(name), _) => kbpf::prog_type_by_name(name, 0).map_err(|e| format!("--prog-type: {e}")),
                (None, Some(section)) => kbpf::prog_type_for_section(section).map_err(|e| e.to_string()),
                (None, None) => Ok(kbpf::verifier::ProgType::Mem { ctx_size: 0 }),
            };
            // the loader's refusal (attach target, extern) once the type is one kbpf runs
            let given = match module.elf.as_ref().and_then(|f| f.error.as_ref()) {
                Some(e) if given.is_ok() => Err(e.to_string()),
                _ => given,
            };
            // a tracing program's context is a probed kernel's state: nothing to run it on here
            if let Ok(t) = &given
                && t.ops().is_tracing()
            {
                return fail(format_args!(
                    "a {} program cannot run in userspace (its context is the traced kernel's state); `kbpf verify` checks it",
                    t.ops().name()
                ));
            }
            // a syscall program is verified as one (its context is padded to what it may read)
            let syscall = matches!(given, Ok(kbpf::verifier::ProgType::Syscall));
            // Packet types run like BPF_PROG_TEST_RUN; the others get the --mem buffer as context.
            let packet_type = match given {
                Ok(t) => Some(t).filter(|t| kbpf::CtxLayout::of(*t).is_some()),
                Err(e) => return fail(e),
            };
            if let (Some(_), Some(_)) = (packet_type, repeat) {
                return fail("--repeat: only plain runs so far (not the tc/xdp test runs)");
            }
            if let Some(pt) = packet_type {
                let data = match (packet.as_deref().map(kbpf::parse_hex).transpose(), pkt_v4) {
                    (Err(e), _) => return fail(format_args!("--packet: {e}")),
                    (Ok(Some(d)), _) => d,
                    (Ok(None), true) => kbpf::pkt_v4(),
                    (Ok(None), false) => return fail("a packet program needs --packet HEX or --pkt-v4"),
                };
                let maps = match kbpf::create_maps(&module) {
                    Ok(m) => m,
                    Err(e) => return fail(e),
                };
                let opts = kbpf::verifier::VerifyOptions {
                    prog_type: pt,
                    allow_global_stack_args,
                    stack_args: input.stack_args(),
                    expected_attach_type,
                    ..Default::default()
                };
                if no_verify {
                    return fail(
                        "--no-verify: a packet test run always verifies (the kernel's test run does)",
                    );
                }
                let run_opts = RunOptions { kernel_compat, ..Default::default() };
                return match kbpf::test_run(&module, &maps, &registry, opts, engine.into(), &data, run_opts) {
                    Ok(out) => {
                        println!("{:#x}", out.retval);
                        if dump_maps {
                            print!("{}", listing::dump_maps(&maps));
                        }
                        ExitCode::SUCCESS
                    }
                    Err(kbpf::TestRunError::Rejected(e)) => {
                        eprintln!(
                            "kbpf: the verifier rejects the program ({}): {}",
                            e.errno().name(),
                            e.message()
                        );
                        ExitCode::from(1)
                    }
                    Err(e) => {
                        eprintln!("kbpf: {e}");
                        ExitCode::from(1)
                    }
                };
            }
            // a plain run loads no attach type: saying one would be ignored, so it is an error
            if let Some(a) = expected_attach_type {
                return fail(format_args!(
                    "--attach-type {}: only packet runs (tc, xdp) take an expected attach type",
                    a.uapi_name()
                ));
            }
            // --mem, else the input the source declares (`.mem`), else none
            let mut mem = match mem.as_deref().map(kbpf::parse_hex).transpose() {
                Ok(m) => m.or_else(|| module.input.clone()).unwrap_or_default(),
                Err(e) => return fail(format_args!("--mem: {e}")),
            };
            if no_verify && matches!(engine, EngineArg::Jit) {
                return fail("--no-verify runs only on the interpreter (native code needs the verifier)");
            }
            // the facade verifies first (the input buffer is the context) unless told not to
            let linker = kbpf::Linker::with_registry(registry);
            let prog = kbpf::Prog::from(module);
            let copts = kbpf::CompileOptions { insn_budget, kernel_interpreter: kernel_compat };
            let handle = if no_verify {
                prog.load_unverified(&linker, &copts)
            } else {
                let config = kbpf::VerifyConfig {
                    prog_type: Some(if syscall {
                        kbpf::verifier::ProgType::Syscall
                    } else {
                        kbpf::verifier::ProgType::Mem { ctx_size: mem.len() as u32 }
                    }),
                    kernel: if input.stack_args() {
                        kbpf::Kernel::V6_18StackArgs
                    } else {
                        kbpf::Kernel::V6_18
                    },
                    allow_global_stack_args,
                    kernel_interpreter: kernel_compat && matches!(engine, EngineArg::Interp),
                    ..Default::default()
                };
                match prog.verify(&linker, &config) {
                    Ok(v) => v.compile_with(engine.into(), &copts),
                    Err(e) => Err(e.reason),
                }
            };
            let result = handle.and_then(|h| Ok((run::repeated(&h, &mut mem, repeat)?, h)));
            match result {
                Ok(((r0, mean), h)) => {
                    match (repeat, mean) {
                        // bpftool prog run's wording
                        (Some(n), Some(ns)) => println!(
                            "Return value: {r0}, duration{}: {ns}ns",
                            if n > 1 { " (average)" } else { "" }
                        ),
                        _ => println!("{r0:#x}"),
                    }
                    if dump_maps {
                        print!("{}", listing::dump_maps(h.map_set()));
                    }
                    ExitCode::SUCCESS
                }
                Err(kbpf::RunError::Rejected(e)) => {
                    eprintln!(
                        "kbpf: the verifier rejects the program ({}): {} (--no-verify runs it on the interpreter anyway)",
                        e.errno().name(),
                        e.message()
                    );
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("kbpf: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Cmd::Plugin { mem, engine, insn_budget } => plugin::run(mem.as_deref(), engine.into(), insn_budget),
        Cmd::Jit { dump: _, arch, input, profile } => {
            let registry = profile.registry();
            let module = match input.read(&registry) {
                Ok(m) => m,
                Err(e) => return fail(e),
            };
            dump::note_if_rejected(&module, &registry);
            // Map references become the addresses of maps created for the dump, as for a run.
            let prog = match module.program().map_err(|e| e.to_string()).and_then(|p| {
                kbpf::create_maps(&module)
                    .map_err(kbpf::RunError::from)
                    .and_then(|maps| kbpf::resolve_maps(&p, &maps))
                    .map_err(|e| e.to_string())
            }) {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let arch = match arch {
                ArchArg::X86_64 => kbpf::Arch::X86_64,
                ArchArg::Arm64 => kbpf::Arch::Arm64,
            };
            match kbpf::backend(arch).dump(&prog, &registry, &Default::default()) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("kbpf: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Cmd::Verify {
            input,
            prog_type,
            attach_type,
            ctx_size,
            target_arch,
            log_level,
            format,
            profile,
            engine,
            kernel_compat,
            allow_global_stack_args,
        } => {
            let pt = match kbpf::prog_type_by_name(prog_type.as_deref().unwrap_or("socket_filter"), ctx_size)
            {
                Ok(pt) => pt,
                Err(e) => return fail(format_args!("--prog-type: {e}")),
            };
            let expected_attach_type = match attach_type.as_deref().map(kbpf::attach_type_by_name).transpose()
            {
                Ok(a) => a,
                Err(e) => return fail(format_args!("--attach-type: {e}")),
            };
            // only the kernel-compatible interpreter is a non-JIT target; kbpf's runs stack args
            let jit = !(kernel_compat && matches!(engine, Some(EngineArg::Interp)));
            let opts = kbpf::verifier::VerifyOptions {
                prog_type: pt,
                log_level,
                jit,
                allow_global_stack_args,
                expected_attach_type,
                ..Default::default()
            };
            let format = match format {
                OutFormat::Text => verify::Format::Text,
                OutFormat::Json => verify::Format::Json,
            };
            verify::run(
                &input,
                verify::Target {
                    opts,
                    prog_type: prog_type.as_deref(),
                    engine: engine.map_or(Engine::Jit, Engine::from),
                    target_arch,
                },
                format,
                &profile.registry(),
            )
        }
        Cmd::Helpers { prog_type, attach_type, format } => {
            helpers::run(&prog_type, attach_type.as_deref(), format)
        }
        Cmd::Kfuncs { format, profile } => {
            let registry = profile.registry();
            match format {
                OutFormat::Text => print!("{}", listing::text(&registry)),
                OutFormat::Json => println!("{}", listing::json(&registry)),
            }
            ExitCode::SUCCESS
        }
    }
}
