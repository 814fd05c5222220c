//! `kbpf verify`: the kernel's verdict and log, as text or JSON.

use std::process::ExitCode;

use kbpf::kfunc::Registry;
use kbpf::verifier::{RejectKind, VerifyOptions, VerifyOutcome};
use kbpf::{Engine, Module, SourceKind, Unsupported};

use crate::input::Input;
use crate::listing::json_str;
use crate::{EngineArg, OutFormat, ProfileArg, fail};

/// How the result is printed.
#[derive(Clone, Copy)]
pub enum Format {
    Text,
    Json,
}

/// What to verify a file as: options, the `--prog-type` name (else the ELF section types the
/// program), and the engine.
pub struct Target<'a> {
    pub opts: VerifyOptions,
    pub prog_type: Option<&'a str>,
    /// The engine whose registry support is checked for an accepted program.
    pub engine: Engine,
    /// `--target-arch`: the architecture of the kernel a tracing program is for.
    pub target_arch: Option<kbpf::verifier::TargetArch>,
}

/// Runs the verifier on the input and prints the outcome. Exit 0 accepted, 1 rejected, 2 bad
/// input, 3 accepted but `engine` cannot run a helper or kfunc it calls.
pub fn run(input: &Input, target: Target<'_>, format: Format, registry: &Registry) -> ExitCode {
    let Target { mut opts, prog_type, engine, target_arch } = target;
    opts.kfuncs = kbpf::kfunc_table(registry);
    opts.stack_args = input.stack_args();
    let kind = input.kind();
    let module = match kind {
        SourceKind::Bin | SourceKind::Hex => {
            if let Some(s) = input.section.as_deref().or(input.prog.as_deref()) {
                return crate::fail(kbpf::SourceError::SectionNotElf(s.to_string()));
            }
            match kbpf::read_raw_slots(&input.file, kind) {
                Ok(slots) => Module::plain(slots),
                Err(e) => return crate::fail(e),
            }
        }
        _ => match input.read_as(registry, prog_type) {
            Ok(m) => m,
            Err(e) => {
                // an object the loader refuses as a whole: still one JSON line naming the program
                if let (Format::Json, SourceKind::Elf) = (format, kind) {
                    let name = input.prog.as_deref().map_or_else(|| "null".into(), json_str);
                    let section = input.section.as_deref().map_or_else(|| "null".into(), json_str);
                    outln!(
                        "{{\"prog_name\":{name},\"section\":{section},\"accepted\":null,\"kind\":\"loader\",\"error\":{}}}",
                        json_str(&e)
                    );
                }
                return crate::fail(e);
            }
        },
    };
    // which helpers the target kernel has at all (lockdown, CONFIG_BPF_KPROBE_OVERRIDE)
    opts.kernel_config = match target_kernel_config(input.kconfig.as_deref()) {
        Ok(k) => k,
        Err(e) => return crate::fail(e),
    };
    let (outcome, unsupported, stack_depth) =
        match judge(&module, Target { opts, prog_type, engine, target_arch }, registry) {
            Judged::Refused { kind, error } => return refuse(format, &module, kind, error),
            Judged::Verified { outcome, unsupported, stack_depth } => (outcome, unsupported, stack_depth),
        };
    let facts = Facts { module: &module, stack_depth };
    match format {
        Format::Text => {
            for (map, what) in facts.map_defaults() {
                outln!("kbpf: map '{map}': {what}");
            }
            print_text(&outcome, &module);
            if let Some(u) = &unsupported {
                outln!("unsupported: kbpf cannot run this program: {u}");
            }
        }
        Format::Json => outln!("{}", json(&outcome, unsupported.as_ref(), &facts)),
    }
    match (outcome.accepted, unsupported) {
        (true, None) => ExitCode::SUCCESS,
        (true, Some(_)) => ExitCode::from(3),
        (false, _) => ExitCode::from(1),
    }
}

