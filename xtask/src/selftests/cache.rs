//! The cache directory: the kernel source subset, libbpf built from it, `vmlinux.h`, and the
//! libbpf oracle binary. Each step is skipped when its output is up to date.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::prereq;

/// Debian's package of the kernel source, and the tarball it installs.
pub const SOURCE_PACKAGE: &str = "linux-source-6.12";
const TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";
const TOP: &str = "linux-source-6.12";

/// The clang the selftests are compiled with.
pub const CLANG: &str = "clang-19";

/// What the build takes out of the tarball: the selftests, libbpf and what their builds read.
const EXTRACT: &[&str] = &[
    "tools/testing/selftests/bpf",
    "tools/lib",
    "tools/include",
    "tools/scripts",
    "tools/build",
    "tools/arch/x86",
    "scripts/bpf_doc.py",
    "include/uapi/linux/bpf.h",
];

/// The running kernel's BTF, from which `vmlinux.h` is generated.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The prerequisites and the Debian packages that bring them: `(check, package)`.
const NEEDS: &[(&str, &str)] = &[
    (CLANG, "clang-19"),
    ("bpftool", "bpftool"),
    ("make", "make"),
    ("cc", "gcc"),
    ("/usr/include/gelf.h", "libelf-dev"),
    ("/usr/include/zlib.h", "zlib1g-dev"),
    (TARBALL, SOURCE_PACKAGE),
];

fn present(check: &str) -> bool {
    if check.starts_with('/') { Path::new(check).exists() } else { prereq::have(check) }
}

/// Installs what is missing when we are root with apt, then says what still is (why the run is
/// skipped and how to get it), or `None` when everything is here.
pub fn missing() -> Option<String> {
    let absent: Vec<&(&str, &str)> = NEEDS.iter().filter(|(c, _)| !present(c)).collect();
    let pkgs: Vec<&str> = absent.iter().map(|(_, p)| *p).collect();
    prereq::apt_install("selftests", &pkgs);
    let still: Vec<String> =
        NEEDS.iter().filter(|(c, _)| !present(c)).map(|(c, p)| format!("{c} (package {p})")).collect();
    if !still.is_empty() {
        return Some(format!(
            "missing {}; install them (as root: apt-get install {})",
            still.join(", "),
            NEEDS.iter().filter(|(c, _)| !present(c)).map(|(_, p)| *p).collect::<Vec<_>>().join(" ")
        ));
    }
    if !Path::new(VMLINUX_BTF).exists() {
        return Some(format!("no {VMLINUX_BTF}: needs a kernel built with CONFIG_DEBUG_INFO_BTF"));
    }
    if let Err(e) = kbpf_oracle::available() {
        return Some(format!("kernel oracle unavailable: {e}; run as root on Linux x86_64 with bpf()"));
    }
    None
}

