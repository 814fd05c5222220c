//! `kbpf verify`: the kernel's verdict and log, as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use kbpf::kfunc::Registry;
use kbpf::verifier::{RejectKind, VerifyOptions, VerifyOutcome};
use kbpf::{Engine, Module, SourceKind, Unsupported};

use crate::listing::json_str;

/// How the result is printed.
#[derive(Clone, Copy)]
pub enum Format {
    Text,
    Json,
}

/// What to verify a file as: options, whether the ELF section may choose the program type, and
/// which ELF program.
pub struct Target<'a> {
    pub opts: VerifyOptions,
    pub type_from_section: bool,
    pub section: Option<&'a str>,
    /// The engine whose registry support is checked for an accepted program.
    pub engine: Engine,
}

/// Runs the verifier on `file` and prints the outcome. Exit 0 accepted, 1 rejected, 2 bad input,
/// 3 accepted but `engine` cannot run a helper or kfunc it calls.
pub fn run(
    file: &Path,
    kind: SourceKind,
    target: Target<'_>,
    format: Format,
    registry: &Registry,
) -> ExitCode {
    let Target { mut opts, type_from_section, section, engine } = target;
    opts.kfuncs = kbpf::kfunc_table(registry);
    let module = match kind {
        SourceKind::Bin | SourceKind::Hex if section.is_some() => {
            return crate::fail(kbpf::SourceError::SectionNotElf(section.unwrap_or_default().to_string()));
        }
        SourceKind::Bin | SourceKind::Hex => match kbpf::read_raw_slots(file, kind) {
            Ok(slots) => Module::plain(slots),
            Err(e) => return crate::fail(e),
        },
        _ => match kbpf::read_module(file, kind, registry, section) {
            Ok(m) => {
                if type_from_section && let Some(section) = m.section.as_deref() {
                    match kbpf::prog_type_for_section(section) {
                        Ok(pt) => opts.prog_type = pt,
                        Err(e) => return crate::fail(e),
                    }
                }
                m
            }
            Err(e) => return crate::fail(e),
        },
    };
    let (outcome, unsupported) = kbpf::verify_for_engine(&module, opts, registry, engine);
    match format {
        Format::Text => {
            print_text(&outcome);
            if let Some(u) = &unsupported {
                println!("unsupported: kbpf cannot run this program: {u}");
            }
        }
        Format::Json => println!("{}", json(&outcome, unsupported.as_ref())),
    }
    match (outcome.accepted, unsupported) {
        (true, None) => ExitCode::SUCCESS,
        (true, Some(_)) => ExitCode::from(3),
        (false, _) => ExitCode::from(1),
    }
}

fn print_text(o: &VerifyOutcome) {
    print!("{}", o.log);
    if !o.log.is_empty() && !o.log.ends_with('\n') {
        println!();
    }
    match &o.error {
        None => println!("verdict: accepted"),
        Some(e) => {
            let verdict = match e.kind() {
                RejectKind::Rejected => "rejected",
                RejectKind::Unsupported => "not modelled by kbpf",
                RejectKind::Bug => "kbpf failed",
            };
            println!("verdict: {verdict} ({}): {}", e.errno().name(), e.message())
        }
    }
}

fn json(o: &VerifyOutcome, unsupported: Option<&Unsupported>) -> String {
    let null = || "null".to_string();
    let (kind, insn, reg, errno, error) = match &o.error {
        Some(e) => (
            json_str(e.kind().name()),
            e.insn().map_or_else(null, |i| i.to_string()),
            e.reg().map_or_else(null, |r| json_str(&r.to_string())),
            json_str(e.errno().name()),
            json_str(e.message()),
        ),
        None => (null(), null(), null(), null(), null()),
    };
    let s = &o.stats;
    format!(
        "{{\"accepted\":{},\"kind\":{kind},\"insn\":{insn},\"reg\":{reg},\"errno\":{errno},\"error\":{error},\"unsupported\":{},\"processed_insns\":{},\"total_states\":{},\"peak_states\":{},\"max_states_per_insn\":{},\"mark_read\":{},\"log\":{}}}",
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