/// What the verifier (or the loader before it) made of one program.
pub enum Judged {
    /// Not verified: the loader refused it (`kind` "loader") or kbpf does not model its type
    /// ("unsupported").
    Refused { kind: &'static str, error: String },
    /// The verifier's outcome, the engine's support and the per-subprogram stack depths.
    Verified { outcome: Box<VerifyOutcome>, unsupported: Option<Unsupported>, stack_depth: Option<Vec<u32>> },
}

/// Verifies one module exactly as `kbpf verify` does: the loader's refusal first, the section's
/// program type unless one was given, the stats block asked for (and taken out of the log again
/// unless `opts.log_level` has 4). `kbpf stats` shares it so both report the same verdicts.
pub fn judge(module: &Module, target: Target<'_>, registry: &Registry) -> Judged {
    let Target { mut opts, prog_type, engine, target_arch } = target;
    if let Some(facts) = &module.elf {
        // the loader's refusal first (libbpf fails before the kernel sees the program); a
        // section libbpf cannot type gets the facade's message naming it below
        if let Some(e) = facts.error.as_ref().filter(|e| !matches!(e, kbpf::ProgError::UnknownSection { .. }))
        {
            return Judged::Refused { kind: "loader", error: e.to_string() };
        }
        if prog_type.is_none()
            && let Some(section) = module.section.as_deref()
        {
            match kbpf::prog_type_for_section(section) {
                Ok(pt) => opts.prog_type = pt,
                Err(e) => return Judged::Refused { kind: "unsupported", error: e.to_string() },
            }
        }
    }
    if let Some(arch) = target_arch {
        opts.prog_type = opts.prog_type.with_arch(arch);
    }
    // the kernel's per-subprogram stack depths are in the stats block: ask for it, and take it
    // out of the log again when the caller did not ask for level 4
    let user_level = opts.log_level;
    if user_level != 0 {
        opts.log_level |= 4;
    }
    let (mut outcome, unsupported) = kbpf::verify_for_engine(module, opts, registry, engine);
    let stack_depth = take_stack_depth(&mut outcome.log, user_level & 4 == 0);
    Judged::Verified { outcome: Box::new(outcome), unsupported, stack_depth }
}

/// A program kbpf will not verify (a type it does not model, or the loader's refusal): the
/// error line and exit 2, and in JSON also the loader's facts with `accepted: null`, so that a
/// corpus run still sees the program's type and instructions.
fn refuse(format: Format, module: &Module, kind: &str, e: impl std::fmt::Display) -> ExitCode {
    if let Format::Json = format {
        let facts = Facts { module, stack_depth: None };
        outln!(
            "{{{},\"accepted\":null,\"kind\":{},\"error\":{}}}",
            facts.json_fields(),
            json_str(kind),
            json_str(&e.to_string())
        );
    }
    crate::fail(e)
}

/// The `stack depth A+B` line's numbers; with `strip`, that line and the `verification time`
/// line before it leave the log.
fn take_stack_depth(log: &mut String, strip: bool) -> Option<Vec<u32>> {
    let start = log.rfind("stack depth ")?;
    if start != 0 && !log[..start].ends_with('\n') {
        return None;
    }
    let end = log[start..].find('\n').map_or(log.len(), |e| start + e + 1);
    let depths = log[start + "stack depth ".len()..end]
        .trim()
        .split('+')
        .map(str::parse)
        .collect::<Result<Vec<u32>, _>>()
        .ok()?;
    if strip {
        let time = log[..start].trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
        let from = if log[time..start].starts_with("verification time ") { time } else { start };
        log.replace_range(from..end, "");
    }
    Some(depths)
}

/// What the JSON says about the program beside the verdict.
struct Facts<'a> {
    module: &'a Module,
    stack_depth: Option<Vec<u32>>,
}

impl Facts<'_> {
    fn map_defaults(&self) -> Vec<(String, String)> {
        self.module.elf.as_ref().map(|f| f.map_defaults.clone()).unwrap_or_default()
    }

    /// `"prog_name":...,"section":...,...,"map_defaults":[...]` (no braces).
    fn json_fields(&self) -> String {
        let null = || "null".to_string();
        let m = self.module;
        let elf = m.elf.as_deref();
        let opt_str = |v: Option<&str>| v.map_or_else(null, json_str);
        let defaults: Vec<String> = self
            .map_defaults()
            .iter()
            .map(|(map, what)| format!("{{\"map\":{},\"what\":{}}}", json_str(map), json_str(what)))
            .collect();
        let depth = self.stack_depth.as_ref().map_or_else(null, |d| {
            format!("[{}]", d.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
        });
        let attach_btf = elf.and_then(|f| f.attach_btf.as_ref()).map_or_else(null, |(id, _)| id.to_string());
        format!(
            "\"prog_name\":{},\"section\":{},\"prog_type\":{},\"expected_attach_type\":{},\"expected_attach_number\":{},\"attach_btf_id\":{attach_btf},\"prog_flags\":{},\"insns\":{},\"stack_depth\":{depth},\"map_defaults\":[{}]",
            opt_str(Some(m.name.as_str()).filter(|n| !n.is_empty())),
            opt_str(m.section.as_deref()),
            opt_str(elf.and_then(|f| f.prog_type).map(|t| t.name())),
            opt_str(elf.and_then(|f| f.expected_attach_type).map(|a| a.uapi_name())),
            elf.map_or(0, |f| f.expected_attach_number),
            elf.map_or(0, |f| f.prog_flags),
            m.slots.len(),
            defaults.join(",")
        )
    }
}

fn print_text(o: &VerifyOutcome, module: &Module) {
    out!("{}", o.log);
    if !o.log.is_empty() && !o.log.ends_with('\n') {
        outln!();
    }
    match &o.error {
        None => outln!("verdict: accepted"),
        Some(e) => {
            let verdict = match e.kind() {
                RejectKind::Rejected => "rejected",
                RejectKind::Unsupported => "not modelled by kbpf",
                RejectKind::Bug => "kbpf failed",
            };
            // an ELF object's refused poisoned call reads as libbpf rewrote it
            let line = kbpf::libbpf_error_line(module, e).unwrap_or_else(|| e.message().to_string());
            outln!("verdict: {verdict} ({}): {line}", e.errno().name())
        }
    }
}

