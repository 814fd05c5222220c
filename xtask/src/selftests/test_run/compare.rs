//! The comparison of `test-run-diff` and its report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

use super::worker::{MapDump, Run};

/// One program on one input, on one engine (`engine` is `kernel` for what the kernel decided
/// alone).
pub struct Row {
    pub prog_type: String,
    pub name: String,
    pub input: String,
    pub engine: String,
    pub outcome: Outcome,
}

/// What became of one run.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The kernel loaded the program and refused to test-run it (the errno's text).
    KernelRefused(String),
    /// The oracle or kbpf's worker failed on the whole object.
    ObjectFailed(String),
    /// kbpf cannot run it (no context model, a map type, the verifier, an engine refusal).
    CannotRun(String),
    /// Its result depends on these environment helpers.
    Nondeterministic(Vec<String>),
    /// kbpf's engines disagree with each other on it: its result depends on addresses (a
    /// pointer stored or returned; the engines place the stack and packet differently), or an
    /// engine has a bug; either way not a pass (`cargo xtask jited-diff` and the engines'
    /// differential tests are where engine bugs show).
    EnginesDisagree,
    /// Known to depend on where it runs (checked by hand: the address space, stale stack
    /// bytes), with why.
    KnownEnvironment(&'static str),
    /// Same return value, packet and maps.
    Same,
    /// The first field that differs.
    Differs(String),
}

type KernelRecords = Vec<(String, Result<Vec<Value>, String>)>;

/// Programs whose result depends on where they run (checked by hand), by `object/program`.
const KNOWN_ENVIRONMENT: &[(&str, &str)] = &[
    (
        "verifier_direct_packet_access/test22_x_pkt_ptr_3",
        "shifts a packet pointer right by 49: 0x7fff for a kernel address, 0 for a user one",
    ),
    (
        "verifier_direct_packet_access/packet_access_test17_pruning_alignment",
        "writes a packet pointer's low bits into the packet",
    ),
    (
        "verifier_basic_stack/uninitialized_stack2",
        "returns an uninitialized stack slot (stale kernel stack bytes)",
    ),
    (
        "verifier_raw_stack/stack_no_skb_load_bytes",
        "returns an uninitialized stack slot (stale kernel stack bytes)",
    ),
    ("verifier_leak_ptr/leak_pointer_into_ctx_3", "stores a map's address into skb->cb"),
    (
        "verifier_stack_ptr/array_map_using_bpf_b",
        "stores the stack pointer's low byte into a map value (the engines may agree by chance)",
    ),
    (
        "verifier_spill_fill/check_corrupted_spill_fill_lsb",
        "returns the context pointer with its low 16 bits overwritten (the address's upper bits)",
    ),
    (
        "test_global_func16/global_func16",
        "returns from an uninitialized stack array (stale kernel stack bytes)",
    ),
];

/// The rows of one object.
pub fn object(
    stem: &str,
    kernel: &KernelRecords,
    ours: &Result<Vec<Run>, String>,
    engines: &[String],
) -> Vec<Row> {
    let mut rows = Vec::new();
    for (input, records) in kernel {
        let records = match records {
            Ok(r) => r,
            Err(e) => {
                rows.push(Row {
                    prog_type: "?".into(),
                    name: format!("{stem}/*"),
                    input: input.clone(),
                    engine: "kernel".into(),
                    outcome: Outcome::ObjectFailed(e.clone()),
                });
                continue;
            }
        };
        for r in records.iter().filter(|r| r["outcome"] == "accepted" && r["test_run"].is_object()) {
            let prog = r["prog"].as_str().unwrap_or_default();
            let row = |engine: &str, outcome| Row {
                prog_type: r["prog_type"].as_str().unwrap_or_default().into(),
                name: format!("{stem}/{prog}"),
                input: input.clone(),
                engine: engine.into(),
                outcome,
            };
            let tr = &r["test_run"];
            if let Some(e) = tr["error"].as_str() {
                rows.push(row("kernel", Outcome::KernelRefused(e.into())));
                continue;
            }
            for engine in engines {
                let outcome = match ours {
                    Err(e) => Outcome::ObjectFailed(e.clone()),
                    Ok(runs) => {
                        let mine =
                            runs.iter().find(|m| m.prog == prog && m.input == *input && m.engine == *engine);
                        // a program kbpf cannot run at all has one record without input and engine
                        // (`*` with the engine: that engine's worker failed on the whole object)
                        let any = runs.iter().find(|m| {
                            (m.prog == prog && m.input.is_empty() && m.outcome == "cannot_run")
                                || (m.prog == "*" && m.engine == *engine)
                        });
                        match mine.or(any) {
                            None => Outcome::CannotRun("kbpf's worker has no run of it".into()),
                            Some(m) if m.outcome != "ran" => Outcome::CannotRun(m.error.clone()),
                            Some(m) if !m.nondet.is_empty() => Outcome::Nondeterministic(m.nondet.clone()),
                            Some(m) if !engines_agree(runs, m) => Outcome::EnginesDisagree,
                            Some(_)
                                if let Some((_, why)) = KNOWN_ENVIRONMENT
                                    .iter()
                                    .find(|(n, _)| *n == format!("{stem}/{prog}")) =>
                            {
                                Outcome::KnownEnvironment(why)
                            }
                            Some(m) => match first_difference(tr, m) {
                                None => Outcome::Same,
                                Some(d) => Outcome::Differs(d),
                            },
                        }
                    }
                };
                rows.push(row(engine, outcome));
            }
        }
    }
    rows
}

