//! The comparison of libbpf + kernel against kbpf, per program type (libbpf's type), as a table
//! and as JSON, written to `runs/<time>/` in the cache with both sides' records so the next run
//! (and the next issues) can diff.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::cache::Cache;
use super::kbpf_side::KbpfRecord;
use super::oracle::LibbpfRecord;

/// Figures for one program type (or the total).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Row {
    pub prog_type: String,
    pub objects: usize,
    pub programs: usize,
    pub libbpf_accepted: usize,
    pub libbpf_rejected: usize,
    /// libbpf stopped before `BPF_PROG_LOAD` (missing attach target, module kfunc, ...): not
    /// compared.
    pub libbpf_failed: usize,
    /// Programs the kernel judged: the ones compared below.
    pub compared: usize,
    /// kbpf could not open, relocate or type a program libbpf loaded.
    pub loader_failures: usize,
    /// kbpf panicked, its worker crashed or timed out.
    pub kbpf_crashes: usize,
    /// kbpf gives the section libbpf's program type and expected attach type.
    pub prog_type_agree: usize,
    pub insns_identical: usize,
    pub verdict_agree: usize,
    /// kbpf accepted what the kernel rejected.
    pub kbpf_accepts_kernel_rejects: usize,
    /// kbpf rejected what the kernel accepted.
    pub kbpf_rejects_kernel_accepts: usize,
    /// kbpf said it does not model the program (or failed an invariant): no verdict.
    pub kbpf_no_verdict: usize,
    pub both_reject: usize,
    pub error_line_agree: usize,
    pub errno_agree: usize,
    pub both_accept: usize,
    pub processed_identical: usize,
}

/// One program whose loaded instructions differ.
#[derive(Clone, Debug, Serialize)]
pub struct InsnDiff {
    pub object: String,
    pub prog: String,
    pub prog_type: String,
    pub libbpf_insns: usize,
    pub kbpf_insns: usize,
    /// First differing slot, with both sides' 8 bytes (hex); `None` when one is a prefix of the
    /// other and only the map references differ.
    pub first_diff: Option<(usize, String, String)>,
    /// The first differing map reference, `slot: libbpf name / kbpf name`.
    pub ref_diff: Option<String>,
}

/// One program with a libbpf and a kbpf side that disagree (verdict, or loader).
#[derive(Clone, Debug, Serialize)]
pub struct ProgNote {
    pub object: String,
    pub prog: String,
    pub prog_type: String,
    pub libbpf: String,
    pub kbpf: String,
}

/// A whole run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub kernel: String,
    pub wall_secs: f64,
    pub objects: usize,
    /// Sources that did not compile: stem and clang's first error.
    pub sources_skipped: Vec<(String, String)>,
    /// Objects libbpf could not open.
    pub objects_open_failed: Vec<(String, String)>,
    pub rows: Vec<Row>,
    pub total: Row,
    pub insn_diffs: Vec<InsnDiff>,
    /// kbpf types the section differently (libbpf / kbpf: program type / expected attach type).
    pub prog_type_diffs: Vec<ProgNote>,
    pub loader_failures: Vec<ProgNote>,
    pub crashes: Vec<ProgNote>,
    pub verdict_diffs: Vec<ProgNote>,
    /// Both reject, different error lines.
    pub error_line_diffs: Vec<ProgNote>,
    /// Programs libbpf could not load, with its reason: not counted against kbpf.
    pub libbpf_failures: Vec<ProgNote>,
    /// Programs kbpf lists that libbpf does not.
    pub kbpf_extra: Vec<ProgNote>,
    /// The previous run, and the programs whose kbpf result changed since.
    pub changes_since: Option<String>,
    pub changes: Vec<String>,
    /// Verification time of the largest both-accept programs against the kernel's.
    pub timing: Option<super::timing::Timing>,
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 { "-".into() } else { format!("{:.1}%", 100.0 * a as f64 / b as f64) }
}