fn json(o: &VerifyOutcome, unsupported: Option<&Unsupported>, facts: &Facts<'_>) -> String {
    let null = || "null".to_string();
    let (kind, insn, reg, errno, error) = match &o.error {
        Some(e) => (
            json_str(e.kind().name()),
            e.insn().map_or_else(null, |i| i.to_string()),
            e.reg().map_or_else(null, |r| json_str(&r.to_string())),
            json_str(e.errno().name()),
            json_str(&kbpf::libbpf_error_line(facts.module, e).unwrap_or_else(|| e.message().to_string())),
        ),
        None => (null(), null(), null(), null(), null()),
    };
    let s = &o.stats;
    format!(
        "{{{},\"accepted\":{},\"kind\":{kind},\"insn\":{insn},\"reg\":{reg},\"errno\":{errno},\"error\":{error},\"unsupported\":{},\"processed_insns\":{},\"total_states\":{},\"peak_states\":{},\"max_states_per_insn\":{},\"mark_read\":{},\"log\":{}}}",
        facts.json_fields(),
        o.accepted,
        unsupported.map_or("null".to_string(), |u| json_str(&u.to_string())),
        s.processed_insns,
        s.total_states,
        s.peak_states,
        s.max_states_per_insn,
        s.mark_read,
        json_str(&o.log)
    )
}

/// `kbpf verify`'s arguments.
#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub input: Input,
    /// Program type: socket_filter, xdp, tc (sched_cls), syscall, kprobe, tracepoint,
    /// raw_tracepoint, raw_tracepoint_writable, perf_event, mem. Default: what the ELF
    /// section implies by libbpf's section names (`socket`, `tc`, `tcx/ingress`, `xdp`,
    /// `syscall`, `kprobe/F`, `tp/C/E`, `raw_tp/T` ...; a section of another type is an
    /// error), else socket_filter.
    #[arg(long)]
    pub prog_type: Option<String>,
    /// Expected attach type, by its kernel uapi name (`xdp_devmap` or `BPF_XDP_DEVMAP`):
    /// checked like `BPF_PROG_LOAD` does and used by the context rules (a devmap xdp
    /// program may read `egress_ifindex`). Default: the ELF section's, else none (0).
    #[arg(long)]
    pub attach_type: Option<String>,
    /// Context size for `--prog-type mem`.
    #[arg(long, default_value_t = 64)]
    pub ctx_size: u32,
    /// The architecture of the kernel a kprobe or perf_event program is for (the layout
    /// of `struct pt_regs` in its context): x86_64 (default) or arm64.
    #[arg(long)]
    pub target_arch: Option<kbpf::verifier::TargetArch>,
    /// Log level bits like the kernel's: 1 basic, 2 verbose, 4 stats.
    #[arg(long, default_value_t = 1)]
    pub log_level: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutFormat,
    /// Helpers and kfuncs the program may call.
    #[arg(long, value_enum, default_value = "testmod")]
    pub profile: ProfileArg,
    /// Engine the program is bound for (default: a JIT, like a kernel with the JIT on). An
    /// accepted program that calls a helper or kfunc this engine cannot run keeps the
    /// kernel's verdict and log, gets an `unsupported:` line and exit code 3.
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// With `--engine interp`: refuse what the kernel's interpreter refuses (stack args).
    #[arg(long)]
    pub kernel_compat: bool,
    /// kbpf extension: global functions may take more than 5 arguments (6..12 through r11);
    /// the kernel refuses them.
    #[arg(long)]
    pub allow_global_stack_args: bool,
}

/// Runs `kbpf verify`.
pub fn cmd(args: VerifyArgs) -> std::process::ExitCode {
    let VerifyArgs {
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
    } = args;
    let pt = match kbpf::prog_type_by_name(prog_type.as_deref().unwrap_or("socket_filter"), ctx_size) {
        Ok(pt) => pt,
        Err(e) => return fail(format_args!("--prog-type: {e}")),
    };
    let expected_attach_type = match attach_type.as_deref().map(kbpf::attach_type_by_name).transpose() {
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
        OutFormat::Text => Format::Text,
        OutFormat::Json => Format::Json,
    };
    run(
        &input,
        Target {
            opts,
            prog_type: prog_type.as_deref(),
            engine: engine.map_or(Engine::Jit, Engine::from),
            target_arch,
        },
        format,
        &profile.registry(),
    )
}

/// Which helpers the target kernel has at all (lockdown, `CONFIG_BPF_KPROBE_OVERRIDE`): from
/// its `.config` when given, else the running kernel's (what `kbpf verify` and `kbpf stats`
/// both use, so they give the same verdicts).
pub(crate) fn target_kernel_config(
    kconfig: Option<&std::path::Path>,
) -> Result<kbpf::verifier::KernelConfig, String> {
    match kconfig {
        Some(path) => kbpf::elf::kconfig::Kconfig::load(path)
            .map(|k| kbpf::kernel_config(&k))
            .map_err(|e| e.to_string()),
        None => Ok(kbpf::running_kernel_config().unwrap_or_default()),
    }
}