/// Whether kbpf's engines agree on `m`'s program on every input (a program whose result
/// depends on addresses is so on every input, even where the engines happen to agree).
fn engines_agree(runs: &[Run], m: &Run) -> bool {
    let ran: Vec<&Run> = runs.iter().filter(|o| o.prog == m.prog && o.outcome == "ran").collect();
    ran.iter().all(|o| {
        ran.iter().filter(|p| p.input == o.input).all(|p| {
            (p.retval, &p.data_out, &p.ctx_out, &p.maps) == (o.retval, &o.data_out, &o.ctx_out, &o.maps)
        })
    })
}

/// The first field where kbpf's run differs from the kernel's `test_run` record.
fn first_difference(kernel: &Value, ours: &Run) -> Option<String> {
    let kr = kernel["retval"].as_u64().unwrap_or(u64::MAX);
    // the kernel reports the low 32 bits of r0
    if ours.retval & 0xffff_ffff != kr {
        return Some(format!("retval: kernel {kr}, kbpf {}", ours.retval));
    }
    let kd = kernel["data_out"].as_str().unwrap_or_default();
    if kd != ours.data_out {
        return Some(bytes_difference("data_out", kd, &ours.data_out));
    }
    // the `__sk_buff` fields a program may write that the kernel copies back
    // (`convert_skb_to___skb`): mark, priority, cb[5], tstamp
    let kc = kernel["ctx_out"].as_str().unwrap_or_default();
    if !kc.is_empty() {
        for (name, off, len) in [("mark", 8, 4), ("priority", 12, 4), ("cb", 48, 20), ("tstamp", 152, 8)] {
            let (k, o) = (kc.get(2 * off..2 * (off + len)), ours.ctx_out.get(2 * off..2 * (off + len)));
            if k != o {
                return Some(format!(
                    "ctx_out {name}: kernel {}, kbpf {}",
                    k.unwrap_or("none"),
                    o.unwrap_or("none")
                ));
            }
        }
    }
    let kmaps: Vec<MapDump> = serde_json::from_value(kernel["maps"].clone()).unwrap_or_default();
    for km in kmaps {
        let Some(om) = ours.maps.iter().find(|m| m.name == km.name) else {
            return Some(format!("map {}: kbpf has no such map", km.name));
        };
        let mut ke = km.entries.clone();
        ke.sort();
        if let Some(d) = entries_difference(&ke, &om.entries) {
            return Some(format!("map {}: {d}", km.name));
        }
    }
    None
}

/// The first differing byte of two hex strings, or their lengths.
fn bytes_difference(what: &str, kernel: &str, ours: &str) -> String {
    let (k, o) = (kernel.as_bytes(), ours.as_bytes());
    match (0..k.len().min(o.len()) / 2).find(|&i| k[2 * i..2 * i + 2] != o[2 * i..2 * i + 2]) {
        Some(i) => {
            format!("{what} byte {i}: kernel {}, kbpf {}", &kernel[2 * i..2 * i + 2], &ours[2 * i..2 * i + 2])
        }
        None => format!("{what} length: kernel {}, kbpf {}", k.len() / 2, o.len() / 2),
    }
}

fn entries_difference(kernel: &[(String, String)], ours: &[(String, String)]) -> Option<String> {
    let k: BTreeMap<&str, &str> = kernel.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let o: BTreeMap<&str, &str> = ours.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let keys: std::collections::BTreeSet<&str> = k.keys().chain(o.keys()).copied().collect();
    for key in keys {
        match (k.get(key), o.get(key)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => return Some(format!("key {key}: {}", bytes_difference("value", a, b))),
            (Some(a), None) => return Some(format!("key {key}: kernel {a}, kbpf none (or zero)")),
            (None, Some(b)) => return Some(format!("key {key}: kernel none (or zero), kbpf {b}")),
            (None, None) => {}
        }
    }
    None
}

/// Per type: kernel runs (program x input), refused, then per engine the counts.
#[derive(Default)]
struct Figures {
    kernel_runs: usize,
    refused: usize,
    per_engine: BTreeMap<String, [usize; 5]>, // compared, same, nondet, cannot, failed
}

