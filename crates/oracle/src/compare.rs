//! kernel-diff: compares kbpf's verdicts with the kernel's recorded ones and reports agreement.

use std::collections::BTreeMap;
use std::fmt;

use crate::case::{CapturedCase, Case};
use crate::errno::Errno;
use crate::load::VerifierStats;

/// kbpf's verdict on a case, mirroring [`crate::KernelVerdict`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KbpfVerdict {
    /// Accepted.
    pub accepted: bool,
    /// errno of a rejection.
    pub errno: Option<Errno>,
    /// The error line (same rule as [`crate::error_line`]).
    pub error_line: Option<String>,
    /// The log.
    pub log: String,
    /// Statistics (processed insns, states...).
    pub stats: VerifierStats,
    /// Wall time kbpf spent verifying, in ns (compared with the kernel's `verification time`).
    pub verify_time_ns: Option<u64>,
    /// The log at level 2|4, compared with the kernel's where one was captured.
    pub log2: Option<String>,
}

/// What kind of disagreement a mismatch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MismatchKind {
    /// One accepted, the other rejected.
    Verdict,
    /// Both rejected with different error lines.
    ErrorLine,
    /// Both accepted, processed instruction counts outside 0.8x..1.25x.
    Processed,
    /// Same verdict, different level-1 log (normalised, [`normalize_log`]).
    Log,
    /// Same verdict, different level-2 log.
    Log2,
}

/// One disagreement.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Kind.
    pub kind: MismatchKind,
    /// Family.
    pub family: String,
    /// Case name.
    pub name: String,
    /// Kernel side, summarised.
    pub kernel: String,
    /// kbpf side, summarised.
    pub kbpf: String,
    /// Sort key within a kind (larger = worse).
    pub severity: f64,
}

/// Per-family counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FamilyStats {
    /// Cases.
    pub cases: usize,
    /// Kernel accepted.
    pub kernel_accepts: usize,
    /// Verdicts agree.
    pub verdict_agree: usize,
    /// Both reject.
    pub both_reject: usize,
    /// Both reject with the same error line.
    pub error_line_agree: usize,
    /// Both accept.
    pub both_accept: usize,
    /// Both accept with processed ratio in 0.8..=1.25.
    pub processed_within: usize,
    /// Same verdict and a captured level-1 log.
    pub log_cases: usize,
    /// ... whose normalised logs are identical.
    pub log_agree: usize,
    /// Same verdict and a captured level-2 log (kbpf's given).
    pub log2_cases: usize,
    /// ... whose normalised logs are identical.
    pub log2_agree: usize,
}

/// Summary of a distribution of ratios.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RatioSummary {
    /// Samples.
    pub count: usize,
    /// Minimum.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Maximum.
    pub max: f64,
}

impl RatioSummary {
    fn of(mut xs: Vec<f64>) -> RatioSummary {
        xs.retain(|x| x.is_finite());
        if xs.is_empty() {
            return RatioSummary::default();
        }
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        let median = if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 };
        RatioSummary { count: n, min: xs[0], median, max: xs[n - 1] }
    }
}

/// The result of a comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffReport {
    /// All families together.
    pub total: FamilyStats,
    /// kbpf accepted.
    pub kbpf_accepts: usize,
    /// kbpf processed / kernel processed, on cases both accept.
    pub processed_ratio: RatioSummary,
    /// kbpf verify time / kernel `verification time`, on cases where both are known.
    pub time_ratio: RatioSummary,
    /// Per family, sorted by name.
    pub families: BTreeMap<String, FamilyStats>,
    /// The worst mismatches (at most 40 of each kind): verdicts first, then error lines,
    /// processed ratios and logs.
    pub worst: Vec<Mismatch>,
    /// Number of mismatches of each kind (before truncating `worst`).
    pub mismatch_counts: BTreeMap<String, usize>,
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 { 100.0 } else { 100.0 * a as f64 / b as f64 }
}

impl DiffReport {
    /// Verdict agreement in percent.
    pub fn verdict_agreement(&self) -> f64 {
        pct(self.total.verdict_agree, self.total.cases)
    }

    /// Error-line agreement in percent of the cases both reject.
    pub fn error_line_agreement(&self) -> f64 {
        pct(self.total.error_line_agree, self.total.both_reject)
    }

    /// Share (percent) of both-accepted cases with processed insns within 0.8x..1.25x.
    pub fn processed_within(&self) -> f64 {
        pct(self.total.processed_within, self.total.both_accept)
    }

    /// Level-1 log agreement in percent of the same-verdict cases with a captured log.
    pub fn log_agreement(&self) -> f64 {
        pct(self.total.log_agree, self.total.log_cases)
    }

