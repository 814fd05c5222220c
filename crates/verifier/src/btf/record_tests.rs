//! The record walk on hand-built BTF: one case per rule of `btf_find_field` /
//! `btf_parse_fields` / `map_check_btf`.

use super::{FieldKind, FieldMask, KptrTarget, RecordError, parse};
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Member, VarLinkage};

fn member(name: &str, type_id: u32, byte_off: u32) -> Member {
    Member { name: name.into(), type_id, offset: byte_off * 8, bitfield_size: 0 }
}

fn strukt(b: &mut BtfBuilder, name: &str, size: u32, members: Vec<Member>) -> u32 {
    b.add(BtfType::Struct { name: name.into(), size, members, kind_flag: false })
}

fn int(b: &mut BtfBuilder) -> u32 {
    b.add(BtfType::Int { name: "int".into(), size: 4, encoding: IntEncoding::Signed, offset: 0, bits: 32 })
}

fn lock(b: &mut BtfBuilder) -> u32 {
    let i = int(b);
    strukt(b, "bpf_spin_lock", 4, vec![member("val", i, 0)])
}

fn built(mut b: BtfBuilder) -> Btf {
    Btf::parse(&b.build()).expect("parses")
}

/// `T __tag *` (`tag` = `kptr`, `kptr_untrusted`, ...).
fn tagged_ptr(b: &mut BtfBuilder, tag: &str, target: u32) -> u32 {
    let t = b.add(BtfType::TypeTag { name: tag.into(), type_id: target, attr: false });
    b.add(BtfType::Ptr { type_id: t })
}

#[test]
fn a_lock_after_an_int() {
    let mut b = BtfBuilder::new();
    let i = int(&mut b);
    let l = lock(&mut b);
    let v = strukt(&mut b, "val", 8, vec![member("cnt", i, 0), member("l", l, 4)]);
    let btf = built(b);
    let rec = parse(&btf, v, FieldMask::MAP_VALUE, 8, None).unwrap().unwrap();
    assert_eq!(rec.fields.len(), 1);
    assert_eq!((rec.fields[0].kind, rec.fields[0].off, rec.fields[0].size), (FieldKind::SpinLock, 4, 4));
    assert_eq!(rec.off_of(FieldKind::SpinLock), Some(4));
    // no special field: no record
    let plain = parse(&btf, i, FieldMask::MAP_VALUE, 4, None);
    assert_eq!(plain, Err(RecordError::Invalid));
}

#[test]
fn two_locks_or_a_lock_array_are_refused() {
    let mut b = BtfBuilder::new();
    let l = lock(&mut b);
    let two = strukt(&mut b, "two", 8, vec![member("a", l, 0), member("b", l, 4)]);
    let idx = int(&mut b);
    let arr = b.add(BtfType::Array { elem: l, index: idx, nelems: 2 });
    let arrs = strukt(&mut b, "arr", 8, vec![member("a", arr, 0)]);
    let btf = built(b);
    assert_eq!(parse(&btf, two, FieldMask::MAP_VALUE, 8, None), Err(RecordError::TooBig));
    assert_eq!(parse(&btf, arrs, FieldMask::MAP_VALUE, 8, None), Err(RecordError::Invalid));
}

#[test]
fn kptrs_by_tag_resolved_against_the_kernel() {
    let mut b = BtfBuilder::new();
    let task = strukt(&mut b, "task_struct", 8, vec![]);
    let r = tagged_ptr(&mut b, "kptr", task);
    let u = tagged_ptr(&mut b, "kptr_untrusted", task);
    let idx = int(&mut b);
    let arr = b.add(BtfType::Array { elem: r, index: idx, nelems: 2 });
    let v = strukt(&mut b, "v", 24, vec![member("refs", arr, 0), member("plain", u, 16)]);
    let btf = built(b);
    let mut k = BtfBuilder::new();
    let ktask = strukt(&mut k, "task_struct", 8, vec![]);
    let kernel = built(k);
    let rec = parse(&btf, v, FieldMask::MAP_VALUE, 24, Some(&kernel)).unwrap().unwrap();
    let kinds: Vec<_> = rec.fields.iter().map(|f| (f.kind, f.off)).collect();
    assert_eq!(kinds, [(FieldKind::KptrRef, 0), (FieldKind::KptrRef, 8), (FieldKind::KptrUnref, 16)]);
    assert_eq!(rec.fields[0].kptr.as_ref().unwrap().target, KptrTarget::Kernel(ktask));
    assert_eq!(rec.fields[0].kptr.as_ref().unwrap().name, "task_struct");
    // no target BTF: unresolved; a kernel without the type: the program's own type
    let rec = parse(&btf, v, FieldMask::MAP_VALUE, 24, None).unwrap().unwrap();
    assert_eq!(rec.fields[2].kptr.as_ref().unwrap().target, KptrTarget::Unresolved);
    let empty = built(BtfBuilder::new());
    let rec = parse(&btf, v, FieldMask::MAP_VALUE, 24, Some(&empty)).unwrap().unwrap();
    assert_eq!(rec.fields[1].kptr.as_ref().unwrap().target, KptrTarget::Local(task));
}

