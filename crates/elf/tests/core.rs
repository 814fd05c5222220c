//! CO-RE relocations against hand-built local and target BTF: every relocation kind, flavors,
//! bitfields, memory-size adjustment, enum64, poisoning, ambiguity, the checks of the value
//! clang wrote, and module candidates.

use std::sync::Arc;

use kbpf_elf::btf::*;
use kbpf_elf::core::{self, CoreError, POISON_HELPER, POISON_KERNEL_MSG, Relocator};
use kbpf_isa::{AluOp, CallTarget, Insn, RawInsn, Reg, Size, Src, Width};

fn int(b: &mut BtfBuilder, name: &str, size: u32, signed: bool) -> u32 {
    let encoding = if signed { IntEncoding::Signed } else { IntEncoding::None };
    b.add(BtfType::Int { name: name.into(), size, encoding, offset: 0, bits: size * 8 })
}

fn m(name: &str, type_id: u32, offset: u32) -> Member {
    Member { name: name.into(), type_id, offset, bitfield_size: 0 }
}

fn bf(name: &str, type_id: u32, offset: u32, bits: u32) -> Member {
    Member { name: name.into(), type_id, offset, bitfield_size: bits }
}

fn st(name: &str, size: u32, members: Vec<Member>) -> BtfType {
    let kind_flag = members.iter().any(|m| m.bitfield_size > 0);
    BtfType::Struct { name: name.into(), size, members, kind_flag }
}

fn relo(insn: u32, type_id: u32, access: &str, kind: CoreReloKind) -> CoreRelo {
    CoreRelo { section: "kprobe/x".into(), insn, type_id, access: access.into(), kind }
}

fn ldx(size: Size, off: i16) -> RawInsn {
    Insn::Load { size, signed: false, dst: Reg::R0, src: Reg::R1, off }.encode()[0]
}

fn mov(imm: i32) -> RawInsn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(imm) }.encode()[0]
}

fn ld64(v: u64) -> [RawInsn; 2] {
    let e = Insn::LdImm64 {
        dst: Reg::R0,
        src: kbpf_isa::LdImm64Src::Imm,
        imm: v as i32,
        imm_hi: (v >> 32) as i32,
    }
    .encode();
    [e[0], e[1]]
}

fn poison() -> RawInsn {
    Insn::Call(CallTarget::Helper(POISON_HELPER)).encode()[0]
}

fn parse(b: &mut BtfBuilder) -> Btf {
    Btf::parse(&b.build()).unwrap()
}

/// local: `struct task { int pid; unsigned int flags; char comm[16]; long gone; }` (ids 1..)
fn local_task() -> (Btf, u32) {
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true); // 1
    let u = int(&mut b, "unsigned int", 4, false); // 2
    let c = int(&mut b, "char", 1, true); // 3
    let l = int(&mut b, "long", 8, true); // 4
    let arr = b.add(BtfType::Array { elem: c, index: i, nelems: 16 }); // 5
    let s =
        b.add(st("task", 32, vec![m("pid", i, 0), m("flags", u, 32), m("comm", arr, 64), m("gone", l, 192)])); // 6
    (parse(&mut b), s)
}

/// target: `struct task { u64 x; char comm[8]; unsigned long flags; int pid; }`, no `gone`
fn target_task() -> TargetBtf {
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true); // 1
    let ul = int(&mut b, "unsigned long", 8, false); // 2
    let c = int(&mut b, "char", 1, true); // 3
    let arr = b.add(BtfType::Array { elem: c, index: i, nelems: 8 }); // 4
    b.add(st("task", 32, vec![m("x", ul, 0), m("comm", arr, 64), m("flags", ul, 128), m("pid", i, 192)])); // 5
    TargetBtf::new(parse(&mut b))
}

