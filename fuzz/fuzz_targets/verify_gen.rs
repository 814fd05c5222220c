//! cargo-fuzz target `verify_gen`: the body is `kbpf_soundness::targets::verify_gen` (replayed on stable
//! from `fuzz/corpus/verify_gen/` by `crates/soundness/tests/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kbpf_soundness::targets::verify_gen(data));
