//! `open_object` against a target (BTF, kernel config, map overrides) never panics on a damaged
//! object: every mutation of a clang object with maps, externs, several programs and a
//! BTF-attached section ends in a typed error or an object.

use std::sync::Arc;

use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Linkage, Member, TargetBtf};
use kbpf_elf::kconfig::Kconfig;
use kbpf_elf::{KconfigSource, LoadOptions, open_object};
use proptest::prelude::*;

/// tests/data/loader.o of the CLI (source beside it).
const OBJ: &[u8] = include_bytes!("../../cli/tests/data/loader.o");

fn options() -> LoadOptions {
    let mut b = BtfBuilder::new();
    let int = b.add(BtfType::Int {
        name: "int".into(),
        size: 4,
        encoding: IntEncoding::Signed,
        offset: 0,
        bits: 32,
    });
    let p = Member { name: "x".into(), type_id: int, offset: 0, bitfield_size: 0 };
    let proto = b.add(BtfType::FuncProto { ret: int, params: vec![p], variadic: false });
    b.add(BtfType::Func { name: "bpf_fentry_test1".into(), proto, linkage: Linkage::Global });
    let target = TargetBtf::new(Btf::parse(&b.build()).unwrap());
    LoadOptions {
        target_btf: Some(Arc::new(target)),
        target_btf_missing: None,
        kconfig: KconfigSource::Given(Kconfig::parse("t", "CONFIG_KBPF_TEST_VALUE=3\n").unwrap()),
        kernel_release: Some("6.18.0".into()),
        kallsyms: false,
        map_overrides: vec!["sized_later.max_entries=7".parse().unwrap()],
        nr_cpus: 2,
        ..LoadOptions::default()
    }
}

#[test]
fn the_object_opens() {
    let obj = open_object(OBJ, &options()).unwrap();
    let names: Vec<&str> = obj.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["one", "two", "legacy", "traced"]);
    assert_eq!(obj.program("traced").unwrap().attach_btf, Some((3, None)));
    assert!(obj.program("legacy").unwrap().error.is_some());
    let m = obj.maps.iter().find(|m| m.name == "sized_later").unwrap();
    assert_eq!(m.max_entries, 7);
}

#[test]
fn every_truncation_and_byte_flip_is_handled() {
    let opts = options();
    for cut in (0..OBJ.len()).step_by(97) {
        let _ = open_object(&OBJ[..cut], &opts);
    }
    let mut bytes = OBJ.to_vec();
    for i in (0..bytes.len()).step_by(5) {
        let keep = bytes[i];
        bytes[i] ^= 0xa5;
        let _ = open_object(&bytes, &opts);
        bytes[i] = keep;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]
    #[test]
    fn random_damage_never_panics(edits in proptest::collection::vec((0usize..OBJ.len(), any::<u8>()), 1..6)) {
        let mut bytes = OBJ.to_vec();
        for (at, v) in edits {
            bytes[at] = v;
        }
        let _ = open_object(&bytes, &options());
    }
}
