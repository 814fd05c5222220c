//! The `jit_diff` corpus (interpreter against the host JIT), on stable.

use std::path::Path;

#[test]
fn jit_diff_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/jit_diff");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect()).unwrap_or_default();
    files.sort();
    assert!(!files.is_empty(), "no jit_diff corpus");
    for p in &files {
        kbpf_soundness::targets::jit_diff(&std::fs::read(p).unwrap());
    }
}