fn add(t: &mut Row, r: &Row) {
    t.objects += r.objects;
    t.programs += r.programs;
    t.libbpf_accepted += r.libbpf_accepted;
    t.libbpf_rejected += r.libbpf_rejected;
    t.libbpf_failed += r.libbpf_failed;
    t.compared += r.compared;
    t.loader_failures += r.loader_failures;
    t.kbpf_crashes += r.kbpf_crashes;
    t.prog_type_agree += r.prog_type_agree;
    t.insns_identical += r.insns_identical;
    t.verdict_agree += r.verdict_agree;
    t.kbpf_accepts_kernel_rejects += r.kbpf_accepts_kernel_rejects;
    t.kbpf_rejects_kernel_accepts += r.kbpf_rejects_kernel_accepts;
    t.kbpf_no_verdict += r.kbpf_no_verdict;
    t.both_reject += r.both_reject;
    t.error_line_agree += r.error_line_agree;
    t.errno_agree += r.errno_agree;
    t.both_accept += r.both_accept;
    t.processed_identical += r.processed_identical;
}

fn insn_diff(l: &LibbpfRecord, k: &KbpfRecord) -> Option<InsnDiff> {
    if l.insns == k.insns && l.refs == k.refs {
        return None;
    }
    let slots = |h: &str| -> Vec<String> {
        h.as_bytes().chunks(16).map(|c| String::from_utf8_lossy(c).into_owned()).collect()
    };
    let (ls, ks) = (slots(&l.insns), slots(&k.insns));
    let first_diff = (0..ls.len().max(ks.len())).find(|&i| ls.get(i) != ks.get(i)).map(|i| {
        let at = |v: &Vec<String>| v.get(i).cloned().unwrap_or_else(|| "(end)".into());
        (i, at(&ls), at(&ks))
    });
    let ref_diff = (0..l.refs.len().max(k.refs.len())).find(|&i| l.refs.get(i) != k.refs.get(i)).map(|i| {
        let show = |r: Option<&(usize, String)>| r.map_or("(none)".into(), |(s, n)| format!("{s}:{n}"));
        format!("{} / {}", show(l.refs.get(i)), show(k.refs.get(i)))
    });
    Some(InsnDiff {
        object: l.object.clone(),
        prog: l.prog.clone(),
        prog_type: l.prog_type.clone(),
        libbpf_insns: ls.len(),
        kbpf_insns: ks.len(),
        first_diff,
        ref_diff,
    })
}

const LOADER_FAILED: &[&str] = &["loader_failed", "missing"];
const CRASHED: &[&str] = &["panicked", "crashed", "timeout"];

