//! Clang objects with line info as oracle inputs: compiling the C programs under
//! `tests/line-info/` (clang-19 at capture and test time, never checked in), loading one of
//! their programs the way libbpf does (the object's `.BTF`, then func_info and line_info with
//! the program), and the golden-log file format both the capture tool and the tests use.

use std::path::{Path, PathBuf};
use std::process::Command;

use kbpf_elf::{ElfProgram, Object};

use crate::load::{ProgBtf, ProgType};

/// Log levels the golden logs are captured at: 1, 2, and 4 alone (statistics, where only the
/// error paths print source lines).
pub const GOLDEN_LEVELS: [u32; 3] = [1, 2, 4];

/// The compiler: `$KBPF_CLANG`, default `clang-19`.
pub fn clang() -> String {
    std::env::var("KBPF_CLANG").unwrap_or_else(|_| "clang-19".to_string())
}

/// Compiles `src` (a `.c` file) into `out_dir/<stem>.o` with `-O2 -g -target bpf`, run from
/// the source's directory with that directory mapped to `.`, so that no absolute path ends up
/// in the object. Errors carry the compiler's message.
pub fn compile_c(src: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let dir = src.parent().ok_or_else(|| format!("{}: no directory", src.display()))?;
    let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = src.file_name().ok_or_else(|| format!("{}: no file name", src.display()))?;
    let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("prog");
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join(format!("{stem}.o"));
    let r = Command::new(clang())
        .current_dir(&dir)
        .args(["-O2", "-g", "-target", "bpf"])
        .arg(format!("-fdebug-prefix-map={}=.", dir.display()))
        .arg("-c")
        .arg(file)
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| format!("{}: {e}", clang()))?;
    if !r.status.success() {
        return Err(format!("{} {}: {}", clang(), src.display(), String::from_utf8_lossy(&r.stderr)));
    }
    Ok(out)
}

/// The C programs of `dir` (`*.c`, sorted).
pub fn c_sources(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    v.sort();
    Ok(v)
}

/// The oracle's program type for a libbpf section name (the few the golden programs use).
pub fn prog_type_for_section(section: &str) -> Option<ProgType> {
    Some(match section.split('/').next()? {
        "socket" => ProgType::SocketFilter,
        "xdp" => ProgType::Xdp,
        "tc" | "classifier" => ProgType::SchedCls,
        "syscall" => ProgType::Syscall,
        _ => return None,
    })
}

/// What libbpf hands `BPF_PROG_LOAD` besides the instructions: the object's BTF and the
/// program's func_info and line_info records. `None` without BTF.
pub fn prog_btf(obj: &Object, prog: &ElfProgram) -> Option<ProgBtf> {
    let blob = obj.btf_raw.clone()?;
    Some(ProgBtf {
        blob,
        func_info: prog.func_info.iter().map(|&(pc, id)| [pc as u32, id]).collect(),
        line_info: prog
            .line_info
            .iter()
            .map(|l| [l.insn, l.file_name_off, l.line_off, l.line_num << 10 | (l.column & 0x3ff)])
            .collect(),
    })
}

/// Damaged copies of a program's records, named, for the kernel's func_info / line_info
/// checks: each breaks one rule (`base` needs two functions and at least four lines).
pub fn bad_records(base: &ProgBtf) -> Vec<(&'static str, ProgBtf)> {
    type Damage = fn(&mut ProgBtf);
    let damages: [(&str, Damage); 8] = [
        ("func_first_nonzero", |b| b.func_info[0][0] = 1),
        ("func_order", |b| b.func_info[1][0] = 0),
        ("func_count", |b| {
            b.func_info.pop();
        }),
        ("func_layout", |b| b.func_info[1][0] += 1),
        ("line_missing_func0", |b| b.line_info[0][0] = 1),
        ("line_order", |b| b.line_info[2][0] = b.line_info[1][0]),
        ("line_missing_funcs", |b| b.line_info.truncate(3)),
        ("line_strings", |b| b.line_info[1][2] = u32::MAX / 2),
    ];
    if base.func_info.len() < 2 || base.line_info.len() < 4 {
        return Vec::new();
    }
    damages
        .into_iter()
        .map(|(name, damage)| {
            let mut b = base.clone();
            damage(&mut b);
            (name, b)
        })
        .collect()
}

/// The program whose records [`bad_records`] damages (`tests/line-info/<name>.c`).
pub const BAD_RECORDS_PROG: &str = "sub_reject";

/// A golden log file: `accepted` or `rejected <ERRNO>` on the first line, then the log with
/// 6.18's stack-liveness trace lines and the (timing) `verification time` line dropped, and one
/// final newline.
pub fn golden_text(errno: Option<&str>, log: &str) -> String {
    let verdict = errno.map_or("accepted".to_string(), |e| format!("rejected {e}"));
    let body: Vec<&str> =
        log.lines().filter(|l| !liveness_trace(l) && !l.starts_with("verification time ")).collect();
    format!("{verdict}\n{}\n", body.join("\n").trim_end())
}

/// 6.18's stack-liveness trace (`(3,5) frame 0 insn 5 +live -8`, `(0) live stack update ...`).
pub fn liveness_trace(l: &str) -> bool {
    let Some(rest) = l.strip_prefix('(') else { return false };
    let Some((ids, tail)) = rest.split_once(") ") else { return false };
    ids.bytes().all(|b| b.is_ascii_digit() || b == b',')
        && (tail.starts_with("frame ") || tail.starts_with("live stack update"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_format() {
        let t = golden_text(Some("EACCES"), "0: (b7) r0 = 0\n(0) live stack update x\nR1 bad\n\n");
        assert_eq!(t, "rejected EACCES\n0: (b7) r0 = 0\nR1 bad\n");
        assert_eq!(golden_text(None, ""), "accepted\n\n");
        assert_eq!(prog_type_for_section("xdp"), Some(ProgType::Xdp));
        assert_eq!(prog_type_for_section("kprobe/x"), None);
    }
}
