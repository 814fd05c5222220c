//! `dump_c`: BTF as a C header, on hand-built BTF covering what the text depends on: the order
//! of definitions with forward declarations for pointer cycles, anonymous members inline,
//! bitfields and padding, `packed`, enum sizes, typedefs of function pointers, arrays,
//! duplicate names (`___2`), and hostile input (a looping modifier chain is an error).

use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, EnumValue, IntEncoding, Member, dump_c};

fn member(name: &str, type_id: u32, offset: u32, bitfield_size: u32) -> Member {
    Member { name: name.into(), type_id, offset, bitfield_size }
}

fn int_t(name: &str, size: u32, signed: bool) -> BtfType {
    let encoding = if signed { IntEncoding::Signed } else { IntEncoding::None };
    BtfType::Int { name: name.into(), size, encoding, offset: 0, bits: size * 8 }
}

fn body(btf: &Btf) -> String {
    let text = dump_c(btf).expect("dumps");
    let start = text.find("#endif\n\n").expect("pragma block") + "#endif\n\n".len();
    let end = text.rfind("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX").expect("closing pragma");
    text[start..end].to_string()
}

#[test]
fn layout_and_order() {
    let mut b = BtfBuilder::new();
    let int = b.add(int_t("int", 4, true)); // 1
    let uchar = b.add(int_t("unsigned char", 1, false)); // 2
    let ptr_b = b.add(BtfType::Ptr { type_id: 5 }); // 3: struct b *
    let a = b.add(BtfType::Struct {
        // 4: struct a { struct b *b; int x; }
        name: "a".into(),
        size: 16,
        members: vec![member("b", ptr_b, 0, 0), member("x", int, 64, 0)],
        kind_flag: false,
    });
    let anon = b.add(BtfType::Struct {
        // 5 is struct b, defined below; 6 the anonymous union inside it
        name: "b".into(),
        size: 24,
        members: vec![member("a", a, 0, 0), member("", 6, 128, 0)],
        kind_flag: false,
    });
    assert_eq!(anon, 5);
    b.add(BtfType::Union {
        name: String::new(),
        size: 4,
        members: vec![member("i", int, 0, 0), member("c", uchar, 0, 0)],
        kind_flag: false,
    });
    // 7: struct bits { unsigned char lo: 3; unsigned char hi: 4; int y; } with y at byte 8,
    // where only `long: 0;` puts it
    b.add(BtfType::Struct {
        name: "bits".into(),
        size: 12,
        members: vec![member("lo", uchar, 0, 3), member("hi", uchar, 3, 4), member("y", int, 64, 0)],
        kind_flag: true,
    });
    // 8: struct packed_s { unsigned char c; int i; } __attribute__((packed))
    b.add(BtfType::Struct {
        name: "packed_s".into(),
        size: 5,
        members: vec![member("c", uchar, 0, 0), member("i", int, 8, 0)],
        kind_flag: false,
    });
    // 9..: typedef int (*handler_t)(struct a *, int, ...);
    let ptr_a = b.add(BtfType::Ptr { type_id: a });
    let proto = b.add(BtfType::FuncProto {
        ret: int,
        params: vec![member("", ptr_a, 0, 0), member("n", int, 0, 0)],
        variadic: true,
    });
    let fptr = b.add(BtfType::Ptr { type_id: proto });
    b.add(BtfType::Typedef { name: "handler_t".into(), type_id: fptr });
    // const int arr[2][3] as a typedef
    let cint = b.add(BtfType::Const { type_id: int });
    let inner = b.add(BtfType::Array { elem: cint, index: int, nelems: 3 });
    let outer = b.add(BtfType::Array { elem: inner, index: int, nelems: 2 });
    b.add(BtfType::Typedef { name: "grid_t".into(), type_id: outer });
    // a one-byte enum, a 64-bit enum, and a second `struct a`
    let e = |n: &str, v: i64| EnumValue { name: n.into(), value: v };
    b.add(BtfType::Enum {
        name: "small".into(),
        size: 1,
        signed: false,
        values: vec![e("S0", 0), e("S1", 1)],
    });
    b.add(BtfType::Enum64 {
        name: "big".into(),
        size: 8,
        signed: false,
        values: vec![e("B0", 0), e("B1", 1 << 40)],
    });
    b.add(BtfType::Struct { name: "a".into(), size: 0, members: vec![], kind_flag: false });
    let btf = Btf::parse(&b.build()).unwrap();
    let want = "\
struct b;

struct a {
	struct b *b;
	int x;
};

struct b {
	struct a a;
	union {
		int i;
		unsigned char c;
	};
};

struct bits {
	unsigned char lo: 3;
	unsigned char hi: 4;
	long: 0;
	int y;
};

struct packed_s {
	unsigned char c;
	int i;
} __attribute__((packed));

typedef int (*handler_t)(struct a *, int n, ...);

typedef const int grid_t[2][3];

enum small {
	S0 = 0,
	S1 = 1,
} __attribute__((mode(byte)));

enum big {
	B0 = 0ULL,
	B1 = 1099511627776ULL,
};

struct a___2 {};

";
    assert_eq!(body(&btf), want);
    let text = dump_c(&btf).unwrap();
    assert!(text.starts_with("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n"));
    assert!(text.ends_with("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n"));
}

#[test]
fn explicit_padding() {
    let mut b = BtfBuilder::new();
    let long = b.add(int_t("long", 8, true));
    let ch = b.add(int_t("char", 1, true));
    // char c at 0, long l at byte 16 (a gap the compiler would not leave), size 32
    b.add(BtfType::Struct {
        name: "gappy".into(),
        size: 32,
        members: vec![member("c", ch, 0, 0), member("l", long, 128, 0)],
        kind_flag: false,
    });
    let btf = Btf::parse(&b.build()).unwrap();
    assert_eq!(body(&btf), "struct gappy {\n\tchar c;\n\tlong: 64;\n\tlong l;\n\tlong: 64;\n};\n\n");
}

#[test]
fn looping_modifiers_are_an_error() {
    let mut b = BtfBuilder::new();
    b.add(BtfType::Const { type_id: 2 });
    b.add(BtfType::Volatile { type_id: 1 });
    b.add(BtfType::Typedef { name: "loop_t".into(), type_id: 1 });
    // refused either by the parser or by the dumper, never a stack overflow
    match Btf::parse(&b.build()) {
        Ok(btf) => {
            let e = dump_c(&btf).unwrap_err().to_string();
            assert!(e.contains("too deep"), "{e}");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