impl Summary {
    /// Joins both sides by object and program name.
    pub fn build(
        libbpf: &[LibbpfRecord],
        kbpf: &[KbpfRecord],
        skipped: &[(String, String)],
        wall: Duration,
    ) -> Summary {
        let mut s = Summary {
            kernel: kbpf_oracle::case::kernel_release(),
            wall_secs: wall.as_secs_f64(),
            sources_skipped: skipped.to_vec(),
            ..Default::default()
        };
        let by_prog: HashMap<(&str, &str), &KbpfRecord> = kbpf
            .iter()
            .filter(|k| !k.prog.is_empty())
            .map(|k| ((k.object.as_str(), k.prog.as_str()), k))
            .collect();
        // an object-level kbpf failure stands for every program it did not report
        let by_object: HashMap<&str, &KbpfRecord> =
            kbpf.iter().filter(|k| k.prog.is_empty()).map(|k| (k.object.as_str(), k)).collect();
        let mut rows: BTreeMap<String, (Row, std::collections::BTreeSet<String>)> = BTreeMap::new();
        let mut objects = std::collections::BTreeSet::new();
        for l in libbpf {
            objects.insert(l.object.clone());
            if let Some(e) = &l.open_error {
                s.objects_open_failed.push((l.object.clone(), e.clone()));
                continue;
            }
            let (row, objs) = rows.entry(l.prog_type.clone()).or_default();
            row.prog_type = l.prog_type.clone();
            objs.insert(l.object.clone());
            row.programs += 1;
            let note = |libbpf: String, kbpf: String| ProgNote {
                object: l.object.clone(),
                prog: l.prog.clone(),
                prog_type: l.prog_type.clone(),
                libbpf,
                kbpf,
            };
            if !l.reached_kernel() {
                row.libbpf_failed += 1;
                s.libbpf_failures.push(note(l.libbpf_error.clone(), String::new()));
                continue;
            }
            match l.outcome.as_str() {
                "accepted" => row.libbpf_accepted += 1,
                _ => row.libbpf_rejected += 1,
            }
            row.compared += 1;
            let missing = KbpfRecord {
                outcome: "missing".into(),
                loader_error: "kbpf did not list the program".into(),
                ..Default::default()
            };
            let k = by_prog
                .get(&(l.object.as_str(), l.prog.as_str()))
                .copied()
                .or_else(|| by_object.get(l.object.as_str()).copied())
                .unwrap_or(&missing);
            let libbpf_says = || {
                if l.outcome == "accepted" {
                    format!("accepted, {} processed", l.processed)
                } else {
                    format!("rejected errno {}: {}", l.errno, l.error_line())
                }
            };
            if LOADER_FAILED.contains(&k.outcome.as_str()) {
                row.loader_failures += 1;
                s.loader_failures.push(note(libbpf_says(), k.loader_error.clone()));
                continue;
            }
            if CRASHED.contains(&k.outcome.as_str()) {
                row.kbpf_crashes += 1;
                s.crashes.push(note(libbpf_says(), format!("{}: {}", k.outcome, k.loader_error)));
                continue;
            }
            if k.prog_type == l.prog_type && k.attach_number == l.attach_number {
                row.prog_type_agree += 1;
            } else {
                let both = |t: &str, a: &str, n: u32| format!("{t} / {a} ({n})");
                s.prog_type_diffs.push(note(
                    both(&l.prog_type, &l.attach_type, l.attach_number),
                    both(&k.prog_type, &k.attach_type, k.attach_number),
                ));
            }
            match insn_diff(l, k) {
                None => row.insns_identical += 1,
                Some(d) => s.insn_diffs.push(d),
            }
            let kbpf_says = || match k.outcome.as_str() {
                "accepted" => format!("accepted, {} processed", k.processed),
                other => format!("{other} errno {}: {}", k.errno, k.error_line),
            };
            match (l.outcome.as_str(), k.outcome.as_str()) {
                ("accepted", "accepted") => {
                    row.verdict_agree += 1;
                    row.both_accept += 1;
                    row.processed_identical += (l.processed == k.processed as i64) as usize;
                }
                ("rejected", "rejected") => {
                    row.verdict_agree += 1;
                    row.both_reject += 1;
                    row.errno_agree += (l.errno == k.errno) as usize;
                    if l.error_line() == k.error_line {
                        row.error_line_agree += 1;
                    } else {
                        s.error_line_diffs.push(note(libbpf_says(), kbpf_says()));
                    }
                }
                ("rejected", "accepted") => {
                    row.kbpf_accepts_kernel_rejects += 1;
                    s.verdict_diffs.push(note(libbpf_says(), kbpf_says()));
                }
                ("accepted", "rejected") => {
                    row.kbpf_rejects_kernel_accepts += 1;
                    s.verdict_diffs.push(note(libbpf_says(), kbpf_says()));
                }
                _ => {
                    row.kbpf_no_verdict += 1;
                    s.verdict_diffs.push(note(libbpf_says(), kbpf_says()));
                }
            }
        }
        let libbpf_progs: std::collections::HashSet<(&str, &str)> =
            libbpf.iter().map(|l| (l.object.as_str(), l.prog.as_str())).collect();
        for k in kbpf.iter().filter(|k| !k.prog.is_empty()) {
            if !libbpf_progs.contains(&(k.object.as_str(), k.prog.as_str())) {
                s.kbpf_extra.push(ProgNote {
                    object: k.object.clone(),
                    prog: k.prog.clone(),
                    prog_type: String::new(),
                    libbpf: "(not a program to libbpf)".into(),
                    kbpf: k.outcome.clone(),
                });
            }
        }
        let timed: Vec<_> = libbpf
            .iter()
            .filter_map(|l| by_prog.get(&(l.object.as_str(), l.prog.as_str())).map(|k| (l, *k)))
            .collect();
        s.timing = super::timing::Timing::of(&timed);
        s.objects = objects.len();
        let mut total = Row { prog_type: "TOTAL".into(), ..Default::default() };
        for (_, (mut row, objs)) in rows {
            row.objects = objs.len();
            add(&mut total, &row);
            s.rows.push(row);
        }
        total.objects = s.objects;
        s.total = total;
        s
    }

