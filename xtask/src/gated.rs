//! Tests that need something a fresh clone may lack (the kernel oracle, the bpf_conformance
//! data, `/sys/kernel/btf/vmlinux`, `llvm-mc-19`). They are `#[ignore = "needs ..."]`, so a
//! plain `cargo test` never passes them by returning early; `cargo xtask test` runs them with
//! `--ignored` when their prerequisite is here and reports a counted skip, with the reason and
//! how to get it, when it is not. A unit test below keeps this table and the `#[ignore]`s of
//! the repository in step.

use std::path::Path;

use crate::{prereq, workspace_root};

/// What a gated test needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// `bpf()` works here (root on Linux x86_64).
    Oracle,
    /// The oracle, on the kernel version `tests/kernel-cases/` was captured on.
    CaptureKernel,
    /// The bpf_conformance suite at `kbpf_conformance::suite_dir()`.
    Conformance,
    /// The running kernel's BTF.
    VmlinuxBtf,
    /// LLVM 19's `llvm-mc-19` on PATH.
    LlvmMc,
    /// `clang-19` on PATH (C programs compiled at test time).
    Clang,
    /// CO-RE on real objects: clang-19 and bpftool (libbpf as a dev-only oracle) on PATH, the
    /// running kernel's BTF, and the kernel oracle.
    CoreToolchain,
    /// The selftests cache of `cargo xtask selftests` (objects and the libbpf built from the
    /// kernel source), `cc`, the running kernel's BTF and the kernel oracle.
    SelftestsCache,
    /// An opt-in (`KBPF_TEST_PACKAGING=1`): `cargo package` of every crate and `cargo install`
    /// of the CLI take minutes and the crates.io index.
    Packaging,
}

impl Need {
    /// Every prerequisite, in the order the summary lists them.
    pub const ALL: [Need; 9] = [
        Need::Conformance,
        Need::Oracle,
        Need::CaptureKernel,
        Need::VmlinuxBtf,
        Need::LlvmMc,
        Need::Clang,
        Need::CoreToolchain,
        Need::SelftestsCache,
        Need::Packaging,
    ];

    /// Short name for the summary.
    pub fn name(self) -> &'static str {
        match self {
            Need::Oracle => "kernel oracle tests",
            Need::CaptureKernel => "corpus self-check against the live kernel",
            Need::Conformance => "conformance",
            Need::VmlinuxBtf => "vmlinux BTF tests",
            Need::LlvmMc => "llvm-mc-19 agreement tests",
            Need::Clang => "tests on C objects compiled with clang-19",
            Need::CoreToolchain => "CO-RE tests on clang objects",
            Need::SelftestsCache => {
                "tests on the kernel selftests objects (CO-RE against libbpf, stats against verify)"
            }
            Need::Packaging => "packaging",
        }
    }

    /// `None` when the prerequisite is here; otherwise why not and how to get it.
    pub fn missing(self) -> Option<String> {
        match self {
            Need::Oracle => kbpf_oracle::available()
                .err()
                .map(|e| format!("kernel oracle unavailable: {e}; run as root on Linux x86_64 with bpf()")),
            Need::CaptureKernel => {
                if let Some(why) = Need::Oracle.missing() {
                    return Some(why);
                }
                let dir = workspace_root().join("tests").join("kernel-cases");
                let captured = kbpf_oracle::capture::read_dir(&dir)
                    .ok()
                    .and_then(|recs| recs.first().map(|r| r.kernel.kernel.clone()))
                    .unwrap_or_default();
                let running = kbpf_oracle::case::kernel_release();
                (!kbpf_oracle::case::same_version(&captured, &running)).then(|| {
                    format!(
                        "tests/kernel-cases/ was captured on Linux {captured}, this is {running}; \
                         run on that kernel or re-capture with the oracle's capture tool"
                    )
                })
            }
            Need::Conformance => kbpf_conformance::suite_missing(),
            Need::VmlinuxBtf => (!Path::new("/sys/kernel/btf/vmlinux").exists()).then(|| {
                "no /sys/kernel/btf/vmlinux; needs a kernel built with CONFIG_DEBUG_INFO_BTF".into()
            }),
            Need::LlvmMc => (!prereq::have("llvm-mc-19")).then(|| {
                "llvm-mc-19 not on PATH; apt-get install llvm-19 (xtask installs it as root)".into()
            }),
            Need::Clang => (!prereq::have("clang-19"))
                .then(|| "clang-19 not on PATH; apt-get install clang-19 (xtask installs it as root)".into()),
            Need::CoreToolchain => {
                let tools: Vec<&str> =
                    ["clang-19", "bpftool"].into_iter().filter(|t| !prereq::have(t)).collect();
                if !tools.is_empty() {
                    return Some(format!(
                        "{} not on PATH; apt-get install clang-19 bpftool",
                        tools.join(" and ")
                    ));
                }
                Need::VmlinuxBtf.missing().or_else(|| Need::Oracle.missing())
            }
            Need::SelftestsCache => {
                let cache = crate::selftests::cache_dir();
                let have = cache.join("objs").is_dir() && cache.join("build/libbpf/libbpf.a").is_file();
                if !have {
                    return Some(format!(
                        "no selftests cache at {} ($KBPF_SELFTESTS_CACHE); run cargo xtask selftests first",
                        cache.display()
                    ));
                }
                if !prereq::have("cc") {
                    return Some("cc not on PATH (the libbpf oracle is compiled at test time)".into());
                }
                Need::VmlinuxBtf.missing().or_else(|| Need::Oracle.missing())
            }
            Need::Packaging => std::env::var_os("KBPF_TEST_PACKAGING").is_none().then(|| {
                "opt-in: it packages every crate and installs kbpf from the crates.io index (minutes, \
                 network); set KBPF_TEST_PACKAGING=1, or cargo test -p kbpf-cli --test packaging -- --ignored"
                    .into()
            }),
        }
    }
}

