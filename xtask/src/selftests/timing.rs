//! Verification time against the kernel's own: the largest programs both sides accept (by the
//! kernel's processed count), kbpf's wall time to verify over the kernel's
//! `verification time N usec` (a BPF_LOG_STATS load). The ratio is noisy on a busy machine,
//! so the report gives the median, not one program's.

use serde::{Deserialize, Serialize};

use super::kbpf_side::KbpfRecord;
use super::oracle::LibbpfRecord;

/// How many of the largest both-accept programs are timed.
pub const LARGEST: usize = 20;

/// One timed program.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timed {
    pub object: String,
    pub prog: String,
    pub processed: i64,
    pub kernel_us: u64,
    pub kbpf_us: u64,
}

/// The timing of the largest programs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timing {
    pub programs: Vec<Timed>,
    /// Median of kbpf / kernel over `programs`.
    pub median_ratio: f64,
    /// Programs kbpf verified faster than the kernel.
    pub faster: usize,
}

impl Timing {
    /// The [`LARGEST`] both-accept programs with a kernel time; `None` when there are none.
    pub fn of(pairs: &[(&LibbpfRecord, &KbpfRecord)]) -> Option<Timing> {
        let mut programs: Vec<Timed> = pairs
            .iter()
            .filter(|(l, k)| l.outcome == "accepted" && k.outcome == "accepted" && l.verification_us > 0)
            .map(|(l, k)| Timed {
                object: l.object.clone(),
                prog: l.prog.clone(),
                processed: l.processed,
                kernel_us: l.verification_us as u64,
                kbpf_us: k.micros,
            })
            .collect();
        programs.sort_by(|a, b| b.processed.cmp(&a.processed).then_with(|| a.object.cmp(&b.object)));
        programs.truncate(LARGEST);
        if programs.is_empty() {
            return None;
        }
        let mut ratios: Vec<f64> = programs.iter().map(|t| t.kbpf_us as f64 / t.kernel_us as f64).collect();
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len();
        let median_ratio = if n % 2 == 1 { ratios[n / 2] } else { (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0 };
        let faster = programs.iter().filter(|t| t.kbpf_us < t.kernel_us).count();
        Some(Timing { programs, median_ratio, faster })
    }

    /// The report's lines.
    pub fn render(&self) -> String {
        let mut o = format!(
            "verification time, the {} largest both-accept programs: median kbpf/kernel {:.3}, kbpf faster on {} of {}\n",
            self.programs.len(),
            self.median_ratio,
            self.faster,
            self.programs.len()
        );
        for t in &self.programs {
            o.push_str(&format!(
                "  {}:{} processed {}: kernel {} us, kbpf {} us ({:.3})\n",
                t.object,
                t.prog,
                t.processed,
                t.kernel_us,
                t.kbpf_us,
                t.kbpf_us as f64 / t.kernel_us as f64
            ));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(prog: &str, processed: i64, kernel_us: i64, kbpf_us: u64) -> (LibbpfRecord, KbpfRecord) {
        let l = LibbpfRecord {
            object: "o.bpf.o".into(),
            prog: prog.into(),
            outcome: "accepted".into(),
            processed,
            verification_us: kernel_us,
            ..Default::default()
        };
        let k = KbpfRecord { outcome: "accepted".into(), micros: kbpf_us, ..Default::default() };
        (l, k)
    }

    #[test]
    fn the_largest_programs_give_the_median_ratio() {
        let v: Vec<_> = (0..30).map(|i| pair(&format!("p{i}"), i, 100, i as u64 * 10)).collect();
        let refs: Vec<_> = v.iter().map(|(l, k)| (l, k)).collect();
        let t = Timing::of(&refs).unwrap();
        assert_eq!(t.programs.len(), LARGEST);
        assert_eq!(t.programs[0].prog, "p29");
        // ratios 1.0 .. 2.9 for p10..p29: the median of twenty is between 1.9 and 2.0
        assert!((t.median_ratio - 1.95).abs() < 1e-9, "{}", t.median_ratio);
        assert_eq!(t.faster, 0);
    }

    #[test]
    fn programs_without_a_kernel_time_are_not_timed() {
        let v = [pair("a", 5, -1, 1)];
        let refs: Vec<_> = v.iter().map(|(l, k)| (l, k)).collect();
        assert!(Timing::of(&refs).is_none());
    }
}
