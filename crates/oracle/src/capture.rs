//! Capture of kernel verdicts to files, so comparisons also run where no oracle is available.
//!
//! Layout under a root directory (the repo's `tests/kernel-cases/`):
//! - `<family>.jsonl`: one [`CapturedCase`] per line, in generation order;
//! - `golden/<name>.hex` (one slot per line), `golden/<name>.level1.log` and
//!   `golden/<name>.level2.log`: kernel logs without the stats bit (no timings, deterministic).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use crate::case::{CapturedCase, Case, RecordOptions, record_case, request_for};
use crate::load::{LogLevel, load};
use crate::map::create_maps;

/// Runs every case through the kernel; `every_level2` > 0 also keeps the level-2 log of every
/// n-th case (when under `opts.max_log_level2` bytes). `progress(done, total)` is called per case.
pub fn record_all(
    cases: &[Case],
    opts: RecordOptions,
    every_level2: usize,
    mut progress: impl FnMut(usize, usize),
) -> Vec<CapturedCase> {
    let mut out = Vec::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        let mut o = opts;
        if every_level2 == 0 || i % every_level2 != 0 {
            o.max_log_level2 = 0;
        }
        out.push(CapturedCase { case: c.clone(), kernel: record_case(c, o) });
        progress(i + 1, cases.len());
    }
    out
}

/// Writes captured cases as `<dir>/<family>.jsonl` (replacing those files).
pub fn write_jsonl(dir: &Path, cases: &[CapturedCase]) -> std::io::Result<BTreeMap<String, usize>> {
    std::fs::create_dir_all(dir)?;
    let mut by_family: BTreeMap<String, Vec<&CapturedCase>> = BTreeMap::new();
    for c in cases {
        by_family.entry(c.case.family.clone()).or_default().push(c);
    }
    let mut counts = BTreeMap::new();
    for (fam, list) in by_family {
        let mut w = BufWriter::new(std::fs::File::create(dir.join(format!("{fam}.jsonl")))?);
        for c in &list {
            serde_json::to_writer(&mut w, c).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        counts.insert(fam, list.len());
    }
    Ok(counts)
}

/// Reads every `*.jsonl` of `dir` (sorted by file name, lines in order).
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<CapturedCase>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let r = BufReader::new(std::fs::File::open(&f)?);
        for (ln, line) in r.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let c: CapturedCase = serde_json::from_str(&line).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}:{}: {e}", f.display(), ln + 1),
                )
            })?;
            out.push(c);
        }
    }
    Ok(out)
}

/// Writes golden files for `cases` into `dir` (created): `<name>.hex`, `<name>.level1.log`,
/// `<name>.level2.log`. Returns the names written. Cases with maps are skipped (their logs carry
/// kernel addresses that change between loads).
pub fn write_golden(dir: &Path, cases: &[Case]) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    for c in cases {
        if !c.maps.is_empty() {
            continue;
        }
        let maps = create_maps(&c.maps).map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut logs = Vec::new();
        for level in [LogLevel::LEVEL1, LogLevel::LEVEL2] {
            let mut req = request_for(c, level);
            req.map_fds = maps.iter().map(|m| m.raw()).collect();
            let v = load(&c.slots, &req);
            let verdict = match v.errno {
                None => "accepted".to_string(),
                Some(e) => format!("rejected {e}"),
            };
            logs.push(format!("# prog_type {} verdict {verdict}\n{}", c.prog_type.name(), v.log));
        }
        let hex: String =
            c.slots.iter().map(|s| format!("{:016x}\n", u64::from_be_bytes(s.to_bytes()))).collect();
        std::fs::write(dir.join(format!("{}.hex", c.name)), hex)?;
        std::fs::write(dir.join(format!("{}.level1.log", c.name)), &logs[0])?;
        std::fs::write(dir.join(format!("{}.level2.log", c.name)), &logs[1])?;
        names.push(c.name.clone());
    }
    Ok(names)
}

/// Where [`diff_inputs`] got the kernel verdicts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Recorded just now from the running kernel.
    Live,
    /// Read from the captured files.
    Files,
}

/// The cases for a kernel-diff run: with `live` and a usable oracle, the generator's cases
/// (default seed, plus hand-written) recorded now; otherwise the captured files of `dir`.
pub fn diff_inputs(dir: &Path, live: bool) -> std::io::Result<(Vec<CapturedCase>, Source)> {
    if live && crate::available().is_ok() {
        let cases = crate::generator::all_cases(crate::generator::DEFAULT_SEED);
        return Ok((record_all(&cases, RecordOptions::default(), 0, |_, _| {}), Source::Live));
    }
    Ok((read_dir(dir)?, Source::Files))
}