#[test]
fn field_byte_offset_patches_loads_and_alu() {
    let (local, s) = local_task();
    let target = target_task();
    let mut insns = vec![ldx(Size::W, 0), mov(32 / 8), mov(8 + 3)];
    let relos = [
        relo(0, s, "0:0", CoreReloKind::FieldByteOffset),
        relo(1, s, "0:1", CoreReloKind::FieldByteOffset),
        relo(2, s, "0:2:3", CoreReloKind::FieldByteOffset),
    ];
    let res = core::apply("p", &mut insns, &relos, &local, &target).unwrap();
    assert_eq!(insns[0], ldx(Size::W, 24));
    assert_eq!(insns[1].imm, 16);
    assert_eq!(insns[2].imm, 8 + 3);
    assert_eq!(res[0].local_spec, "<byte_off> [6] struct task.pid (0:0 @ offset 0)");
    assert_eq!(res[0].target_spec.as_deref(), Some("<byte_off> [5] struct task.pid (0:3 @ offset 24)"));
    assert_eq!(res[2].target_spec.as_deref(), Some("<byte_off> [5] struct task.comm[3] (0:1:3 @ offset 11)"));
    assert!(
        res[0].log.iter().any(|l| l == "prog 'p': relo #0: patched insn #0 (LDX/ST/STX) off 0 -> 24"),
        "{:?}",
        res[0].log
    );
    assert!(res[0].log[0].starts_with(
        "CO-RE relocating [6] struct task: found target candidate [5] struct task in [vmlinux]"
    ));
}

#[test]
fn unsigned_field_loads_are_resized_signed_ones_poisoned() {
    let (local, s) = local_task();
    let target = target_task();
    // flags: u32 locally, u64 in the target: the load grows to DW
    let mut insns = vec![ldx(Size::W, 4)];
    let res =
        core::apply("p", &mut insns, &[relo(0, s, "0:1", CoreReloKind::FieldByteOffset)], &local, &target)
            .unwrap();
    assert_eq!(insns[0], ldx(Size::DW, 16));
    assert!(res[0].log.iter().any(|l| l.ends_with("mem_sz 4 -> 8")));
    // a signed int becoming a different size cannot be loaded right: poisoned
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true);
    let l = int(&mut b, "long", 8, true);
    b.add(st("task", 16, vec![m("x", i, 0), m("pid", l, 64)]));
    let target = TargetBtf::new(parse(&mut b));
    let mut insns = vec![ldx(Size::W, 0)];
    let res =
        core::apply("p", &mut insns, &[relo(0, s, "0:0", CoreReloKind::FieldByteOffset)], &local, &target)
            .unwrap();
    assert!(res[0].poisoned);
    assert_eq!(insns[0], poison());
    assert!(res[0].log.iter().any(|l| l.contains("accesses field incorrectly")));
}

#[test]
fn missing_field_poisons_and_exists_is_zero() {
    let (local, s) = local_task();
    let target = target_task();
    let mut insns = vec![ldx(Size::DW, 24), mov(1), mov(1), mov(8)];
    let relos = [
        relo(0, s, "0:3", CoreReloKind::FieldByteOffset),
        relo(1, s, "0:3", CoreReloKind::FieldExists),
        relo(2, s, "0:0", CoreReloKind::FieldExists),
        relo(3, s, "0:3", CoreReloKind::FieldByteSize),
    ];
    let res = core::apply("p", &mut insns, &relos, &local, &target).unwrap();
    assert_eq!(insns[0], poison());
    assert_eq!(insns[0].imm, 195896080);
    assert_eq!((insns[1].imm, insns[2].imm), (0, 1));
    assert_eq!(insns[3], poison());
    assert!(res[0].poisoned && !res[1].poisoned);
    assert!(res[0].log.iter().any(|l| l == "prog 'p': relo #0: no matching targets found"));
    assert!(res[0].log.iter().any(|l| l == "prog 'p': relo #0: substituting insn #0 w/ invalid insn"));
    // the kernel's verdict on a reachable poisoned instruction (Linux 6.18 check_helper_call)
    assert_eq!(POISON_KERNEL_MSG, format!("invalid func unknown#{}", insns[0].imm));
}

