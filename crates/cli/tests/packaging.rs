//! Packaging: every crate but xtask and the oracle packages (`cargo package`, with versions on
//! the workspace's path dependencies and real metadata), and `cargo install --path crates/cli`
//! installs a working `kbpf`.
//!
//! Packaging a crate on its own makes cargo resolve its kbpf dependencies on crates.io, where
//! they are not (yet) published; packaging the workspace together resolves them locally, as
//! does `cargo package -p CRATE --exclude-lockfile`.

use std::path::Path;
use std::process::Command;

fn cargo() -> Command {
    let mut c = Command::new(env!("CARGO"));
    c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    c
}

#[test]
#[ignore = "packages every crate and builds kbpf from scratch (crates.io index, several minutes)"]
fn crates_package_and_the_cli_installs() {
    let tmp = std::env::temp_dir().join(format!("kbpf-packaging-{}", std::process::id()));
    let out = cargo()
        .args(["package", "--workspace", "--exclude", "xtask", "--exclude", "kbpf-oracle"])
        .args(["--no-verify", "--allow-dirty", "--target-dir"])
        .arg(tmp.join("package"))
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo package: {}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    for krate in ["kbpf-isa", "kbpf-verifier", "kbpf-jit-x86_64", "kbpf-jit-arm64", "kbpf", "kbpf-cli"] {
        assert!(log.contains(&format!("Packaging {krate} v")), "{krate} not packaged:\n{log}");
    }
    assert!(!log.contains("Packaging kbpf-oracle"), "{log}");

    let root = tmp.join("root");
    let out = cargo()
        .args(["install", "--debug", "--path", "crates/cli", "--root"])
        .arg(&root)
        .arg("--target-dir")
        .arg(tmp.join("install"))
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo install: {}", String::from_utf8_lossy(&out.stderr));
    let kbpf = root.join("bin").join("kbpf");
    let out = Command::new(&kbpf).arg("--version").output().expect("installed kbpf runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("kbpf {}", env!("CARGO_PKG_VERSION")));
    std::fs::remove_dir_all(&tmp).ok();
}