    /// Level-2 log agreement in percent of the same-verdict cases with a captured level-2 log.
    pub fn log2_agreement(&self) -> f64 {
        pct(self.total.log2_agree, self.total.log2_cases)
    }

    /// The acceptance criteria of issue 4 as (description, met) pairs.
    pub fn acceptance(&self) -> Vec<(String, bool)> {
        vec![
            (format!("cases >= 2000 ({})", self.total.cases), self.total.cases >= 2000),
            (
                format!("verdict agreement >= 98% ({:.2}%)", self.verdict_agreement()),
                self.verdict_agreement() >= 98.0,
            ),
            (
                format!("error-line agreement >= 90% ({:.2}%)", self.error_line_agreement()),
                self.error_line_agreement() >= 90.0,
            ),
            (
                format!("processed within 0.8x..1.25x on both-accept ({:.2}%)", self.processed_within()),
                self.total.processed_within == self.total.both_accept,
            ),
            (
                format!("median verify time ratio <= 0.5x ({:.3}x)", self.time_ratio.median),
                self.time_ratio.count > 0 && self.time_ratio.median <= 0.5,
            ),
            (
                format!("level-1 logs identical >= 95% ({:.2}%)", self.log_agreement()),
                self.log_agreement() >= 95.0,
            ),
        ]
    }
}

fn summarize(accepted: bool, errno: Option<Errno>, line: Option<&str>, processed: Option<u64>) -> String {
    if accepted {
        format!("accept ({} insns)", processed.map(|p| p.to_string()).unwrap_or_else(|| "?".into()))
    } else {
        format!(
            "{} {}",
            errno.map(|e| e.name()).unwrap_or_else(|| "reject".into()),
            line.unwrap_or("(no error line)")
        )
    }
}