    /// Whether `cargo xtask selftests` passes: kbpf never panicked, crashed or hung, and the
    /// kernel judged at least one program (the pipeline really ran). Loader failures and
    /// instruction differences are figures (issue 13's acceptance line says where they stand).
    pub fn gate(&self) -> bool {
        self.total.kbpf_crashes == 0 && self.total.compared > 0
    }

    /// Issue 13's acceptance: no loader failure, instructions identical on 99.5% of programs.
    pub fn acceptance_met(&self) -> bool {
        let t = &self.total;
        t.loader_failures == 0 && t.compared > 0 && t.insns_identical as f64 >= 0.995 * t.compared as f64
    }

    /// The readable report: the per-type table, then the first entries of each list.
    pub fn table(&self) -> String {
        self.render(20)
    }

    /// The table and every list in full.
    pub fn full(&self) -> String {
        self.render(usize::MAX)
    }

    fn render(&self, limit: usize) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "selftests on Linux {}: {} objects, {} sources skipped (do not compile), {} objects libbpf cannot open; {:.0}s",
            self.kernel,
            self.objects,
            self.sources_skipped.len(),
            self.objects_open_failed.len(),
            self.wall_secs
        );
        let _ = writeln!(
            o,
            "{:<24} {:>4} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>13} {:>13} {:>4} {:>4} {:>4} {:>11} {:>11}",
            "prog type",
            "objs",
            "progs",
            "l-acc",
            "l-rej",
            "l-err",
            "cmp",
            "ldr!",
            "type=",
            "insns ==",
            "verdict ==",
            "k+",
            "k-",
            "k?",
            "errline ==",
            "processed =="
        );
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            let _ = writeln!(
                o,
                "{:<24} {:>4} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6} {:>4} {:>4} {:>4} {:>4}/{:<6} {:>4}/{:<6}",
                r.prog_type,
                r.objects,
                r.programs,
                r.libbpf_accepted,
                r.libbpf_rejected,
                r.libbpf_failed,
                r.compared,
                r.loader_failures + r.kbpf_crashes,
                r.prog_type_agree,
                r.insns_identical,
                pct(r.insns_identical, r.compared),
                r.verdict_agree,
                pct(r.verdict_agree, r.compared),
                r.kbpf_accepts_kernel_rejects,
                r.kbpf_rejects_kernel_accepts,
                r.kbpf_no_verdict,
                r.error_line_agree,
                r.both_reject,
                r.processed_identical,
                r.both_accept
            );
        }
        let _ = writeln!(
            o,
            "columns: l-acc/l-rej the kernel's verdict through libbpf, l-err libbpf failed before the kernel \
             (not compared), cmp compared, ldr! kbpf loader failures + crashes, type= kbpf gives libbpf's program and expected attach type, k+ kbpf accepts what the \
             kernel rejects, k- the reverse, k? kbpf gave no verdict (unsupported / bug)"
        );
        let t = &self.total;
        let _ = writeln!(
            o,
            "issue 13 acceptance: {} (loader failures {}, crashes {}, insns identical {} of {} = {})",
            if self.acceptance_met() { "met" } else { "not met" },
            t.loader_failures,
            t.kbpf_crashes,
            t.insns_identical,
            t.compared,
            pct(t.insns_identical, t.compared)
        );
        let judged = t.compared.saturating_sub(t.loader_failures + t.kbpf_crashes + t.kbpf_no_verdict);
        let _ = writeln!(
            o,
            "verdicts: {} of {} compared agree ({}); of the {judged} kbpf gave a verdict on, {}",
            t.verdict_agree,
            t.compared,
            pct(t.verdict_agree, t.compared),
            pct(t.verdict_agree, judged)
        );
        if let Some(t) = &self.timing {
            o.push_str(&t.render());
        }
        let list = |o: &mut String, title: &str, items: Vec<String>| {
            if items.is_empty() {
                return;
            }
            let _ = writeln!(o, "-- {title} ({})", items.len());
            for i in items.iter().take(limit) {
                let _ = writeln!(o, "  {i}");
            }
            if items.len() > limit {
                let _ = writeln!(o, "  ... ({} more in report.txt / summary.json)", items.len() - limit);
            }
        };
        let notes = |v: &[ProgNote]| -> Vec<String> {
            v.iter()
                .map(|n| {
                    format!(
                        "{}:{} [{}]: libbpf {} | kbpf {}",
                        n.object, n.prog, n.prog_type, n.libbpf, n.kbpf
                    )
                })
                .collect()
        };
        list(&mut o, "kbpf crashes", notes(&self.crashes));
        list(&mut o, "loader failures", notes(&self.loader_failures));
        list(
            &mut o,
            "instructions that differ (first differing slot: libbpf / kbpf)",
            self.insn_diffs
                .iter()
                .map(|d| {
                    let at = d
                        .first_diff
                        .as_ref()
                        .map_or("same slots".into(), |(i, a, b)| format!("slot {i}: {a} / {b}"));
                    let refs = d.ref_diff.as_ref().map_or(String::new(), |r| format!("; map ref {r}"));
                    format!(
                        "{}:{} [{}]: {} vs {} insns, {at}{refs}",
                        d.object, d.prog, d.prog_type, d.libbpf_insns, d.kbpf_insns
                    )
                })
                .collect(),
        );
        list(&mut o, "program or expected attach types that differ", notes(&self.prog_type_diffs));
        list(&mut o, "verdicts that differ", notes(&self.verdict_diffs));
        list(&mut o, "error lines that differ (both reject)", notes(&self.error_line_diffs));
        list(
            &mut o,
            "sources skipped (do not compile against this kernel)",
            self.sources_skipped.iter().map(|(s, w)| format!("{s}: {w}")).collect(),
        );
        list(
            &mut o,
            "objects libbpf cannot open",
            self.objects_open_failed.iter().map(|(s, w)| format!("{s}: {w}")).collect(),
        );
        list(&mut o, "programs libbpf cannot load (not compared)", notes(&self.libbpf_failures));
        list(&mut o, "programs kbpf lists that libbpf does not", notes(&self.kbpf_extra));
        if let Some(prev) = &self.changes_since {
            list(&mut o, &format!("kbpf results that changed since run {prev}"), self.changes.clone());
        }
        o
    }
}