/// The report: figures per type and engine, then every run that is not the same, grouped.
pub fn report(rows: &[Row], elapsed: Duration) -> String {
    let mut by_type: BTreeMap<&str, Figures> = BTreeMap::new();
    let mut engines: Vec<&str> = rows.iter().map(|r| r.engine.as_str()).filter(|e| *e != "kernel").collect();
    engines.sort();
    engines.dedup();
    let mut seen = std::collections::BTreeSet::new();
    for r in rows {
        let f = by_type.entry(&r.prog_type).or_default();
        if seen.insert((&r.name, &r.input)) {
            f.kernel_runs += 1;
        }
        if r.engine == "kernel" {
            f.refused += matches!(r.outcome, Outcome::KernelRefused(_)) as usize;
            continue;
        }
        let c = f.per_engine.entry(r.engine.clone()).or_default();
        match &r.outcome {
            Outcome::Same => {
                c[0] += 1;
                c[1] += 1
            }
            Outcome::Differs(_) => c[0] += 1,
            Outcome::Nondeterministic(_) | Outcome::EnginesDisagree | Outcome::KnownEnvironment(_) => {
                c[2] += 1
            }
            Outcome::CannotRun(_) => c[3] += 1,
            Outcome::ObjectFailed(_) | Outcome::KernelRefused(_) => c[4] += 1,
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "test-run-diff: kernel BPF_PROG_TEST_RUN vs kbpf, inputs pkt_v4 and pkt_v6 ({:.0?})",
        elapsed
    );
    let _ = writeln!(
        out,
        "runs = program x input the kernel ran; per engine: identical/compared (nondeterministic or address-dependent, kbpf cannot run, failed)"
    );
    let _ = write!(out, "{:<16} {:>6} {:>8}", "type", "runs", "refused");
    for e in &engines {
        let _ = write!(out, " {:>32}", e);
    }
    out.push('\n');
    let mut total = Figures::default();
    for (t, f) in &by_type {
        line(&mut out, t, f, &engines);
        total.kernel_runs += f.kernel_runs;
        total.refused += f.refused;
        for (e, c) in &f.per_engine {
            let tc = total.per_engine.entry(e.clone()).or_default();
            for i in 0..5 {
                tc[i] += c[i];
            }
        }
    }
    line(&mut out, "total", &total, &engines);
    section(&mut out, "differences (first differing field)", rows, |o| match o {
        Outcome::Differs(d) => Some(d.clone()),
        _ => None,
    });
    section(&mut out, "non-deterministic (environment helpers called)", rows, |o| match o {
        Outcome::Nondeterministic(h) => Some(h.join(",")),
        _ => None,
    });
    section(&mut out, "kbpf's engines disagree (address-dependent, or an engine bug)", rows, |o| {
        (*o == Outcome::EnginesDisagree).then(String::new)
    });
    section(&mut out, "known to depend on where they run", rows, |o| match o {
        Outcome::KnownEnvironment(why) => Some(why.to_string()),
        _ => None,
    });
    grouped(&mut out, "kbpf cannot run (by reason)", rows, |o| match o {
        Outcome::CannotRun(why) => Some(why.clone()),
        _ => None,
    });
    grouped(&mut out, "failed objects", rows, |o| match o {
        Outcome::ObjectFailed(why) => Some(why.clone()),
        _ => None,
    });
    grouped(&mut out, "kernel refused the test run", rows, |o| match o {
        Outcome::KernelRefused(why) => Some(why.clone()),
        _ => None,
    });
    out
}

fn line(out: &mut String, t: &str, f: &Figures, engines: &[&str]) {
    let _ = write!(out, "{:<16} {:>6} {:>8}", t, f.kernel_runs, f.refused);
    for e in engines {
        let c = f.per_engine.get(*e).copied().unwrap_or_default();
        let cell = format!("{}/{} ({}, {}, {})", c[1], c[0], c[2], c[3], c[4]);
        let _ = write!(out, " {cell:>32}");
    }
    out.push('\n');
}

/// One line per run (engines of the same program, input and text folded into one line).
fn section(out: &mut String, title: &str, rows: &[Row], pick: impl Fn(&Outcome) -> Option<String>) {
    let mut lines: BTreeMap<(String, String, String), Vec<&str>> = BTreeMap::new();
    for r in rows {
        if let Some(text) = pick(&r.outcome) {
            lines.entry((r.name.clone(), r.input.clone(), text)).or_default().push(&r.engine);
        }
    }
    let _ = writeln!(out, "\n{title}: {}", lines.len());
    for ((name, input, text), engines) in lines {
        let _ = writeln!(out, "  {name} {input} [{}]: {text}", engines.join(","));
    }
}

/// Counts by reason, with up to three programs each.
fn grouped(out: &mut String, title: &str, rows: &[Row], pick: impl Fn(&Outcome) -> Option<String>) {
    let mut by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for r in rows {
        if let Some(why) = pick(&r.outcome) {
            let v = by.entry(why).or_default();
            if !v.contains(&r.name.as_str()) {
                v.push(&r.name);
            }
        }
    }
    let _ = writeln!(out, "\n{title}: {} programs", by.values().map(Vec::len).sum::<usize>());
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by_key(|(_, names)| std::cmp::Reverse(names.len()));
    for (why, names) in v {
        let more = if names.len() > 3 { format!(" +{}", names.len() - 3) } else { String::new() };
        let _ = writeln!(
            out,
            "  {:>4} {why} (e.g. {}{more})",
            names.len(),
            names[..names.len().min(3)].join(" ")
        );
    }
}
