//! cargo-fuzz target `decode`: the body is `kbpf_soundness::targets::decode` (replayed on stable
//! from `fuzz/corpus/decode/` by `crates/soundness/tests/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kbpf_soundness::targets::decode(data));