/// A file holding `#[ignore]`d tests, what they need, and the cargo arguments selecting them.
pub struct Gated {
    /// Path from the workspace root.
    pub file: &'static str,
    /// Their prerequisite.
    pub need: Need,
    /// `cargo test` target selection (`--ignored` is added).
    pub args: &'static [&'static str],
}

/// Every file with `#[ignore]`d tests run on the host. (The arm64 conformance file runs under
/// qemu: see `arm64::test_runs`.)
pub const GATED: &[Gated] = &[
    Gated {
        file: "crates/conformance/src/suite.rs",
        need: Need::Conformance,
        args: &["-p", "kbpf-conformance", "--lib"],
    },
    Gated {
        file: "crates/interp/tests/conformance.rs",
        need: Need::Conformance,
        args: &["-p", "kbpf-interp", "--test", "conformance"],
    },
    Gated {
        file: "crates/jit-x86_64/tests/conformance.rs",
        need: Need::Conformance,
        args: &["-p", "kbpf-jit-x86_64", "--test", "conformance"],
    },
    Gated {
        file: "crates/oracle/tests/oracle.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf-oracle", "--test", "oracle"],
    },
    Gated {
        file: "crates/oracle/tests/bench.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf-oracle", "--test", "bench"],
    },
    Gated {
        file: "crates/kbpf/tests/maps_kernel.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf", "--test", "maps_kernel"],
    },
    Gated {
        file: "crates/kbpf/tests/ld_abs_tc.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf", "--test", "ld_abs_tc"],
    },
    Gated {
        file: "crates/kbpf/tests/attach_kernel.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf", "--test", "attach_kernel"],
    },
    Gated {
        file: "crates/kbpf/tests/xlated_kernel.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf", "--test", "xlated_kernel"],
    },
    Gated {
        file: "crates/kbpf/tests/net_kernel.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf", "--test", "net_kernel"],
    },
    Gated {
        file: "crates/oracle/tests/corpus.rs",
        need: Need::CaptureKernel,
        args: &["-p", "kbpf-oracle", "--test", "corpus"],
    },
    Gated {
        file: "crates/elf/tests/load.rs",
        need: Need::VmlinuxBtf,
        args: &["-p", "kbpf-elf", "--test", "load"],
    },
    Gated {
        file: "crates/elf/tests/btf.rs",
        need: Need::VmlinuxBtf,
        args: &["-p", "kbpf-elf", "--test", "btf"],
    },
    Gated {
        file: "crates/elf/tests/btf_kernel.rs",
        need: Need::Oracle,
        args: &["-p", "kbpf-elf", "--test", "btf_kernel"],
    },
    Gated {
        file: "crates/elf/tests/core_clang.rs",
        need: Need::CoreToolchain,
        args: &["-p", "kbpf-elf", "--test", "core_clang"],
    },
    Gated {
        file: "crates/elf/tests/core_selftests.rs",
        need: Need::SelftestsCache,
        args: &["-p", "kbpf-elf", "--test", "core_selftests"],
    },
    Gated {
        file: "crates/kfunc/tests/registry.rs",
        need: Need::VmlinuxBtf,
        args: &["-p", "kbpf-kfunc", "--test", "registry"],
    },
    Gated {
        file: "crates/isa/tests/llvm_mc.rs",
        need: Need::LlvmMc,
        args: &["-p", "kbpf-isa", "--test", "llvm_mc"],
    },
    Gated {
        file: "crates/jit-arm64/src/emit_tests.rs",
        need: Need::LlvmMc,
        args: &["-p", "kbpf-jit-arm64", "--lib"],
    },
    Gated {
        file: "crates/kbpf/tests/line_info.rs",
        need: Need::Clang,
        args: &["-p", "kbpf", "--test", "line_info"],
    },
    Gated {
        file: "crates/cli/tests/disasm_source.rs",
        need: Need::Clang,
        args: &["-p", "kbpf-cli", "--test", "disasm_source"],
    },
    Gated {
        file: "crates/kbpf/tests/loader_objects.rs",
        need: Need::Clang,
        args: &["-p", "kbpf", "--test", "loader_objects"],
    },
    Gated {
        file: "crates/cli/tests/btf_dump.rs",
        need: Need::CoreToolchain,
        args: &["-p", "kbpf-cli", "--test", "btf_dump"],
    },
    Gated {
        file: "crates/cli/tests/stats_selftests.rs",
        need: Need::SelftestsCache,
        args: &["-p", "kbpf-cli", "--test", "stats_selftests"],
    },
    Gated {
        file: "crates/cli/tests/packaging.rs",
        need: Need::Packaging,
        args: &["-p", "kbpf-cli", "--test", "packaging"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Files whose `#[ignore]`d tests xtask runs elsewhere than through [`GATED`]: the arm64
    /// conformance test, under qemu (`arm64::test_runs`).
    const RUN_ELSEWHERE: &[&str] = &["crates/jit-arm64/tests/conformance.rs"];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() && p.file_name().is_some_and(|n| n != "target") {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Every `#[ignore]`d test of the repository is run by `cargo xtask test` somewhere.
    #[test]
    fn every_ignored_test_is_run_by_xtask() {
        let root = workspace_root();
        let mut files = Vec::new();
        for d in ["crates", "tests"] {
            rust_files(&root.join(d), &mut files);
        }
        let marker = ["#[ignore", " = \""].concat();
        let known: Vec<&str> = GATED.iter().map(|g| g.file).chain(RUN_ELSEWHERE.iter().copied()).collect();
        let mut unknown = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let rel = f.strip_prefix(&root).unwrap_or(f).to_string_lossy().into_owned();
            if text.contains(&marker) && !known.contains(&rel.as_str()) {
                unknown.push(rel);
            }
        }
        assert!(
            unknown.is_empty(),
            "#[ignore]d tests xtask does not run (add them to gated::GATED): {unknown:?}"
        );
        for g in GATED {
            let text = std::fs::read_to_string(root.join(g.file)).unwrap_or_default();
            assert!(text.contains(&marker), "{} has no #[ignore]d test any more", g.file);
        }
    }
}