#[test]
fn byte_size_signed_and_array_elements() {
    let (local, s) = local_task();
    let target = target_task();
    let mut insns = vec![mov(4), mov(16), mov(1), mov(0), mov(1)];
    let relos = [
        relo(0, s, "0:1", CoreReloKind::FieldByteSize),
        relo(1, s, "0:2", CoreReloKind::FieldByteSize),
        relo(2, s, "0:0", CoreReloKind::FieldSigned),
        relo(3, s, "0:1", CoreReloKind::FieldSigned),
        relo(4, s, "0:2:1", CoreReloKind::FieldByteSize),
    ];
    core::apply("p", &mut insns, &relos, &local, &target).unwrap();
    assert_eq!(insns.iter().map(|i| i.imm).collect::<Vec<_>>(), [8, 8, 1, 0, 1]);
    // an index past the target's array does not match: poisoned
    let mut insns = vec![mov(64 / 8 + 12)];
    core::apply("p", &mut insns, &[relo(0, s, "0:2:12", CoreReloKind::FieldByteOffset)], &local, &target)
        .unwrap();
    assert_eq!(insns[0], poison());
    // signedness of an array element cannot be asked
    let mut insns = vec![mov(1)];
    let e = core::apply("p", &mut insns, &[relo(0, s, "0:2:1", CoreReloKind::FieldSigned)], &local, &target)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "prog 'p': relo 3 at insn #0 can't be applied to array access\nprog 'p': relo #0: failed to relocate: -22"
    );
}

/// `struct bits { unsigned a:3; int b:5; unsigned c:20; }` with the target moving them.
#[test]
fn bitfields() {
    let mut b = BtfBuilder::new();
    let u = int(&mut b, "unsigned int", 4, false);
    let i = int(&mut b, "int", 4, true);
    let s = b.add(st("bits", 4, vec![bf("a", u, 0, 3), bf("b", i, 3, 5), bf("c", u, 8, 20)]));
    let local = parse(&mut b);
    let mut b = BtfBuilder::new();
    let u = int(&mut b, "unsigned int", 4, false);
    let i = int(&mut b, "int", 4, true);
    let ul = int(&mut b, "unsigned long", 8, false);
    b.add(st(
        "bits",
        16,
        vec![m("pad", ul, 0), bf("c", u, 64 + 30, 20), bf("b", i, 64 + 13, 5), bf("a", u, 64, 3)],
    ));
    let target = TargetBtf::new(parse(&mut b));
    let kinds = [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldLshiftU64,
        CoreReloKind::FieldRshiftU64,
        CoreReloKind::FieldSigned,
    ];
    let mut got = vec![];
    for field in 0..3 {
        // clang's values, for the local layout
        let local_vals: [i32; 5] = match field {
            0 => [0, 4, 61, 61, 0],
            1 => [0, 4, 56, 59, 1],
            _ => [0, 4, 36, 44, 0],
        };
        let mut insns: Vec<RawInsn> = local_vals.iter().map(|&v| mov(v)).collect();
        let relos: Vec<CoreRelo> =
            kinds.iter().enumerate().map(|(n, &k)| relo(n as u32, s, &format!("0:{field}"), k)).collect();
        core::apply("p", &mut insns, &relos, &local, &target).unwrap();
        got.push(insns.iter().map(|i| i.imm).collect::<Vec<_>>());
    }
    // a at bit 64 (3 bits): byte 8, 4 bytes, lshift 64-(64+3-64)=61, rshift 61, unsigned
    // b at bit 77 (5 bits): byte 8, lshift 64-(77+5-64)=46, rshift 59, signed
    // c at bit 94 (20 bits) crosses the 4-byte unit at 96: 8-byte load at 8, lshift 64-50=14
    assert_eq!(got, [vec![8, 4, 61, 61, 0], vec![8, 4, 46, 59, 1], vec![8, 8, 14, 44, 0]]);
}

#[test]
fn flavors_and_ambiguity() {
    // local `task___old` relocates against target `task`
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true);
    let s = b.add(st("task___old", 4, vec![m("pid", i, 0)]));
    let local = parse(&mut b);
    let target = target_task();
    let mut insns = vec![mov(0)];
    let res =
        core::apply("p", &mut insns, &[relo(0, s, "0:0", CoreReloKind::FieldByteOffset)], &local, &target)
            .unwrap();
    assert_eq!(insns[0].imm, 24);
    assert!(res[0].log.iter().any(|l| l.contains("matching candidate #0 <byte_off> [5] struct task.pid")));
    // two target flavors agreeing: fine; disagreeing: ambiguity
    let two = |second_off: u32| {
        let mut b = BtfBuilder::new();
        let i = int(&mut b, "int", 4, true);
        b.add(st("task", 8, vec![m("pid", i, 32)]));
        b.add(st("task___2", 8, vec![m("pid", i, second_off)]));
        TargetBtf::new(parse(&mut b))
    };
    let mut insns = vec![mov(0)];
    core::apply("p", &mut insns, &[relo(0, s, "0:0", CoreReloKind::FieldByteOffset)], &local, &two(32))
        .unwrap();
    assert_eq!(insns[0].imm, 4);
    let mut insns = vec![mov(0)];
    let e =
        core::apply("p", &mut insns, &[relo(0, s, "0:0", CoreReloKind::FieldByteOffset)], &local, &two(0))
            .unwrap_err();
    assert!(e.to_string().starts_with("prog 'p': relo #0: field offset ambiguity: 0 != 32\n"), "{e}");
    // a flavor-less name from the `X___Y` rule only
    assert_eq!(core::essential_name("task___old"), "task");
    assert_eq!(core::essential_name("a____b"), "a____b");
    assert_eq!(core::essential_name("x___y___z"), "x___y");
    assert_eq!(core::essential_name("__x___"), "__x___");
}

