//! What changed in kbpf's results since the previous run (`runs/latest` in the cache): the
//! programs whose outcome, instructions or processed count moved, for the issues that follow.

use std::collections::HashMap;
use std::fs;

use super::cache::Cache;
use super::kbpf_side::KbpfRecord;

/// The previous run's name and kbpf records, if there is one.
pub fn previous(cache: &Cache) -> Option<(String, Vec<KbpfRecord>)> {
    let name = fs::read_to_string(cache.runs().join("latest")).ok()?.trim().to_string();
    let text = fs::read_to_string(cache.runs().join(&name).join("kbpf.jsonl")).ok()?;
    let records = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    Some((name, records))
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
