//! The BTF model: every kind round-trips through the builder and the parser, split BTF
//! continues its base's ids and strings, lookups, `.BTF.ext` records and their errors, and
//! no mutation of a valid blob panics.

use std::sync::Arc;

use kbpf_elf::btf::*;
use proptest::prelude::*;

fn m(name: &str, type_id: u32, offset: u32) -> Member {
    Member { name: name.into(), type_id, offset, bitfield_size: 0 }
}

/// One type of every kind (ids in comments).
fn every_kind() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    let int = b.add(BtfType::Int {
        name: "int".into(),
        size: 4,
        encoding: IntEncoding::Signed,
        offset: 0,
        bits: 32,
    }); // 1
    let ptr = b.add(BtfType::Ptr { type_id: int }); // 2
    b.add(BtfType::Array { elem: int, index: int, nelems: 4 }); // 3
    b.add(BtfType::Struct {
        name: "s".into(),
        size: 24,
        members: vec![
            m("a", int, 0),
            Member { name: "bf".into(), type_id: int, offset: 35, bitfield_size: 3 },
            m("arr", 3, 64),
        ],
        kind_flag: true,
    }); // 4
    b.add(BtfType::Union {
        name: "u".into(),
        size: 8,
        members: vec![m("p", ptr, 0), m("i", int, 0)],
        kind_flag: false,
    }); // 5
    b.add(BtfType::Enum {
        name: "e".into(),
        size: 4,
        signed: true,
        values: vec![EnumValue { name: "E_A".into(), value: -1 }, EnumValue { name: "E_B".into(), value: 7 }],
    }); // 6
    b.add(BtfType::Enum64 {
        name: "e64".into(),
        size: 8,
        signed: false,
        values: vec![EnumValue { name: "BIG".into(), value: 0x1_0000_0002 }],
    }); // 7
    b.add(BtfType::Fwd { name: "fu".into(), union: true }); // 8
    b.add(BtfType::Typedef { name: "int_t".into(), type_id: int }); // 9
    b.add(BtfType::Volatile { type_id: 9 }); // 10
    b.add(BtfType::Const { type_id: 10 }); // 11
    b.add(BtfType::Restrict { type_id: ptr }); // 12
    b.add(BtfType::FuncProto { ret: int, params: vec![m("x", int, 0), m("p", ptr, 0)], variadic: true }); // 13
    b.add(BtfType::Func { name: "f".into(), proto: 13, linkage: Linkage::Global }); // 14
    b.add(BtfType::Var { name: "v".into(), type_id: int, linkage: VarLinkage::Global }); // 15
    b.add(BtfType::DataSec { name: ".data".into(), size: 4, vars: vec![(15, 0, 4)] }); // 16
    b.add(BtfType::Float { name: "double".into(), size: 8 }); // 17
    b.add(BtfType::DeclTag { name: "tag".into(), type_id: 4, component: 1, attr: false }); // 18
    b.add(BtfType::TypeTag { name: "user".into(), type_id: int, attr: true }); // 19
    b
}