#[test]
fn unknown_and_double_tags_are_refused() {
    let mut b = BtfBuilder::new();
    let task = strukt(&mut b, "task_struct", 8, vec![]);
    let bad = tagged_ptr(&mut b, "kptr_ref", task);
    let v = strukt(&mut b, "v", 8, vec![member("p", bad, 0)]);
    let inner = b.add(BtfType::TypeTag { name: "kptr".into(), type_id: task, attr: false });
    let outer = b.add(BtfType::TypeTag { name: "kptr".into(), type_id: inner, attr: false });
    let p2 = b.add(BtfType::Ptr { type_id: outer });
    let w = strukt(&mut b, "w", 8, vec![member("p", p2, 0)]);
    let btf = built(b);
    assert_eq!(parse(&btf, v, FieldMask::MAP_VALUE, 8, None), Err(RecordError::Invalid));
    assert_eq!(parse(&btf, w, FieldMask::MAP_VALUE, 8, None), Err(RecordError::Invalid));
}

#[test]
fn nested_structs_shift_their_fields() {
    let mut b = BtfBuilder::new();
    let i = int(&mut b);
    let timer = strukt(&mut b, "bpf_timer", 16, vec![]);
    let inner = strukt(&mut b, "inner", 24, vec![member("x", i, 0), member("t", timer, 8)]);
    let outer = strukt(&mut b, "outer", 32, vec![member("y", i, 0), member("in", inner, 8)]);
    let btf = built(b);
    let rec = parse(&btf, outer, FieldMask::MAP_VALUE, 32, None).unwrap().unwrap();
    assert_eq!(rec.off_of(FieldKind::Timer), Some(16));
    // past the value: EFAULT; a field of the wrong size is no field
    assert_eq!(parse(&btf, outer, FieldMask::MAP_VALUE, 24, None), Err(RecordError::Fault));
}

#[test]
fn graph_roots_need_contains_and_a_lock() {
    let mut b = BtfBuilder::new();
    let l = lock(&mut b);
    let head = strukt(&mut b, "bpf_list_head", 16, vec![]);
    let node = strukt(&mut b, "bpf_list_node", 24, vec![]);
    let i = int(&mut b);
    let elem = strukt(&mut b, "elem", 32, vec![member("v", i, 0), member("node", node, 8)]);
    let _ = elem;
    // a data section: `lock` then `head __contains(elem, node)`
    let vl = b.add(BtfType::Var { name: "lock".into(), type_id: l, linkage: VarLinkage::Global });
    let vh = b.add(BtfType::Var { name: "head".into(), type_id: head, linkage: VarLinkage::Global });
    b.add(BtfType::DeclTag { name: "contains:elem:node".into(), type_id: vh, component: -1, attr: false });
    let sec =
        b.add(BtfType::DataSec { name: ".data.A".into(), size: 24, vars: vec![(vl, 0, 4), (vh, 8, 16)] });
    let only_head = b.add(BtfType::DataSec { name: ".data.B".into(), size: 16, vars: vec![(vh, 0, 16)] });
    let btf = built(b);
    let rec = parse(&btf, sec, FieldMask::MAP_VALUE, 24, None).unwrap().unwrap();
    let root = rec.fields[1].graph_root.as_ref().unwrap();
    assert_eq!((rec.fields[1].kind, root.node_offset), (FieldKind::ListHead, 8));
    assert_eq!(parse(&btf, only_head, FieldMask::MAP_VALUE, 16, None), Err(RecordError::Invalid));
}

#[test]
fn map_types_and_flags_that_cannot_hold_fields() {
    let mut b = BtfBuilder::new();
    let l = lock(&mut b);
    let v = strukt(&mut b, "v", 4, vec![member("l", l, 0)]);
    let btf = built(b);
    let rec = parse(&btf, v, FieldMask::MAP_VALUE, 4, None).unwrap().unwrap();
    assert_eq!(rec.check_map_type(2, 0), Ok(()));
    // per-CPU arrays hold no locks; read-only maps no special fields at all
    assert_eq!(rec.check_map_type(6, 0), Err(RecordError::MapType));
    assert_eq!(rec.check_map_type(2, crate::BPF_F_RDONLY_PROG), Err(RecordError::MapFlags));
}