#[test]
fn type_relocations() {
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true); // 1
    let s = b.add(st("task", 4, vec![m("pid", i, 0)])); // 2
    let ghost = b.add(st("ghost", 4, vec![m("pid", i, 0)])); // 3
    let t = b.add(BtfType::Typedef { name: "pid_t".into(), type_id: i }); // 4
    let local = parse(&mut b);
    let target = target_task();
    let mut insns = vec![mov(2), mov(2), mov(1), mov(1), mov(4), mov(1), mov(4), mov(1), mov(3)];
    let relos = [
        relo(0, s, "0", CoreReloKind::TypeIdLocal),
        relo(1, s, "0", CoreReloKind::TypeIdTarget),
        relo(2, s, "0", CoreReloKind::TypeExists),
        relo(3, ghost, "0", CoreReloKind::TypeExists),
        relo(4, s, "0", CoreReloKind::TypeSize),
        relo(5, s, "0", CoreReloKind::TypeMatches),
        relo(6, ghost, "0", CoreReloKind::TypeSize),
        relo(7, t, "0", CoreReloKind::TypeExists),
        relo(8, ghost, "0", CoreReloKind::TypeIdTarget),
    ];
    let res = core::apply("p", &mut insns, &relos, &local, &target).unwrap();
    assert_eq!(insns.iter().map(|i| i.imm).collect::<Vec<_>>(), [2, 5, 1, 0, 32, 1, 0, 0, 0]);
    assert_eq!(res[1].local_spec, "<target_type_id> [2] struct task");
    // `matches` is stricter than `exists`: a member type that differs in signedness
    let mut b = BtfBuilder::new();
    let u = int(&mut b, "int", 4, false);
    b.add(st("task", 4, vec![m("pid", u, 0)]));
    let other = TargetBtf::new(parse(&mut b));
    let mut insns = vec![mov(1), mov(1)];
    let relos = [relo(0, s, "0", CoreReloKind::TypeMatches), relo(1, s, "0", CoreReloKind::TypeExists)];
    core::apply("p", &mut insns, &relos, &local, &other).unwrap();
    assert_eq!((insns[0].imm, insns[1].imm), (0, 1));
}

#[test]
fn enum_values_and_enum64() {
    let ev = |n: &str, v: i64| EnumValue { name: n.into(), value: v };
    let mut b = BtfBuilder::new();
    let e = b.add(BtfType::Enum {
        name: "st".into(),
        size: 4,
        signed: false,
        values: vec![ev("A", 0), ev("B", 1), ev("GONE", 2)],
    });
    let e64 = b.add(BtfType::Enum64 {
        name: "big".into(),
        size: 8,
        signed: false,
        values: vec![ev("HUGE", 1 << 40)],
    });
    let local = parse(&mut b);
    let mut b = BtfBuilder::new();
    b.add(BtfType::Enum {
        name: "st".into(),
        size: 4,
        signed: true,
        values: vec![ev("B___x", -1), ev("A", 7)],
    });
    b.add(BtfType::Enum64 {
        name: "big".into(),
        size: 8,
        signed: false,
        values: vec![ev("HUGE", 0x1234_5678_9abc)],
    });
    let target = TargetBtf::new(parse(&mut b));
    let [l0, l1] = ld64(1 << 40);
    let [g0, g1] = ld64(2);
    let mut insns = vec![mov(1), mov(1), mov(0), l0, l1, g0, g1, mov(1)];
    let relos = [
        relo(0, e, "1", CoreReloKind::EnumvalValue),
        relo(1, e, "2", CoreReloKind::EnumvalExists),
        relo(2, e, "0", CoreReloKind::EnumvalValue),
        relo(3, e64, "0", CoreReloKind::EnumvalValue),
        relo(5, e, "2", CoreReloKind::EnumvalValue),
        relo(7, e, "1", CoreReloKind::EnumvalExists),
    ];
    let res = core::apply("p", &mut insns, &relos, &local, &target).unwrap();
    assert_eq!((insns[0].imm, insns[1].imm, insns[2].imm, insns[7].imm), (-1, 0, 7, 1));
    assert_eq!(Insn::imm64(insns[3].imm, insns[4].imm), 0x1234_5678_9abc);
    // a missing enumerator's value: both ld_imm64 slots poisoned
    assert_eq!((insns[5], insns[6]), (poison(), poison()));
    assert_eq!(res[0].target_spec.as_deref(), Some("<enumval_value> [1] enum st::B___x = -1"));
    assert_eq!(res[3].local_spec, "<enumval_value> [2] enum64 big::HUGE = 1099511627776");
}

