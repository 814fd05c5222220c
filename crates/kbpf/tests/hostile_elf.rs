//! Objects whose claimed sizes would exhaust the host (a `.bss` of 4 GiB or `u64::MAX`, a
//! value at the kernel's limit) end in typed errors through the facade, quickly, without
//! allocating what they claim.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kbpf::kfunc::Registry;
use kbpf::verifier::VerifyOptions;
use kbpf::{SourceError, SourceKind, create_maps, read_module, verify_module};
use kbpf_elf::ElfError;
use kbpf_elf::synth::with_bss;

/// Writes `bytes` to a fresh file in the system temp directory.
fn temp_object(tag: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("kbpf-hostile-{}-{tag}.o", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_huge_bss_is_a_typed_error_naming_the_section() {
    for (tag, size) in [("4g", 4u64 << 30), ("max", u64::MAX), ("2g", 1 << 31)] {
        let path = temp_object(tag, &with_bss(size));
        let t = Instant::now();
        let r = read_module(&path, SourceKind::Elf, &Registry::new(), None);
        std::fs::remove_file(&path).ok();
        match r {
            Err(SourceError::Elf(ElfError::Section { section, .. })) => assert_eq!(section, ".bss"),
            other => panic!("{tag}: {:?}", other.map(|m| m.maps)),
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{tag}: {:?}", t.elapsed());
    }
}

#[test]
fn the_largest_bss_the_kernel_accepts_verifies_without_being_allocated() {
    let path = temp_object("intmax", &with_bss(i32::MAX as u64));
    let module = read_module(&path, SourceKind::Elf, &Registry::new(), None);
    std::fs::remove_file(&path).ok();
    let module = module.unwrap();
    assert_eq!(module.maps[0].value_size, i32::MAX as u32);
    assert!(module.maps[0].data.is_empty());
    let t = Instant::now();
    let out = verify_module(&module, VerifyOptions::default());
    assert!(out.accepted, "{}", out.log);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // running it would need the 2 GiB map: kbpf's per-map budget refuses it by name
    let err = create_maps(&module).unwrap_err();
    assert!(err.to_string().contains(".bss"), "{err}");
}
