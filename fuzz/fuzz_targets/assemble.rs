//! cargo-fuzz target `assemble`: the body is `kbpf_soundness::targets::assemble` (replayed on stable
//! from `fuzz/corpus/assemble/` by `crates/soundness/tests/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kbpf_soundness::targets::assemble(data));
