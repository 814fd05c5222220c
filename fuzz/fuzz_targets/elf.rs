//! cargo-fuzz target `elf`: the body is `kbpf_soundness::targets::elf` (replayed on stable
//! from `fuzz/corpus/elf/` by `crates/soundness/tests/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kbpf_soundness::targets::elf(data));