#[test]
fn the_value_clang_wrote_is_checked() {
    let (local, s) = local_task();
    let target = target_task();
    let mut insns = vec![ldx(Size::W, 8)];
    let e =
        core::apply("p", &mut insns, &[relo(0, s, "0:0", CoreReloKind::FieldByteOffset)], &local, &target)
            .unwrap_err();
    assert_eq!(
        e,
        CoreError::Patch {
            prog: "p".into(),
            relo: 0,
            insn: 0,
            errno: core::Errno::Inval,
            warning: "prog 'p': relo #0: unexpected insn #0 (LDX/ST/STX) value: got 8, exp 0 -> 24".into()
        }
    );
    // a jump cannot carry a relocation
    let mut insns = vec![Insn::Exit.encode()[0]];
    let e =
        core::apply("p", &mut insns, &[relo(0, s, "0:0", CoreReloKind::FieldByteOffset)], &local, &target)
            .unwrap_err();
    assert!(e.to_string().contains("trying to relocate unrecognized insn #0, code:0x95"), "{e}");
    // malformed access strings
    for bad in ["", ":0", "0:", "0::1", "0:x", "0:-1", "0:9"] {
        let mut insns = vec![mov(0)];
        let e =
            core::apply("p", &mut insns, &[relo(0, s, bad, CoreReloKind::FieldByteOffset)], &local, &target)
                .unwrap_err();
        assert!(e.to_string().contains("parsing [6] struct task + "), "{bad}: {e}");
    }
    // anonymous local types have no candidates
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true);
    let anon = b.add(st("", 4, vec![m("pid", i, 0)]));
    let local = parse(&mut b);
    let mut insns = vec![mov(0)];
    let e =
        core::apply("p", &mut insns, &[relo(0, anon, "0:0", CoreReloKind::FieldByteOffset)], &local, &target)
            .unwrap_err();
    assert!(e.to_string().contains("target candidate search failed for [2] struct <anon>: -22"), "{e}");
}

#[test]
fn relocator_applies_only_its_program_and_prunes_candidates() {
    let (local, s) = local_task();
    let target = target_task();
    let relos =
        [relo(3, s, "0:0", CoreReloKind::FieldByteOffset), relo(10, s, "0:0", CoreReloKind::FieldByteOffset)];
    let mut r = Relocator::new(&local, &target);
    let mut prog = vec![mov(0), mov(0)];
    // the program covers section slots 2..4: only the first record applies, numbered #0
    let res = r.apply("p", &mut prog, 2, &relos).unwrap();
    assert_eq!((res.len(), res[0].relo, res[0].insn), (1, 0, 1));
    assert_eq!(prog[1].imm, 24);
    let res = r.apply("q", &mut [mov(0)], 10, &relos).unwrap();
    assert_eq!(res[0].relo, 1);
    // the candidate list was found once
    assert!(!res[0].log.iter().any(|l| l.starts_with("CO-RE relocating")));
    // one record at a time, in libbpf's record order
    let mut prog = vec![mov(0)];
    let r = r.apply_record("q", &mut prog, 0, 1, &relos[1]).unwrap();
    assert_eq!((r.relo, r.insn, prog[0].imm), (1, 0, 24));
    let mut r2 = Relocator::new(&local, &target);
    let e = r2.apply_record("q", &mut prog, 1, 1, &relos[1]).unwrap_err();
    assert_eq!(e.to_string(), "prog 'q': relo #1: insn #1 outside the program's 1 instructions");
}