/// A verifier log reduced to what must match the kernel's byte for byte: the
/// `verification time` line (wall clock) and 6.18's stack-liveness debug lines
/// (`(3,5) frame 0 insn 5 +live -8`, `... live stack update done in 2 iterations`, an
/// analysis kbpf does differently and does not print) are dropped, trailing blanks trimmed,
/// and the value of `(18)` loads is masked: the kernel prints a map's kernel address there,
/// which also shifts the state column.
pub fn normalize_log(log: &str) -> String {
    let liveness_debug = |l: &str| {
        let Some(rest) = l.strip_prefix('(') else { return false };
        let Some((ids, tail)) = rest.split_once(") ") else { return false };
        ids.bytes().all(|b| b.is_ascii_digit() || b == b',')
            && (tail.starts_with("frame ") || tail.starts_with("live stack update"))
    };
    let mut out = String::with_capacity(log.len());
    for l in log.lines() {
        if l.starts_with("verification time ") || liveness_debug(l) {
            continue;
        }
        match l.find("(18) r").and_then(|at| l[at..].find(" = 0x").map(|eq| at + eq + 3)) {
            Some(v) => {
                out.push_str(&l[..v]);
                out.push_str("IMM");
                let rest =
                    l[v..].trim_start_matches(|c: char| c.is_ascii_hexdigit() || c == 'x').trim_start();
                if !rest.is_empty() {
                    out.push(' ');
                    out.push_str(rest.trim_end());
                }
            }
            None => out.push_str(l.trim_end()),
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// Compares kbpf (the closure) with the recorded kernel verdicts. The closure is called once per
/// case, in order.
pub fn compare(cases: &[CapturedCase], kbpf: impl Fn(&Case) -> KbpfVerdict) -> DiffReport {
    let mut rep = DiffReport::default();
    let mut processed = Vec::new();
    let mut times = Vec::new();
    let mut mism = Vec::new();
    for cc in cases {
        let k = &cc.kernel;
        let u = kbpf(&cc.case);
        let fam = rep.families.entry(cc.case.family.clone()).or_default();
        let mut bump = |f: &mut dyn FnMut(&mut FamilyStats)| {
            f(fam);
            f(&mut rep.total);
        };
        bump(&mut |s| s.cases += 1);
        if k.accepted {
            bump(&mut |s| s.kernel_accepts += 1);
        }
        if u.accepted {
            rep.kbpf_accepts += 1;
        }
        if let (Some(t), Some(kt)) = (u.verify_time_ns, k.stats.verification_time_us) {
            times.push(t as f64 / (kt.max(1) as f64 * 1000.0));
        }
        let ksum = || summarize(k.accepted, k.errno, k.error_line.as_deref(), k.stats.processed_insns);
        let usum = || summarize(u.accepted, u.errno, u.error_line.as_deref(), u.stats.processed_insns);
        if k.accepted != u.accepted {
            mism.push(Mismatch {
                kind: MismatchKind::Verdict,
                family: cc.case.family.clone(),
                name: cc.case.name.clone(),
                kernel: ksum(),
                kbpf: usum(),
                severity: 1.0,
            });
            continue;
        }
        bump(&mut |s| s.verdict_agree += 1);
        let mut log_mismatch = |kind: MismatchKind, kl: &str, ul: &str| {
            let (kn, un) = (normalize_log(kl), normalize_log(ul));
            let same = kn == un;
            if !same {
                // the first differing line tells most
                let (kd, ud) = kn
                    .lines()
                    .chain(std::iter::repeat("(end)"))
                    .zip(un.lines().chain(std::iter::repeat("(end)")))
                    .find(|(a, b)| a != b)
                    .unwrap_or(("", ""));
                mism.push(Mismatch {
                    kind,
                    family: cc.case.family.clone(),
                    name: cc.case.name.clone(),
                    kernel: kd.to_string(),
                    kbpf: ud.to_string(),
                    severity: 0.0,
                });
            }
            same
        };
        if let Some(kl) = &k.log
            && !k.log_truncated
        {
            let same = log_mismatch(MismatchKind::Log, kl, &u.log);
            bump(&mut |s| {
                s.log_cases += 1;
                s.log_agree += usize::from(same);
            });
        }
        if let (Some(kl), Some(ul)) = (&k.log_level2, &u.log2) {
            let same = log_mismatch(MismatchKind::Log2, kl, ul);
            bump(&mut |s| {
                s.log2_cases += 1;
                s.log2_agree += usize::from(same);
            });
        }
        if !k.accepted {
            bump(&mut |s| s.both_reject += 1);
            if k.error_line == u.error_line {
                bump(&mut |s| s.error_line_agree += 1);
            } else {
                mism.push(Mismatch {
                    kind: MismatchKind::ErrorLine,
                    family: cc.case.family.clone(),
                    name: cc.case.name.clone(),
                    kernel: ksum(),
                    kbpf: usum(),
                    severity: 1.0,
                });
            }
            continue;
        }
        bump(&mut |s| s.both_accept += 1);
        match (k.stats.processed_insns, u.stats.processed_insns) {
            (Some(kp), Some(up)) => {
                let r = up as f64 / kp.max(1) as f64;
                processed.push(r);
                if (0.8..=1.25).contains(&r) {
                    bump(&mut |s| s.processed_within += 1);
                } else {
                    mism.push(Mismatch {
                        kind: MismatchKind::Processed,
                        family: cc.case.family.clone(),
                        name: cc.case.name.clone(),
                        kernel: ksum(),
                        kbpf: usum(),
                        severity: r.ln().abs(),
                    });
                }
            }
            _ => mism.push(Mismatch {
                kind: MismatchKind::Processed,
                family: cc.case.family.clone(),
                name: cc.case.name.clone(),
                kernel: ksum(),
                kbpf: usum(),
                severity: f64::INFINITY,
            }),
        }
    }
    rep.processed_ratio = RatioSummary::of(processed);
    rep.time_ratio = RatioSummary::of(times);
    for m in &mism {
        *rep.mismatch_counts.entry(format!("{:?}", m.kind)).or_default() += 1;
    }
    mism.sort_by(|a, b| a.kind.cmp(&b.kind).then(b.severity.total_cmp(&a.severity)));
    // the worst 40 of each kind
    let mut kept: BTreeMap<MismatchKind, usize> = BTreeMap::new();
    mism.retain(|m| {
        let n = kept.entry(m.kind).or_default();
        *n += 1;
        *n <= 40
    });
    rep.worst = mism;
    rep
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:>6} {:>8} {:>9} {:>12} {:>12} {:>11} {:>7} {:>7}",
            "family", "cases", "k-accept", "verdict%", "errline%", "processed%", "both-rej", "log%", "log2%"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: &FamilyStats| {
            writeln!(
                f,
                "{:<16} {:>6} {:>8} {:>9.2} {:>12} {:>12} {:>11} {:>7} {:>7}",
                name,
                s.cases,
                s.kernel_accepts,
                pct(s.verdict_agree, s.cases),
                if s.both_reject == 0 {
                    "-".to_string()
                } else {
                    format!("{:.2}", pct(s.error_line_agree, s.both_reject))
                },
                if s.both_accept == 0 {
                    "-".to_string()
                } else {
                    format!("{:.2}", pct(s.processed_within, s.both_accept))
                },
                s.both_reject,
                if s.log_cases == 0 {
                    "-".to_string()
                } else {
                    format!("{:.1}", pct(s.log_agree, s.log_cases))
                },
                if s.log2_cases == 0 {
                    "-".to_string()
                } else {
                    format!("{:.1}", pct(s.log2_agree, s.log2_cases))
                },
            )
        };
        for (name, s) in &self.families {
            row(f, name, s)?;
        }
        row(f, "TOTAL", &self.total)?;
        writeln!(f)?;
        writeln!(
            f,
            "kernel accepts {} / kbpf accepts {} of {}",
            self.total.kernel_accepts, self.kbpf_accepts, self.total.cases
        )?;
        let p = &self.processed_ratio;
        writeln!(
            f,
            "processed ratio kbpf/kernel (both accept, n={}): min {:.3} median {:.3} max {:.3}; within 0.8..1.25: {:.2}%",
            p.count,
            p.min,
            p.median,
            p.max,
            self.processed_within()
        )?;
        writeln!(
            f,
            "logs identical after normalisation: level 1 {:.2}% (n={}), level 2 {:.2}% (n={})",
            self.log_agreement(),
            self.total.log_cases,
            self.log2_agreement(),
            self.total.log2_cases
        )?;
        let t = &self.time_ratio;
        writeln!(
            f,
            "verification time ratio kbpf/kernel (n={}): median {:.3} (min {:.3}, max {:.3})",
            t.count, t.median, t.min, t.max
        )?;
        for (what, ok) in self.acceptance() {
            writeln!(f, "  [{}] {what}", if ok { "ok" } else { "--" })?;
        }
        if !self.worst.is_empty() {
            writeln!(f)?;
            writeln!(f, "mismatches: {:?}", self.mismatch_counts)?;
            for m in &self.worst {
                writeln!(f, "  {:?} {}/{}", m.kind, m.family, m.name)?;
                writeln!(f, "      kernel: {}", clip(&m.kernel, 150))?;
                writeln!(f, "      kbpf:   {}", clip(&m.kbpf, 150))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::KernelRecord;
    use crate::load::ProgType;
    use kbpf_isa::RawInsn;

    fn cc(name: &str, accepted: bool, line: Option<&str>, processed: Option<u64>) -> CapturedCase {
        CapturedCase {
            case: Case::new("f", name, ProgType::SocketFilter, vec![RawInsn::new(0x95, 0, 0, 0, 0)]),
            kernel: KernelRecord {
                accepted,
                errno: (!accepted).then_some(Errno::EACCES),
                error_line: line.map(str::to_string),
                stats: VerifierStats {
                    processed_insns: processed,
                    verification_time_us: Some(10),
                    ..VerifierStats::default()
                },
                log_level: 5,
                log: None,
                log_level2: None,
                log_truncated: false,
                kernel: String::new(),
                btf: None,
            },
        }
    }

    #[test]
    fn counts_and_ratios() {
        let cases = vec![
            cc("a", true, None, Some(100)),
            cc("b", true, None, Some(100)),
            cc("c", false, Some("R0 !read_ok"), Some(1)),
            cc("d", false, Some("x"), Some(1)),
            cc("e", false, Some("y"), Some(1)),
        ];
        let rep = compare(&cases, |c| match c.name.as_str() {
            "a" => KbpfVerdict {
                accepted: true,
                stats: VerifierStats { processed_insns: Some(110), ..Default::default() },
                verify_time_ns: Some(2000),
                ..Default::default()
            },
            "b" => KbpfVerdict {
                accepted: true,
                stats: VerifierStats { processed_insns: Some(200), ..Default::default() },
                verify_time_ns: Some(4000),
                ..Default::default()
            },
            "c" => KbpfVerdict { error_line: Some("R0 !read_ok".into()), ..Default::default() },
            "d" => KbpfVerdict { error_line: Some("z".into()), ..Default::default() },
            _ => KbpfVerdict { accepted: true, ..Default::default() },
        });
        assert_eq!(rep.total.cases, 5);
        assert_eq!(rep.total.verdict_agree, 4);
        assert_eq!(rep.total.both_reject, 2);
        assert_eq!(rep.total.error_line_agree, 1);
        assert_eq!(rep.total.both_accept, 2);
        assert_eq!(rep.total.processed_within, 1);
        assert_eq!(rep.processed_ratio.min, 1.1);
        assert_eq!(rep.processed_ratio.max, 2.0);
        assert_eq!(rep.time_ratio.count, 2);
        assert!((rep.time_ratio.median - 0.3).abs() < 1e-9);
        assert_eq!(rep.worst[0].kind, MismatchKind::Verdict);
        assert_eq!(rep.worst.len(), 3);
        let text = rep.to_string();
        assert!(text.contains("TOTAL"));
        assert!(text.contains("Verdict f/e"));
    }
}
