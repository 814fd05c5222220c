//! libbpf + the running kernel, through `xtask/oracle/libbpf_load.c`: one JSON line per program
//! of each object, kept in the cache (`oracle/NAME.jsonl`) until the object or the oracle
//! changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::cache::{Cache, newer_than};

/// What libbpf and the kernel did with one program (or, with `open_error`, with the object).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LibbpfRecord {
    /// Object file name (`NAME.bpf.o`).
    pub object: String,
    /// Program (function) name.
    pub prog: String,
    /// ELF section.
    pub section: String,
    /// libbpf could not open the object: its last warning.
    pub open_error: Option<String>,
    /// libbpf's program type name (`xdp`, `socket_filter`, ...).
    pub prog_type: String,
    /// libbpf's name of the expected attach type.
    pub attach_type: String,
    /// The expected attach type as passed to `BPF_PROG_LOAD` (a struct_ops member index for
    /// struct_ops programs).
    pub attach_number: u32,
    /// Instructions submitted.
    pub insn_cnt: usize,
    /// `[slot, map name]` of every map `ld_imm64` (fd replaced by 0 in `insns`) and
    /// `[slot, "btf_obj_fd"]` of every module BTF object fd replaced.
    pub refs: Vec<(usize, String)>,
    /// The submitted instructions, normalised, as hex.
    pub insns: String,
    /// `accepted`, `rejected` (by the kernel), or `libbpf_failed` (before `BPF_PROG_LOAD`).
    pub outcome: String,
    /// The errno of a failure (0 when accepted).
    pub errno: i32,
    /// The kernel's `processed N insns`, or -1.
    pub processed: i64,
    /// The log before the statistics (at most 4 KiB, from a line start), on a rejection.
    pub log_tail: String,
    /// libbpf's last warning when it failed before the kernel.
    pub libbpf_error: String,
    /// Maps the oracle sized (`max_entries == 0` left to user space), comma-separated.
    pub defaulted_maps: String,
    /// The kernel's `verification time` of the statistics load in microseconds, or -1.
    pub verification_us: i64,
}

/// The error line of a rejection's log (or of kbpf's message): its last line, before the
/// `cur state:` / `old state:` dumps that follow `infinite loop detected`.
pub fn error_line(log: &str) -> &str {
    log.lines()
        .rev()
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with("cur state:") && !l.starts_with("old state:"))
        .unwrap_or("")
}

impl LibbpfRecord {
    /// The kernel's error line, on a rejection.
    pub fn error_line(&self) -> &str {
        error_line(&self.log_tail)
    }

    /// The kernel ran the verifier on it (accepted or rejected).
    pub fn reached_kernel(&self) -> bool {
        self.outcome == "accepted" || self.outcome == "rejected"
    }
}

/// Runs the oracle on every object (cached results where up to date), in parallel.
pub fn run_all(cache: &Cache, objects: &[PathBuf], jobs: usize) -> Result<Vec<LibbpfRecord>, String> {
    let out_dir = cache.oracle_out();
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let bin = cache.oracle_bin();
    let fresh = objects.iter().filter(|o| !newer_than(&result_file(&out_dir, o), &[o, &bin])).count();
    println!("selftests: libbpf oracle on {} objects ({fresh} to load into the kernel)", objects.len());
    let results = super::parallel(objects, jobs, |obj| one(&bin, &out_dir, obj));
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

fn result_file(out_dir: &Path, obj: &Path) -> PathBuf {
    let name = obj.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    out_dir.join(format!("{}.jsonl", name.trim_end_matches(".bpf.o")))
}

fn one(bin: &Path, out_dir: &Path, obj: &Path) -> Result<Vec<LibbpfRecord>, String> {
    let file = result_file(out_dir, obj);
    if !newer_than(&file, &[obj, bin]) {
        let out = Command::new(bin).arg(obj).output().map_err(|e| format!("{}: {e}", bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "libbpf_load {}: {}\n{}",
                obj.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // written whole, so an interrupted run never leaves a truncated result behind
        let tmp = file.with_extension("tmp");
        fs::write(&tmp, &out.stdout).map_err(|e| e.to_string())?;
        fs::rename(&tmp, &file).map_err(|e| e.to_string())?;
    }
    parse(&fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?)
}

/// Parses the oracle's JSON lines.
pub fn parse(text: &str) -> Result<Vec<LibbpfRecord>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("oracle output {l:.120}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_oracle_lines() {
        let text = r#"{"object":"a.bpf.o","prog":"p","section":"xdp","prog_type":"xdp","attach_type":"cgroup_inet_ingress","insn_cnt":2,"refs":[[0,"m"]],"insns":"1811","outcome":"rejected","errno":13,"processed":5,"log_tail":"0: (95) exit\nR0 !read_ok\n","libbpf_error":"","defaulted_maps":""}
{"object":"b.bpf.o","open_error":"libbpf: elf: bad"}
"#;
        let r = parse(text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].refs, [(0, "m".to_string())]);
        assert!(r[0].reached_kernel());
        assert_eq!(r[0].error_line(), "R0 !read_ok");
        assert_eq!(r[1].open_error.as_deref(), Some("libbpf: elf: bad"));
        assert!(!r[1].reached_kernel());
        assert!(parse("{").is_err());
    }

    #[test]
    fn error_line_skips_state_dumps() {
        let log = "2: (05) goto pc-1\ninfinite loop detected at insn 2\ncur state: R1=ctx() R10=fp0\nold state: R1=ctx() R10=fp0\n";
        assert_eq!(error_line(log), "infinite loop detected at insn 2");
        assert_eq!(error_line(""), "");
    }
}