#[test]
fn module_candidates_only_when_vmlinux_has_none() {
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true);
    b.add(st("task", 4, vec![m("pid", i, 0)]));
    let vmlinux = Arc::new(parse(&mut b));
    // module BTF: `struct mod_s { int pad; int x; }` using vmlinux's int (id 1)
    let mut strs = b"\0".to_vec();
    let base_len = vmlinux.strings().len() as u32;
    let name = base_len + 1;
    strs.extend_from_slice(b"mod_s\0pad\0x\0");
    let mut ty = vec![];
    for w in [name, 4 << 24 | 2, 8, name + 6, 1, 0, name + 10, 1, 32] {
        ty.extend_from_slice(&u32::to_le_bytes(w));
    }
    let mut blob = vec![0x9f, 0xeb, 1, 0];
    for w in [24u32, 0, ty.len() as u32, ty.len() as u32, strs.len() as u32] {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    blob.extend_from_slice(&ty);
    blob.extend_from_slice(&strs);
    let module = Btf::parse_split(&blob, vmlinux.clone()).unwrap();
    let target = TargetBtf { vmlinux, modules: vec![("kmod".into(), module)] };
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true);
    let s = b.add(st("mod_s", 4, vec![m("x", i, 0)]));
    let local = parse(&mut b);
    let mut insns = vec![mov(0), mov(s as i32)];
    let relos =
        [relo(0, s, "0:0", CoreReloKind::FieldByteOffset), relo(1, s, "0", CoreReloKind::TypeIdTarget)];
    let res = core::apply("p", &mut insns, &relos, &local, &target).unwrap();
    assert_eq!((insns[0].imm, insns[1].imm), (4, 3));
    assert!(res[0].log[0].ends_with("found target candidate [3] struct mod_s in [kmod]"), "{:?}", res[0].log);
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Any record (type id, access string, kind) on any instruction, against any target
        /// type: a result or a typed error, never a panic.
        #[test]
        fn arbitrary_records_never_panic(
            type_id in 0u32..12,
            access in proptest::collection::vec(0u32..20, 0..6),
            sep in any::<bool>(),
            kind in 0u32..13,
            insn in any::<[u8; 8]>(),
            at in 0u32..3,
        ) {
            let (local, _) = local_task();
            let target = target_task();
            let s: Vec<String> = access.iter().map(u32::to_string).collect();
            let access = s.join(if sep { ":" } else { "::" });
            let mut insns = vec![RawInsn::from_bytes(insn), RawInsn::from_bytes(insn)];
            let r = relo(at, type_id, &access, CoreReloKind::from_u32(kind).unwrap());
            let _ = core::apply("p", &mut insns, &[r], &local, &target);
        }

        /// A mutated target BTF that still parses: relocations end in values or typed errors.
        #[test]
        fn mutated_targets_never_panic(at in 0usize..400, val in any::<u8>(), kind in 0u32..13, field in 0u32..4) {
            let (local, s) = local_task();
            let mut b = BtfBuilder::new();
            let i = int(&mut b, "int", 4, true);
            let ul = int(&mut b, "unsigned long", 8, false);
            let c = int(&mut b, "char", 1, true);
            let arr = b.add(BtfType::Array { elem: c, index: i, nelems: 8 });
            b.add(st("task", 32, vec![m("x", ul, 0), m("comm", arr, 64), m("flags", ul, 128), m("pid", i, 192)]));
            let mut blob = b.build();
            let n = blob.len();
            blob[at % n] = val;
            if let Ok(t) = Btf::parse(&blob) {
                let target = TargetBtf::new(t);
                let kind = CoreReloKind::from_u32(kind).unwrap();
                let access = if kind.is_type() { "0".to_string() } else { format!("0:{field}") };
                let mut insns = vec![mov(0), mov(0)];
                let _ = core::apply("p", &mut insns, &[relo(0, s, &access, kind)], &local, &target);
            }
        }
    }
}
