//! Installing what the suites need, when this machine lets us.

use std::process::{Command, Stdio};

/// Whether `prog` is on PATH.
pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Installs Debian packages quietly when we are root with apt-get (announced as `who:
/// installing ...`); whether they arrived is for the caller to check.
pub fn apt_install(who: &str, pkgs: &[&str]) {
    if pkgs.is_empty() || !is_root() || !have("apt-get") {
        return;
    }
    println!("{who}: installing {}", pkgs.join(" "));
    let quiet = |c: &mut Command| c.stdout(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    let _ = quiet(Command::new("apt-get").args(["update", "-qq"]));
    let _ = quiet(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(pkgs)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    );
}

/// A tool the suites use, and the Debian package that brings it.
struct Need {
    tool: &'static str,
    package: &'static str,
    why: &'static str,
}

const NEEDS: &[Need] = &[
    Need {
        tool: "llvm-mc-19",
        package: "llvm-19",
        why: "assembler agreement with LLVM 19 (BPF and aarch64)",
    },
    Need {
        tool: "clang-19",
        package: "clang-19",
        why: "the line-info golden logs (C compiled at test time)",
    },
    Need { tool: "qemu-aarch64-static", package: "qemu-user-static", why: "running the arm64 JIT tests" },
    Need {
        tool: "aarch64-linux-gnu-gcc",
        package: "gcc-aarch64-linux-gnu",
        why: "linking arm64 test binaries",
    },
];

/// Installs missing tools with apt-get (as root), and the aarch64 Rust target with rustup.
/// Returns the list of things still missing, each with what is skipped because of it.
pub fn ensure() -> Vec<String> {
    let missing: Vec<&Need> = NEEDS.iter().filter(|n| !have(n.tool)).collect();
    let mut pkgs: Vec<&str> = missing.iter().map(|n| n.package).collect();
    if missing.iter().any(|n| n.tool == "aarch64-linux-gnu-gcc") {
        pkgs.push("libc6-dev-arm64-cross");
    }
    apt_install("xtask", &pkgs);
    let mut still = Vec::new();
    for n in NEEDS {
        if !have(n.tool) {
            still.push(format!("{} (package {}): skipping {}", n.tool, n.package, n.why));
        }
    }
    if !aarch64_target_installed() {
        let _ = Command::new("rustup").args(["target", "add", "aarch64-unknown-linux-gnu"]).status();
        if !aarch64_target_installed() {
            still.push("rust target aarch64-unknown-linux-gnu: skipping the arm64 tests under qemu".into());
        }
    }
    still
}

/// Whether the aarch64 standard library is installed for the active toolchain.
pub fn aarch64_target_installed() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == "aarch64-unknown-linux-gnu"))
        .unwrap_or(false)
}
