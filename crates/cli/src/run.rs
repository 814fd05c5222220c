//! `kbpf run`: a program run once (r0 printed) or `--repeat N` times, timed like `bpftool prog
//! run ... repeat N` (the mean of a run; verifying and compiling are not timed); tc and xdp
//! programs run like the kernel's `BPF_PROG_TEST_RUN`.

use std::process::ExitCode;

use clap::Args;
use kbpf::RunOptions;

use crate::input::Input;
use crate::{EngineArg, ProfileArg, fail, listing};

/// `kbpf run`'s arguments.
#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: Input,
    /// Engine.
    #[arg(long, value_enum, default_value = "interp")]
    pub engine: EngineArg,
    /// Input buffer as hex bytes (r1 points to it, r2 holds its length). Default: the
    /// source's `.mem` directive, else an empty buffer.
    #[arg(long)]
    pub mem: Option<String>,
    /// Refuse what the kernel refuses (stack arguments in the interpreter).
    #[arg(long)]
    pub kernel_compat: bool,
    /// Helpers and kfuncs the program may call.
    #[arg(long, value_enum, default_value = "testmod")]
    pub profile: ProfileArg,
    /// Run without verifying first: interpreter only (it checks every access itself; native
    /// code runs only verified programs).
    #[arg(long)]
    pub no_verify: bool,
    /// The interpreter's instruction budget (default 2^32).
    #[arg(long)]
    pub insn_budget: Option<u64>,
    /// kbpf extension: global functions may take more than 5 arguments (see `verify`).
    #[arg(long)]
    pub allow_global_stack_args: bool,
    /// After the run, print every map's contents (`key: value` in hex, arrays in index
    /// order, hash maps by key).
    #[arg(long)]
    pub dump_maps: bool,
    /// Run as this program type. `tc` (`sched_cls`) and `xdp` run like the kernel's
    /// `BPF_PROG_TEST_RUN`: the program is verified for that type, its context loads
    /// rewritten, and r1 points to a context around the packet (`--packet`, `--pkt-v4`).
    /// ELF sections imply it by libbpf's names; one of a type kbpf does not model is an
    /// error.
    #[arg(long)]
    pub prog_type: Option<String>,
    /// Expected attach type, by its kernel uapi name (`xdp_devmap` or `BPF_XDP_DEVMAP`);
    /// default: the ELF section's, else none. The kernel test-runs no devmap or cpumap
    /// xdp program, and neither does kbpf.
    #[arg(long)]
    pub attach_type: Option<String>,
    /// The packet for `--prog-type`, as hex bytes.
    #[arg(long)]
    pub packet: Option<String>,
    /// Use the kernel selftests' `pkt_v4` (Ethernet + IPv4 + TCP, 54 bytes) as the packet.
    #[arg(long)]
    pub pkt_v4: bool,
    /// Run N times on the compiled program and print bpftool's `Return value: R, duration
    /// (average): Tns` (the mean time of a run, compiling excluded) instead of r0. The runs
    /// share the input buffer, as the kernel's repeated test runs share their data.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: Option<u32>,
}

/// Runs `kbpf run`.
pub fn cmd(args: RunArgs) -> ExitCode {
    let RunArgs {
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
    } = args;
    let expected_attach_type = match attach_type.as_deref().map(kbpf::attach_type_by_name).transpose() {
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
    // (socket filters, cgroup skb and lwt programs too when a packet is given; without one they
    // keep their plain run on the --mem buffer)
    let packet_given = packet.is_some() || pkt_v4;
    let packet_type = match given {
        Ok(t) => Some(t).filter(|t| {
            kbpf::CtxLayout::of(*t).is_some()
                && (packet_given
                    || matches!(t, kbpf::verifier::ProgType::SchedCls | kbpf::verifier::ProgType::Xdp))
        }),
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
            return fail("--no-verify: a packet test run always verifies (the kernel's test run does)");
        }
        let run_opts = RunOptions { kernel_compat, ..Default::default() };
        return match kbpf::test_run(&module, &maps, &registry, opts, engine.into(), &data, run_opts) {
            Ok(out) => {
                outln!("{:#x}", out.retval);
                if dump_maps {
                    out!("{}", listing::dump_maps(&maps));
                }
                ExitCode::SUCCESS
            }
            Err(kbpf::TestRunError::Rejected(e)) => {
                eprintln!("kbpf: the verifier rejects the program ({}): {}", e.errno().name(), e.message());
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
            kernel: if input.stack_args() { kbpf::Kernel::V6_18StackArgs } else { kbpf::Kernel::V6_18 },
            allow_global_stack_args,
            kernel_interpreter: kernel_compat && matches!(engine, EngineArg::Interp),
            ..Default::default()
        };
        match prog.verify(&linker, &config) {
            Ok(v) => v.compile_with(engine.into(), &copts),
            Err(e) => Err(e.reason),
        }
    };
    let result = handle.and_then(|h| Ok((repeated(&h, &mut mem, repeat)?, h)));
    match result {
        Ok(((r0, mean), h)) => {
            match (repeat, mean) {
                // bpftool prog run's wording
                (Some(n), Some(ns)) => {
                    outln!("Return value: {r0}, duration{}: {ns}ns", if n > 1 { " (average)" } else { "" })
                }
                _ => outln!("{r0:#x}"),
            }
            if dump_maps {
                out!("{}", listing::dump_maps(h.map_set()));
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

/// Runs the compiled program once, or `repeat` times timing the runs; r0 of the last run and
/// the mean nanoseconds of one.
pub fn repeated(
    h: &kbpf::Handle,
    mem: &mut [u8],
    repeat: Option<u32>,
) -> Result<(u64, Option<u64>), kbpf::RunError> {
    let Some(n) = repeat else { return Ok((h.run(mem)?, None)) };
    let start = std::time::Instant::now();
    let mut r0 = 0;
    for _ in 0..n {
        r0 = h.run(mem)?;
    }
    let mean = start.elapsed().as_nanos() / u128::from(n);
    Ok((r0, Some(u64::try_from(mean).unwrap_or(u64::MAX))))
}
