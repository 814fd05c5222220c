//! Every checked-in corpus file (`fuzz/corpus/TARGET/`) through its target's body, on stable:
//! what the fuzzer once found interesting keeps passing. `jit_diff` has its own binary
//! (`corpus_jit.rs`): it resets the global `bpf_get_prandom_u32` stream.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect()).unwrap_or_default();
    files.sort();
    for p in &files {
        let data = std::fs::read(p).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} fails", p.display());
    }
    files.len()
}

#[test]
fn corpora_replay() {
    let mut total = 0;
    for (name, f) in kbpf_soundness::targets::TARGETS {
        if name == "jit_diff" {
            continue;
        }
        let n = replay(name, f);
        assert!(n > 0, "no corpus for {name}");
        total += n;
    }
    println!("replayed {total} corpus files");
}