/// Writes `summary.json`, `report.txt` and both sides' records to a new `runs/<time>/`, and,
/// for a run over the whole corpus (`full`), names it in `runs/latest`: a partial run is then
/// compared with the last full one, program by program, and never becomes the baseline.
pub fn write(
    cache: &Cache,
    s: &Summary,
    libbpf: &[LibbpfRecord],
    kbpf: &[KbpfRecord],
    full: bool,
) -> Result<PathBuf, String> {
    let stamp = std::process::Command::new("date")
        .args(["-u", "+%Y%m%dT%H%M%SZ"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}", std::process::id()));
    let dir = cache.runs().join(&stamp);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let w = |name: &str, text: String| fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"));
    w("summary.json", serde_json::to_string_pretty(s).map_err(|e| e.to_string())?)?;
    w("report.txt", s.full())?;
    let lines = |v: Vec<Result<String, serde_json::Error>>| -> Result<String, String> {
        let mut out = String::new();
        for l in v {
            out.push_str(&l.map_err(|e| e.to_string())?);
            out.push('\n');
        }
        Ok(out)
    };
    w("kbpf.jsonl", lines(kbpf.iter().map(serde_json::to_string).collect())?)?;
    w("libbpf.jsonl", lines(libbpf.iter().map(serde_json::to_string).collect())?)?;
    if full {
        fs::write(cache.runs().join("latest"), format!("{stamp}\n")).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(obj: &str, prog: &str, outcome: &str, insns: &str, log: &str) -> LibbpfRecord {
        LibbpfRecord {
            object: obj.into(),
            prog: prog.into(),
            prog_type: "xdp".into(),
            outcome: outcome.into(),
            insns: insns.into(),
            errno: if outcome == "rejected" { 13 } else { 0 },
            log_tail: log.into(),
            processed: 5,
            ..Default::default()
        }
    }

    fn k(obj: &str, prog: &str, outcome: &str, insns: &str, line: &str) -> KbpfRecord {
        KbpfRecord {
            object: obj.into(),
            prog: prog.into(),
            prog_type: "xdp".into(),
            outcome: outcome.into(),
            insns: insns.into(),
            errno: if outcome == "rejected" { 13 } else { 0 },
            error_line: line.into(),
            processed: 5,
            ..Default::default()
        }
    }

    #[test]
    fn compares_per_program() {
        let a = "9500000000000000";
        let b = "b700000000000000";
        let libbpf = [
            l("o.bpf.o", "same", "accepted", a, ""),
            l("o.bpf.o", "differs", "rejected", a, "R1 !read_ok"),
            l("o.bpf.o", "unloadable", "libbpf_failed", "", ""),
            l("p.bpf.o", "lost", "accepted", a, ""),
        ];
        let kbpf = [
            k("o.bpf.o", "same", "accepted", a, ""),
            k("o.bpf.o", "differs", "accepted", &format!("{b}{a}"), ""),
            k("p.bpf.o", "", "loader_failed", "", "ELF: bad"),
        ];
        let s = Summary::build(&libbpf, &kbpf, &[], Duration::from_secs(1));
        let t = &s.total;
        assert_eq!((t.programs, t.compared, t.libbpf_failed), (4, 3, 1));
        assert_eq!((t.loader_failures, t.insns_identical, t.verdict_agree), (1, 1, 1));
        assert_eq!(t.prog_type_agree, 2);
        assert_eq!(t.kbpf_accepts_kernel_rejects, 1);
        assert_eq!((t.both_accept, t.processed_identical), (1, 1));
        let d = &s.insn_diffs[0];
        assert_eq!(d.first_diff, Some((0, a.to_string(), b.to_string())));
        assert_eq!((d.libbpf_insns, d.kbpf_insns), (1, 2));
        assert!(s.gate());
        assert!(!s.acceptance_met());
        assert!(s.table().contains("TOTAL"));
    }

    #[test]
    fn a_crash_fails_the_gate() {
        let libbpf = [l("o.bpf.o", "p", "accepted", "", "")];
        let kbpf = [k("o.bpf.o", "", "timeout", "", "")];
        let s = Summary::build(&libbpf, &kbpf, &[], Duration::ZERO);
        assert_eq!(s.total.kbpf_crashes, 1);
        assert!(!s.gate());
    }
}
