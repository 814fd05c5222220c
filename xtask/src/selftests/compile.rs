//! Compiling `progs/*.c` the way the selftests Makefile does (its `CLANG_BPF_BUILD_RULE` with
//! `BPF_CFLAGS`, `CLANG_CFLAGS` and `-DENABLE_ATOMICS_TESTS`, cpu v3), in parallel and
//! incrementally.
//!
//! Differences from the Makefile, on purpose: no `-Werror` (a warning does not change the code,
//! and clang-19 warns on a few 6.12 sources); `-fdebug-prefix-map` so no cache path ends up in
//! the objects; no `$(OUTPUT)/../usr/include` (the kernel's installed headers: the system's and
//! `tools/include/uapi` stand in). The per-file flags of the Makefile are in [`per_file_flags`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::cache::{CLANG, Cache, newer_than};

/// The result of [`compile_all`].
pub struct Built {
    /// Objects, in source order.
    pub objects: Vec<PathBuf>,
    /// How many were compiled by this run (the rest were up to date).
    pub fresh: usize,
    /// Sources that do not compile here: file stem and clang's first error line.
    pub failed: Vec<(String, String)>,
}

/// Every `progs/*.c`, sorted.
pub fn sources(cache: &Cache) -> Result<Vec<PathBuf>, String> {
    let dir = cache.selftests().join("progs");
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    v.sort();
    Ok(v)
}

/// The Makefile's per-file additions (`progs/X.c-CFLAGS`, and the `-fno-inline` of the two
/// `*_noinline` objects).
pub fn per_file_flags(stem: &str) -> &'static [&'static str] {
    const NO_STRICT_ALIASING: &[&str] = &[
        "bind4_prog",
        "bind6_prog",
        "dynptr_fail",
        "linked_list_fail",
        "map_kptr_fail",
        "syscall",
        "test_pkt_md_access",
        "test_sk_lookup",
        "timer_crash",
        "test_global_func9",
        "verifier_nocsr",
    ];
    if NO_STRICT_ALIASING.contains(&stem) {
        &["-fno-strict-aliasing"]
    } else if stem == "test_l4lb_noinline" || stem == "test_xdp_noinline" {
        &["-fno-inline"]
    } else {
        &[]
    }
}

/// The flags shared by every object (`BPF_CFLAGS CLANG_CFLAGS -DENABLE_ATOMICS_TESTS`).
fn common_flags(cache: &Cache) -> Vec<String> {
    let mut f: Vec<String> =
        ["-g", "-Wall", "-D__TARGET_ARCH_x86", "-mlittle-endian"].map(String::from).to_vec();
    for inc in [cache.include(), cache.selftests(), cache.src().join("tools/include/uapi")] {
        f.push(format!("-I{}", inc.display()));
    }
    f.push("-Wno-compare-distinct-pointer-types".into());
    f.extend(system_includes());
    f.push("-DENABLE_ATOMICS_TESTS".into());
    // paths in DWARF and BTF line info relative to the kernel tree, never absolute (the last
    // matching map wins: the tree's before the cache's)
    f.push(format!("-fdebug-prefix-map={}/=", cache.root.display()));
    f.push(format!("-fdebug-prefix-map={}/=", cache.src().display()));
    f.extend(["-O2", "--target=bpf", "-mcpu=v3"].map(String::from));
    f
}

/// clang's own include directories as `-idirafter` (the Makefile's `get_sys_includes`).
fn system_includes() -> Vec<String> {
    let out = Command::new(CLANG)
        .args(["-v", "-E", "-", "-o", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output();
    let Ok(out) = out else { return Vec::new() };
    let text = String::from_utf8_lossy(&out.stderr);
    let mut inside = false;
    let mut v = Vec::new();
    for line in text.lines() {
        if line.starts_with("#include <...> search starts here:") {
            inside = true;
        } else if line.starts_with("End of search list.") {
            break;
        } else if inside && let Some(dir) = line.strip_prefix(' ') {
            v.push("-idirafter".to_string());
            v.push(dir.trim().to_string());
        }
    }
    v
}

/// Compiles every source whose object is missing or older than it (or than `vmlinux.h` and the
/// headers beside the programs); a source that failed before is retried only when it changes.
pub fn compile_all(cache: &Cache, sources: &[PathBuf], jobs: usize) -> Result<Built, String> {
    let objs = cache.objs();
    fs::create_dir_all(&objs).map_err(|e| format!("{}: {e}", objs.display()))?;
    let common = common_flags(cache);
    // a change of flags recompiles everything
    let flags_file = objs.join("flags");
    let flags_text = common.join("\n");
    if fs::read_to_string(&flags_file).ok().as_deref() != Some(flags_text.as_str()) {
        for e in fs::read_dir(&objs).map_err(|e| e.to_string())?.flatten() {
            let _ = fs::remove_file(e.path());
        }
        fs::write(&flags_file, &flags_text).map_err(|e| e.to_string())?;
    }
    let vmlinux = cache.include().join("vmlinux.h");
    let results = super::parallel(sources, jobs, |src| compile_one(src, &objs, &common, &vmlinux));
    let mut built = Built { objects: Vec::new(), fresh: 0, failed: Vec::new() };
    for r in results {
        match r {
            Compiled::Object { path, fresh } => {
                built.fresh += fresh as usize;
                built.objects.push(path);
            }
            Compiled::Failed { stem, why } => built.failed.push((stem, why)),
        }
    }
    Ok(built)
}

enum Compiled {
    Object { path: PathBuf, fresh: bool },
    Failed { stem: String, why: String },
}

fn compile_one(src: &Path, objs: &Path, common: &[String], vmlinux: &Path) -> Compiled {
    let stem = src.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let obj = objs.join(format!("{stem}.bpf.o"));
    let err = objs.join(format!("{stem}.err"));
    if newer_than(&obj, &[src, vmlinux]) {
        return Compiled::Object { path: obj, fresh: false };
    }
    if newer_than(&err, &[src, vmlinux]) {
        let why = fs::read_to_string(&err).unwrap_or_default();
        return Compiled::Failed { stem, why: why.trim().to_string() };
    }
    let out = Command::new(CLANG)
        .args(common)
        .args(per_file_flags(&stem))
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&obj)
        .current_dir(src.parent().unwrap_or(Path::new(".")))
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let _ = fs::remove_file(&err);
            Compiled::Object { path: obj, fresh: true }
        }
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr);
            let why = first_error(&text);
            let _ = fs::remove_file(&obj);
            let _ = fs::write(&err, &why);
            Compiled::Failed { stem, why }
        }
        Err(e) => Compiled::Failed { stem, why: format!("{CLANG}: {e}") },
    }
}

/// clang's first `error:` line, without the cache's path; the last line when there is none.
fn first_error(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.contains("error:"))
        .or_else(|| stderr.lines().last())
        .unwrap_or("(no output)");
    match line.find("progs/") {
        Some(i) => line[i..].to_string(),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_error_line_without_paths() {
        let e = "/x/y/progs/a.c:3:1: warning: w\n/x/y/progs/a.c:4:2: error: unknown type 'foo'\n1 error generated.\n";
        assert_eq!(first_error(e), "progs/a.c:4:2: error: unknown type 'foo'");
        assert_eq!(first_error("boom\n"), "boom");
    }

    #[test]
    fn makefile_exceptions() {
        assert_eq!(per_file_flags("syscall"), ["-fno-strict-aliasing"]);
        assert_eq!(per_file_flags("test_xdp_noinline"), ["-fno-inline"]);
        assert!(per_file_flags("verifier_and").is_empty());
    }
}