/// The cache's layout.
pub struct Cache {
    pub root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }
    /// The extracted kernel source subset.
    pub fn src(&self) -> PathBuf {
        self.root.join("src")
    }
    /// `tools/testing/selftests/bpf` in it.
    pub fn selftests(&self) -> PathBuf {
        self.src().join("tools/testing/selftests/bpf")
    }
    /// libbpf's build output (`libbpf.a`, `bpf_helper_defs.h`).
    pub fn libbpf(&self) -> PathBuf {
        self.root.join("build/libbpf")
    }
    /// Headers for the BPF programs: `bpf/*.h` as installed by libbpf, and `vmlinux.h`.
    pub fn include(&self) -> PathBuf {
        self.root.join("build/include")
    }
    /// Compiled objects (`NAME.bpf.o`) and compile failures (`NAME.err`).
    pub fn objs(&self) -> PathBuf {
        self.root.join("objs")
    }
    /// The oracle's results, one JSON-lines file per object.
    pub fn oracle_out(&self) -> PathBuf {
        self.root.join("oracle")
    }
    /// The oracle binary.
    pub fn oracle_bin(&self) -> PathBuf {
        self.root.join("bin/libbpf_load")
    }
    /// Reports, one directory per run.
    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// Extraction, libbpf, `vmlinux.h` and the oracle binary, each when out of date.
    pub fn prepare(&self) -> Result<(), String> {
        fs::create_dir_all(&self.root).map_err(|e| format!("{}: {e}", self.root.display()))?;
        self.extract()?;
        self.build_libbpf()?;
        self.vmlinux_h()?;
        self.build_oracle()
    }

    /// What the tarball is, so a new package version re-extracts (and rebuilds everything).
    fn tarball_stamp() -> Result<String, String> {
        let m = fs::metadata(TARBALL).map_err(|e| format!("{TARBALL}: {e}"))?;
        let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        Ok(format!("{TARBALL} {} {}\n", m.len(), mtime.map_or(0, |d| d.as_secs())))
    }

    fn extract(&self) -> Result<(), String> {
        let stamp_file = self.root.join("src.stamp");
        let stamp = Self::tarball_stamp()?;
        if fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
            return Ok(());
        }
        println!("selftests: extracting {} from {TARBALL}", EXTRACT.join(" "));
        for stale in [self.src(), self.root.join("build"), self.objs(), self.oracle_out()] {
            let _ = fs::remove_dir_all(stale);
        }
        fs::create_dir_all(self.src()).map_err(|e| e.to_string())?;
        let members: Vec<String> = EXTRACT.iter().map(|m| format!("{TOP}/{m}")).collect();
        let mut cmd = Command::new("tar");
        cmd.arg("-xJf").arg(TARBALL).arg("--strip-components=1").arg("-C").arg(self.src()).args(&members);
        run(&mut cmd, "tar")?;
        fs::write(&stamp_file, stamp).map_err(|e| e.to_string())
    }

    /// `make -C tools/lib/bpf` with its output in the cache: the static library, the headers
    /// (`install_headers` generates `bpf_helper_defs.h` with `scripts/bpf_doc.py`).
    fn build_libbpf(&self) -> Result<(), String> {
        let out = self.libbpf();
        fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        let install = self.root.join("build/libbpf-install");
        let mut cmd = Command::new("make");
        cmd.arg("-s")
            .arg("-C")
            .arg(self.src().join("tools/lib/bpf"))
            .arg(format!("-j{}", std::thread::available_parallelism().map_or(1, |n| n.get())))
            .arg(format!("OUTPUT={}/", out.display()))
            .arg(format!("DESTDIR={}", install.display()))
            .arg("prefix=")
            .arg(out.join("libbpf.a"))
            .arg("install_headers");
        run(&mut cmd, "make libbpf")?;
        let bpf_inc = self.include().join("bpf");
        fs::create_dir_all(&bpf_inc).map_err(|e| e.to_string())?;
        let from = install.join("include/bpf");
        for e in fs::read_dir(&from).map_err(|e| format!("{}: {e}", from.display()))?.flatten() {
            copy_if_changed(&e.path(), &bpf_inc.join(e.file_name()))?;
        }
        Ok(())
    }

    /// `vmlinux.h` from the running kernel's BTF, regenerated when the kernel changes.
    fn vmlinux_h(&self) -> Result<(), String> {
        let stamp_file = self.root.join("build/vmlinux.release");
        let release = kbpf_oracle::case::kernel_release();
        let header = self.include().join("vmlinux.h");
        if header.exists() && fs::read_to_string(&stamp_file).ok().as_deref() == Some(release.as_str()) {
            return Ok(());
        }
        println!("selftests: vmlinux.h from {VMLINUX_BTF} (Linux {release})");
        let out = Command::new("bpftool")
            .args(["btf", "dump", "file", VMLINUX_BTF, "format", "c"])
            .output()
            .map_err(|e| format!("bpftool: {e}"))?;
        if !out.status.success() {
            return Err(format!("bpftool btf dump: {}", String::from_utf8_lossy(&out.stderr)));
        }
        fs::write(&header, out.stdout).map_err(|e| e.to_string())?;
        // objects compiled against another kernel's types are stale
        let _ = fs::remove_dir_all(self.objs());
        let _ = fs::remove_dir_all(self.oracle_out());
        fs::write(&stamp_file, release).map_err(|e| e.to_string())
    }

    /// The oracle, compiled against the cache's libbpf when its source or libbpf is newer.
    fn build_oracle(&self) -> Result<(), String> {
        self.build_c(&["libbpf_load.c"], &self.oracle_bin())
    }

    /// `jited_load` (`libbpf_load` that also reports the kernel's native code), for
    /// `cargo xtask jited-diff`; a binary of its own so the other oracle records stay valid.
    pub fn jited_oracle_bin(&self) -> Result<PathBuf, String> {
        let bin = self.root.join("bin/jited_load");
        self.build_c(&["jited_load.c", "libbpf_load.c"], &bin)?;
        Ok(bin)
    }

    /// `test_run_load` (`libbpf_load` that test-runs each loaded program and dumps its maps),
    /// for `cargo xtask test-run-diff`.
    pub fn test_run_oracle_bin(&self) -> Result<PathBuf, String> {
        let bin = self.root.join("bin/test_run_load");
        self.build_c(&["test_run_load.c", "libbpf_load.c"], &bin)?;
        Ok(bin)
    }

    /// Compiles `xtask/oracle/SOURCES[0]` (which may include the others) into `bin`.
    fn build_c(&self, sources: &[&str], bin: &Path) -> Result<(), String> {
        let dir = crate::workspace_root().join("xtask/oracle");
        let srcs: Vec<PathBuf> = sources.iter().map(|s| dir.join(s)).collect();
        let lib = self.libbpf().join("libbpf.a");
        let mut inputs: Vec<&Path> = srcs.iter().map(PathBuf::as_path).collect();
        inputs.push(&lib);
        if newer_than(bin, &inputs) {
            return Ok(());
        }
        fs::create_dir_all(bin.parent().unwrap_or(&self.root)).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("cc");
        cmd.args(["-O2", "-g", "-Wall", "-Werror"])
            .arg("-I")
            .arg(self.root.join("build/libbpf-install/include"))
            .arg("-I")
            .arg(self.src().join("tools/include/uapi"))
            .arg("-o")
            .arg(bin)
            .arg(&srcs[0])
            .arg(&lib)
            .args(["-lelf", "-lz"]);
        run(&mut cmd, &format!("cc {}", sources[0]))
    }
}

/// Whether `out` exists and is at least as new as every input.
pub fn newer_than(out: &Path, inputs: &[&Path]) -> bool {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(t) = mtime(out) else { return false };
    inputs.iter().all(|i| mtime(i).is_some_and(|ti| ti <= t))
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<(), String> {
    let new = fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    if fs::read(to).ok().as_deref() != Some(new.as_slice()) {
        fs::write(to, new).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(())
}

/// Runs `cmd`; its stderr becomes the error when it fails.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.stdout(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(20).collect();
        Err(format!("{what} failed:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_than_needs_the_output() {
        let dir = std::env::temp_dir().join(format!("kbpf-selftests-cache-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a");
        let b = dir.join("b");
        fs::write(&a, "x").unwrap();
        assert!(!newer_than(&b, &[&a]));
        fs::write(&b, "y").unwrap();
        assert!(newer_than(&b, &[&a]));
        assert!(!newer_than(&b, &[&dir.join("missing")]));
        fs::remove_dir_all(&dir).unwrap();
    }
}
