//! What changed in kbpf's results since the previous run (`runs/latest` in the cache): the
//! programs whose outcome, instructions or processed count moved, for the issues that follow.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::cache::Cache;
use super::kbpf_side::KbpfRecord;

/// The previous run's name and kbpf records, if there is one.
pub fn previous(cache: &Cache) -> Option<(String, Vec<KbpfRecord>)> {
    let name = fs::read_to_string(cache.runs().join("latest")).ok()?.trim().to_string();
    let text = fs::read_to_string(cache.runs().join(&name).join("kbpf.jsonl")).ok()?;
    let records = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    Some((name, records))
}

/// How many runs the cache keeps (about 20 MB each): enough to compare across a few sessions.
pub const KEEP_RUNS: usize = 10;

/// Removes the oldest run directories under `runs` (their names are UTC timestamps, so they sort
/// by age) beyond the newest `keep`, never the baseline `latest` names; returns how many went.
pub fn prune(runs: &Path, keep: usize) -> usize {
    let Ok(entries) = fs::read_dir(runs) else { return 0 };
    let baseline = fs::read_to_string(runs.join("latest")).map(|s| runs.join(s.trim())).ok();
    let mut dirs: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && Some(p) != baseline.as_ref())
        .collect();
    dirs.sort();
    let old = dirs.len().saturating_sub(keep);
    dirs[..old].iter().filter(|d| fs::remove_dir_all(d).is_ok()).count()
}

/// One line per program whose kbpf result changed: `object:prog: before -> after`.
pub fn changes(before: &[KbpfRecord], after: &[KbpfRecord]) -> Vec<String> {
    let key = |r: &KbpfRecord| (r.object.clone(), r.prog.clone());
    let old: HashMap<(String, String), &KbpfRecord> = before.iter().map(|r| (key(r), r)).collect();
    let describe = |r: &KbpfRecord| match r.outcome.as_str() {
        "accepted" => format!("accepted ({} processed)", r.processed),
        "rejected" => format!("rejected: {}", r.error_line),
        other => other.to_string(),
    };
    let mut out = Vec::new();
    for r in after {
        let what = match old.get(&key(r)) {
            None => format!("new: {}", describe(r)),
            Some(o)
                if o.outcome != r.outcome || o.processed != r.processed || o.error_line != r.error_line =>
            {
                format!("{} -> {}", describe(o), describe(r))
            }
            Some(o) if o.insns != r.insns || o.refs != r.refs => "instructions changed".to_string(),
            Some(_) => continue,
        };
        out.push(format!("{}:{}: {what}", r.object, r.prog));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(prog: &str, outcome: &str, insns: &str) -> KbpfRecord {
        KbpfRecord {
            object: "o.bpf.o".into(),
            prog: prog.into(),
            outcome: outcome.into(),
            insns: insns.into(),
            ..Default::default()
        }
    }

    #[test]
    fn prune_keeps_the_newest_runs() {
        let runs = std::env::temp_dir().join(format!("kbpf-prune-{}", std::process::id()));
        for stamp in ["20261207T090000Z", "20261207T100000Z", "20261207T110000Z"] {
            fs::create_dir_all(runs.join(stamp)).unwrap();
        }
        // the baseline is the oldest: partial runs came after it
        fs::write(runs.join("latest"), "20261207T090000Z\n").unwrap();
        assert_eq!(prune(&runs, 1), 1);
        assert!(!runs.join("20261207T100000Z").exists());
        assert!(runs.join("20261207T090000Z").exists() && runs.join("20261207T110000Z").exists());
        assert_eq!(prune(&runs, 1), 0);
        fs::remove_dir_all(&runs).unwrap();
    }

    #[test]
    fn lists_what_moved() {
        let before = [r("a", "loader_failed", ""), r("b", "accepted", "95"), r("c", "accepted", "95")];
        let after = [
            r("a", "accepted", "95"),
            r("b", "accepted", "b7"),
            r("c", "accepted", "95"),
            r("d", "unsupported", ""),
        ];
        assert_eq!(
            changes(&before, &after),
            [
                "o.bpf.o:a: loader_failed -> accepted (0 processed)",
                "o.bpf.o:b: instructions changed",
                "o.bpf.o:d: new: unsupported"
            ]
        );
    }
}
