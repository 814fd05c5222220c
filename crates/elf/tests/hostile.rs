//! Hostile objects built byte by byte: sizes the file claims (a 4 GiB or `u64::MAX` `.bss`,
//! symbols past their section, BTF map values too large for the kernel) end in typed errors
//! before anything is allocated for them, and no mutation of a valid object panics.

use kbpf_elf::synth::*;
use kbpf_elf::{ElfError, Object};
use proptest::prelude::*;

#[test]
fn the_builder_makes_a_loadable_object() {
    let obj = Object::parse(&with_bss(64)).unwrap();
    assert_eq!(obj.programs.len(), 1);
    assert_eq!(obj.programs[0].slots.len(), 2);
    let bss = &obj.maps[0];
    assert_eq!((bss.name.as_str(), bss.value_size, bss.max_entries), (".bss", 64, 1));
    // zeroes are implicit: nothing the size of the section is allocated
    assert_eq!(bss.data, None);
}

#[test]
fn a_bss_beyond_the_array_value_limit_is_a_typed_error() {
    for size in [1 << 31, 4 << 30, (4 << 30) + 8, u64::MAX] {
        match Object::parse(&with_bss(size)) {
            Err(ElfError::Section { section, what }) => {
                assert_eq!(section, ".bss");
                assert!(what.contains("INT_MAX"), "{what}");
            }
            other => panic!("size {size}: {other:?}"),
        }
    }
    // the largest the kernel accepts is kept, still without allocating it
    let obj = Object::parse(&with_bss(i32::MAX as u64)).unwrap();
    assert_eq!(obj.maps[0].value_size, i32::MAX as u32);
}

#[test]
fn a_data_section_larger_than_its_bytes_is_refused() {
    // `.rodata` claiming more bytes than the file holds, as NOBITS (no bytes at all)
    let ro = Sec { name: ".rodata", ty: SHT_NOBITS, flags: 2, data: Vec::new(), size: Some(1 << 20) };
    let bytes =
        object(vec![sec("socket", SHT_PROGBITS, 6, prog_bytes()), ro], &[("prog", GLOBAL_FUNC, 1, 0, 16)]);
    assert!(matches!(Object::parse(&bytes), Err(ElfError::Section { .. })));
    // PROGBITS whose size runs past the end of the file
    let ro = Sec { name: ".rodata", ty: SHT_PROGBITS, flags: 2, data: vec![1; 8], size: Some(u64::MAX / 2) };
    let bytes =
        object(vec![sec("socket", SHT_PROGBITS, 6, prog_bytes()), ro], &[("prog", GLOBAL_FUNC, 1, 0, 16)]);
    assert!(Object::parse(&bytes).is_err());
}

#[test]
fn a_symbol_outside_its_section_is_refused() {
    for (value, size) in [(64, 16), (0, 1 << 40), (u64::MAX - 7, 16), (8, u64::MAX)] {
        let bytes = object(
            vec![sec("socket", SHT_PROGBITS, 6, prog_bytes())],
            &[("prog", GLOBAL_FUNC, 1, value, size)],
        );
        match Object::parse(&bytes) {
            Err(ElfError::Section { section, what }) => {
                assert_eq!(section, "socket");
                assert!(what.contains("prog"), "{what}");
            }
            other => panic!("{value:#x}+{size:#x}: {other:?}"),
        }
    }
}

/// A legacy `maps` section holding one `struct bpf_map_def`.
fn with_legacy_map(ty: u32, key: u32, value: u32, max: u32) -> Vec<u8> {
    let def: Vec<u8> = [ty, key, value, max, 0].iter().flat_map(|w| w.to_le_bytes()).collect();
    object(
        vec![sec("socket", SHT_PROGBITS, 6, prog_bytes()), sec("maps", SHT_PROGBITS, 3, def)],
        &[("prog", GLOBAL_FUNC, 1, 0, 16), ("m", GLOBAL_OBJECT, 2, 0, 20)],
    )
}

#[test]
fn map_sizes_beyond_the_kernels_limits_are_typed_errors() {
    // hash: key + value + the element header reach KMALLOC_MAX_SIZE (E2BIG)
    for (ty, key, value) in
        [(1, 8, 4 << 20), (1, 12, 4194244), (1, u32::MAX, 8), (2, 4, u32::MAX), (6, 4, 32769)]
    {
        match Object::parse(&with_legacy_map(ty, key, value, 1)) {
            Err(ElfError::MapLimit { map, .. }) => assert_eq!(map, "m"),
            other => panic!("type {ty} key {key} value {value}: {other:?}"),
        }
    }
    // the largest values the kernel creates
    for (ty, key, value) in [(1, 12, 4194243), (2, 4, i32::MAX as u32), (6, 4, 32768)] {
        Object::parse(&with_legacy_map(ty, key, value, 1)).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Byte flips anywhere (headers, section table, symbols) never panic.
    #[test]
    fn mutated_objects_never_panic(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8), bss in any::<u64>()) {
        let mut bytes = with_bss(bss);
        let n = bytes.len();
        for (at, b) in flips {
            bytes[at % n] ^= b;
        }
        let _ = Object::parse(&bytes);
    }

    /// Section-table fields (offsets and sizes) set to arbitrary 64-bit values never panic.
    #[test]
    fn arbitrary_section_sizes_never_panic(section in 1usize..7, field in prop::sample::select(vec![24usize, 32, 56]), v in any::<u64>()) {
        let mut bytes = with_legacy_map(2, 4, 8, 1);
        let shoff = u64::from_le_bytes(bytes[40..48].try_into().unwrap()) as usize;
        let at = shoff + 64 * section + field;
        if at + 8 <= bytes.len() {
            bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        let _ = Object::parse(&bytes);
    }
}
