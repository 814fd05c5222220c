//! Where the bpf_conformance suite lives. kbpf does not own or vendor it: it is found through
//! one environment variable, with a default beside the workspace, and every test, example and
//! xtask command asks this module rather than spelling a path of its own.

use std::path::{Path, PathBuf};

/// The environment variable naming the suite directory (the upstream repository's `tests/`).
pub const SUITE_DIR_ENV: &str = "KBPF_CONFORMANCE_DIR";

/// The upstream commit the expected figures (313 files) were taken from.
pub const SUITE_COMMIT: &str = "f558566280d8e76c95a502cfd8014264d8668130";

/// How to get the suite, for skip messages and `#[ignore]` reasons.
pub const HOW_TO_GET: &str = "git clone https://github.com/Alan-Jowett/bpf_conformance && git -C \
     bpf_conformance checkout f558566280d8e76c95a502cfd8014264d8668130, then \
     KBPF_CONFORMANCE_DIR=$PWD/bpf_conformance/tests (default: <workspace>/../shared/conformance/bpf_conformance)";

/// The directory holding the workspace: this crate's manifest is `<workspace>/crates/conformance`.
fn beside_workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(3).map_or_else(|| manifest.join("../../.."), Path::to_path_buf)
}

/// The suite directory: `$KBPF_CONFORMANCE_DIR` when set and non-empty, otherwise
/// `<workspace>/../shared/conformance/bpf_conformance`.
pub fn suite_dir() -> PathBuf {
    match std::env::var_os(SUITE_DIR_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => beside_workspace().join("shared").join("conformance").join("bpf_conformance"),
    }
}

/// `None` when [`suite_dir`] holds `.data` files; otherwise why not and how to get them.
pub fn suite_missing() -> Option<String> {
    let dir = suite_dir();
    let has_data = std::fs::read_dir(&dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| e.path().extension().is_some_and(|x| x == "data"))
    });
    if has_data {
        None
    } else {
        Some(format!("no bpf_conformance .data files in {}; to get them: {HOW_TO_GET}", dir.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_beside_the_workspace() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let beside = beside_workspace();
        assert!(manifest.starts_with(&beside));
        assert_eq!(manifest.strip_prefix(&beside).map(|p| p.components().count()).ok(), Some(3));
    }
}