#[test]
fn every_kind_round_trips() {
    let mut b = every_kind();
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.len(), 20);
    let kinds: Vec<Kind> = btf.iter().map(|(_, t)| t.kind()).collect();
    assert_eq!(
        kinds[1..].iter().map(|k| k.name()).collect::<Vec<_>>().join(" "),
        "int ptr array struct union enum enum64 fwd typedef volatile const restrict func_proto func var datasec float decl_tag type_tag"
    );
    let BtfType::Struct { members, kind_flag: true, .. } = btf.get(4).unwrap() else { panic!() };
    assert_eq!((members[1].offset, members[1].bitfield_size), (35, 3));
    assert_eq!(btf.get(6).unwrap().enum_values().unwrap()[0].value, -1);
    assert_eq!(btf.get(7).unwrap().enum_values().unwrap()[0].value, 0x1_0000_0002);
    assert!(
        matches!(btf.get(13), Some(BtfType::FuncProto { variadic: true, params, .. }) if params.len() == 2)
    );
    // builder(parse(x)) == x
    let mut again = BtfBuilder::new();
    for (_, t) in btf.iter().skip(1) {
        again.add(t.clone());
    }
    assert_eq!(
        Btf::parse(&again.build()).unwrap().iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        btf.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn lookups() {
    let btf = Btf::parse(&every_kind().build()).unwrap();
    assert_eq!(btf.resolve(11).map(|(id, _)| id), Some(1));
    assert_eq!(btf.skip_modifiers(11).map(|(id, _)| id), Some(9));
    assert_eq!(btf.size_of(3), Some(16));
    assert_eq!(btf.size_of(15), Some(4));
    assert_eq!(btf.size_of(13), None);
    assert_eq!(btf.func_by_name("f").map(|(id, _)| id), Some(14));
    assert_eq!(btf.func_params(14).unwrap().iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["x", "p"]);
    assert_eq!(btf.ids_by_name("int"), [1]);
    assert_eq!(btf.find_by_name_kind("s", Kind::Struct), Some(4));
    assert_eq!(btf.find_by_name_kind("s", Kind::Union), None);
    assert_eq!(btf.members(4).unwrap().len(), 3);
}

#[test]
fn split_btf_continues_ids_and_strings() {
    let base = Arc::new(Btf::parse(&every_kind().build()).unwrap());
    // module BTF: a struct using base's `int` (id 1) and a new name
    let mut strs = vec![];
    strs.extend_from_slice(b"mod_s\0x\0");
    let base_strs = base.strings().len() as u32;
    let mut ty = vec![];
    for w in [base_strs, 4 << 24 | 1, 4, base_strs + 6, 1, 0] {
        ty.extend_from_slice(&u32::to_le_bytes(w));
    }
    let mut blob = vec![0x9f, 0xeb, 1, 0];
    for w in [24u32, 0, ty.len() as u32, ty.len() as u32, strs.len() as u32] {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    blob.extend_from_slice(&ty);
    blob.extend_from_slice(&strs);
    let module = Btf::parse_split(&blob, base.clone()).unwrap();
    assert_eq!(module.len(), 21);
    assert_eq!(module.own_ids(), 20..21);
    assert_eq!(module.get(20).unwrap().name(), "mod_s");
    assert_eq!(module.members(20).unwrap()[0].name, "x");
    assert_eq!(module.get(1).unwrap().name(), "int");
    assert_eq!(module.find_by_name_kind("mod_s", Kind::Struct), Some(20));
    assert_eq!(module.ids_by_name("int"), [1]);
    // a reference past the last id is an error
    let bad: Vec<u8> =
        blob.iter().copied().enumerate().map(|(i, b)| if i == 24 + 16 { 99 } else { b }).collect();
    assert!(matches!(Btf::parse_split(&bad, base), Err(BtfError::TypeId { id: 20, target: 99 })));
}

#[test]
fn a_forward_declared_enum_has_size_zero() {
    // `enum Z;` as clang writes it: no values, size 0 (libbpf opens it)
    let mut b = BtfBuilder::new();
    b.add(BtfType::Enum { name: "Z".into(), size: 0, signed: false, values: vec![] });
    assert!(Btf::parse(&b.build()).is_ok());
    let mut b = BtfBuilder::new();
    b.add(BtfType::Enum {
        name: "Z".into(),
        size: 0,
        signed: false,
        values: vec![EnumValue { name: "A".into(), value: 1 }],
    });
    assert!(matches!(Btf::parse(&b.build()), Err(BtfError::Invalid { id: 1, .. })));
}

#[test]
fn header_and_type_errors_are_typed() {
    let good = every_kind().build();
    let mut v = good.clone();
    v[2] = 2;
    assert_eq!(Btf::parse(&v).unwrap_err(), BtfError::Version(2));
    let mut v = good.clone();
    v[0..2].copy_from_slice(&[0xeb, 0x9f]);
    assert_eq!(Btf::parse(&v).unwrap_err(), BtfError::BigEndian);
    let mut v = good.clone();
    v[3] = 1;
    assert_eq!(Btf::parse(&v).unwrap_err(), BtfError::Flags(1));
    // the int's size (record 1, offset 24 + 8) becomes 3
    let mut v = good.clone();
    v[32] = 3;
    assert!(matches!(Btf::parse(&v), Err(BtfError::Invalid { id: 1, .. })));
    // the ptr's target (record 2 at 24 + 16, its type at + 8) becomes 77
    let mut v = good.clone();
    v[24 + 16 + 8] = 77;
    assert!(matches!(Btf::parse(&v), Err(BtfError::TypeId { id: 2, target: 77 })));
    // unknown kind 25
    let mut v = good;
    v[24 + 7] = 25;
    assert!(matches!(Btf::parse(&v), Err(BtfError::Kind { id: 1, kind: 25 })));
}

/// A `.BTF.ext` with one block per part.
fn ext_blob(b: &mut BtfBuilder, fi_size: u32) -> Vec<u8> {
    let sec = b.string("kprobe/x");
    let (file, line, access) = (b.string("./a.c"), b.string("int x = y;"), b.string("0:1"));
    let mut fi = vec![fi_size, sec, 1];
    fi.extend([16, 14]);
    fi.extend(std::iter::repeat_n(0, (fi_size as usize - 8) / 4));
    let li = [16, sec, 1, 8, file, line, 12 << 10 | 5];
    let cr = [16, sec, 1, 24, 4, access, 0];
    let mut body = vec![];
    for part in [&fi[..], &li[..], &cr[..]] {
        for w in part {
            body.extend_from_slice(&u32::to_le_bytes(*w));
        }
    }
    let (fl, ll, cl) = (fi.len() as u32 * 4, li.len() as u32 * 4, cr.len() as u32 * 4);
    let mut out = vec![0x9f, 0xeb, 1, 0];
    for w in [32u32, 0, fl, fl, ll, fl + ll, cl] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&body);
    out
}

#[test]
fn ext_records() {
    let mut b = every_kind();
    let ext = ext_blob(&mut b, 8);
    let btf = Btf::parse(&b.build()).unwrap();
    let e = BtfExt::parse(&ext, &btf).unwrap();
    assert_eq!(e.func_info, [FuncInfo { section: "kprobe/x".into(), insn: 2, type_id: 14 }]);
    let l = &e.line_info[0];
    assert_eq!(
        (l.insn, l.file.as_str(), l.line.as_str(), l.line_num, l.column),
        (1, "./a.c", "int x = y;", 12, 5)
    );
    let c = &e.core_relos[0];
    assert_eq!((c.insn, c.type_id, c.access.as_str(), c.kind), (3, 4, "0:1", CoreReloKind::FieldByteOffset));
    assert_eq!(e.core_relos_of("kprobe/x").count(), 1);
    // larger records from newer producers are accepted
    let mut b = every_kind();
    let ext = ext_blob(&mut b, 12);
    assert_eq!(BtfExt::parse(&ext, &Btf::parse(&b.build()).unwrap()).unwrap().func_info.len(), 1);
    // and the old entry point agrees
    let raw = b.build();
    assert_eq!(parse_func_info(&ext, strings(&raw).unwrap()).unwrap().len(), 1);
}

#[test]
fn ext_errors_are_typed() {
    let mut b = every_kind();
    let ext = ext_blob(&mut b, 8);
    let btf = Btf::parse(&b.build()).unwrap();
    // record size 6
    let mut v = ext.clone();
    v[32] = 6;
    assert_eq!(BtfExt::parse(&v, &btf).unwrap_err(), ExtError::RecordSize { part: "func_info", size: 6 });
    // zero records
    let mut v = ext.clone();
    v[32 + 8] = 0;
    assert!(matches!(BtfExt::parse(&v, &btf), Err(ExtError::SecInfo { part: "func_info", .. })));
    // insn_off 17
    let mut v = ext.clone();
    v[32 + 12] = 17;
    assert!(matches!(BtfExt::parse(&v, &btf), Err(ExtError::InsnOff { off: 17, .. })));
    // relocation kind 13
    let n = v.len();
    let mut v = ext;
    v[n - 4] = 13;
    assert!(matches!(BtfExt::parse(&v, &btf), Err(ExtError::CoreKind { kind: 13, .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Hostile blobs: any byte of a valid BTF and `.BTF.ext` changed, or the blob cut short,
    /// ends in a value or a typed error, never a panic.
    #[test]
    fn mutated_blobs_never_panic(at in 0usize..1000, val in any::<u8>(), cut in 0usize..1000, which in 0u8..3) {
        let mut b = every_kind();
        let ext = ext_blob(&mut b, 8);
        let raw = b.build();
        let good = Btf::parse(&raw).unwrap();
        let mut v = if which == 2 { ext.clone() } else { raw.clone() };
        let i = at % v.len();
        v[i] = val;
        if which == 1 {
            v.truncate(cut % (v.len() + 1));
        }
        if which == 2 {
            let _ = BtfExt::parse(&v, &good);
        } else if let Ok(btf) = Btf::parse(&v) {
            for (id, _) in btf.iter() {
                let _ = (btf.resolve(id), btf.size_of(id), btf.members(id));
            }
            let _ = BtfExt::parse(&ext, &btf);
        }
    }
}

#[test]
#[ignore = "needs /sys/kernel/btf/vmlinux (a kernel with CONFIG_DEBUG_INFO_BTF; cargo xtask test runs it there)"]
fn running_kernel_target_btf() {
    let t = TargetBtf::running_kernel().unwrap();
    assert!(t.vmlinux.len() > 10_000);
    let id = t.vmlinux.find_by_name_kind("task_struct", Kind::Struct).unwrap();
    assert!(t.vmlinux.members(id).unwrap().iter().any(|m| m.name == "pid"));
    for (name, m) in &t.modules {
        assert!(m.own_ids().start == t.vmlinux.len() as u32, "{name}");
    }
    // a raw blob loads through the file API too, and a missing file is named
    let f = TargetBtf::load(std::path::Path::new("/sys/kernel/btf/vmlinux")).unwrap();
    assert_eq!(f.vmlinux.len(), t.vmlinux.len());
    let e = TargetBtf::load(std::path::Path::new("no/such/btf")).unwrap_err();
    assert!(e.to_string().starts_with("no/such/btf: "), "{e}");
}

#[test]
fn target_btf_from_files_and_when_absent() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    // an ELF object: its .BTF section
    let t = TargetBtf::load(&data.join("maps_calls.o")).unwrap();
    assert!(t.vmlinux.len() > 1 && t.modules.is_empty());
    // a file that is neither BTF nor ELF is named in the error
    let e = TargetBtf::load(&data.join("maps_calls.c")).unwrap_err();
    assert!(matches!(e, TargetError::Btf { error: BtfError::Magic(_), .. }));
    assert!(e.to_string().contains("maps_calls.c: BTF: bad magic"), "{e}");
    // a directory without vmlinux: a program that needs BTF gets a clear error
    let empty = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no_btf_here");
    std::fs::create_dir_all(&empty).unwrap();
    let e = TargetBtf::require(TargetBtf::from_dir(&empty), "CO-RE relocation of prog 'x'").unwrap_err();
    assert!(
        e.to_string().starts_with("CO-RE relocation of prog 'x' needs target BTF, but none is available: "),
        "{e}"
    );
    assert!(e.to_string().ends_with("give one with --btf FILE"), "{e}");
}
