//! The assembler on hand-written lines in both spellings, with their expected encodings, and its
//! error reporting.

use kbpf_isa::asm::{AsmError, assemble, assemble_program};
use kbpf_isa::{Insn, RawInsn};

/// First slot of the single instruction `line` assembles to.
fn raw(line: &str) -> RawInsn {
    let insns = assemble(line).unwrap_or_else(|e| panic!("`{line}`: {e}"));
    assert_eq!(insns.len(), 1, "`{line}`");
    insns[0].encode()[0]
}

fn r(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(code, dst, src, off, imm)
}

#[test]
fn both_spellings_encode_alike() {
    let cases: &[(&[&str], RawInsn)] = &[
        (&["r0 = 1", "(b7) r0 = 1", "0: (b7) r0 = 1", "  7:\tr0 = 0x1"], r(0xb7, 0, 0, 0, 1)),
        (&["w1 += w2", "(0c) w1 += w2"], r(0x0c, 1, 2, 0, 0)),
        (
            &["*(u64 *)(r10 -8) = r1", "*(u64 *)(r10 - 8) = r1", "*(u64 *)(r10 - 0x8) = r1"],
            r(0x7b, 10, 1, -8, 0),
        ),
        (&["r2 = *(u64 *)(r11 +8)", "r2 = *(u64 *)(r11 + 8)"], r(0x79, 2, 11, 8, 0)),
        (&["*(u64 *)(r11 -16) = 4", "*(u64 *)(r11 - 16) = 4"], r(0x7a, 11, 0, -16, 4)),
        (&["if r1 > r2 goto +3", "if r1 > r2 goto pc+3"], r(0x2d, 1, 2, 3, 0)),
        (&["goto pc+3", "goto +3", "goto +0x3"], r(0x05, 0, 0, 3, 0)),
        (&["goto pc-3", "goto -3", "goto -0x3"], r(0x05, 0, 0, -3, 0)),
        (
            &["if w1 s< -5 goto +0", "if w1 s< 0xfffffffb goto pc+0", "if w1 s< -0x5 goto +0x0"],
            r(0xc6, 1, 0, 0, -5),
        ),
        (&["if r2 s> 0xfffffffb goto pc+0", "if r2 s> -5 goto +0"], r(0x65, 2, 0, 0, -5)),
        (&["if r2 & 0x1 goto pc+0", "if r2 & 1 goto +0"], r(0x45, 2, 0, 0, 1)),
        (
            &[
                "call 7",
                "call 0x7",
                "call bpf_get_prandom_u32",
                "call get_prandom_u32",
                "call bpf_get_prandom_u32#7",
            ],
            r(0x85, 0, 0, 0, 7),
        ),
        (&["call unknown#10000", "call 10000"], r(0x85, 0, 0, 0, 10000)),
        (&["call pc+1", "call pc+1#bpf_prog_3b185187f1855c4c_f"], r(0x85, 0, 1, 0, 1)),
        (&["call pc-4"], r(0x85, 0, 1, 0, -4)),
        (
            &["call kfunc:64242", "call kernel-function#64242", "call bpf_iter_num_new#64242"],
            r(0x85, 0, 2, 0, 64242),
        ),
        (&["call kfunc:100:3"], r(0x85, 0, 2, 3, 100)),
        (&["callx r3"], r(0x8d, 3, 0, 0, 0)),
        (&["lock *(u64 *)(r1 +0) += r2", "lock *(u64 *)(r1 + 0) += r2"], r(0xdb, 1, 2, 0, 0x00)),
        (&["lock *(u32 *)(r10 -16) |= r2", "lock *(u32 *)(r10 - 16) |= w2"], r(0xc3, 10, 2, -16, 0x40)),
        (
            &["r0 = atomic_fetch_add((u64 *)(r1 +0), r0)", "r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)"],
            r(0xdb, 1, 0, 0, 0x01),
        ),
        (
            &["r2 = atomic_fetch_and((u32 *)(r10 -16), r2)", "w2 = atomic_fetch_and((u32 *)(r10 - 16), w2)"],
            r(0xc3, 10, 2, -16, 0x51),
        ),
        (&["r2 = atomic64_xchg((u64 *)(r10 -8), r2)", "r2 = xchg_64(r10 - 8, r2)"], r(0xdb, 10, 2, -8, 0xe1)),
        (
            &["r2 = atomic_xchg((u32 *)(r10 -16), r2)", "w2 = xchg32_32(r10 - 16, w2)"],
            r(0xc3, 10, 2, -16, 0xe1),
        ),
        (
            &["r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r2)", "r0 = cmpxchg_64(r10 - 8, r0, r2)"],
            r(0xdb, 10, 2, -8, 0xf1),
        ),
        (
            &["r0 = atomic_cmpxchg((u32 *)(r10 -16), r0, r3)", "w0 = cmpxchg32_32(r10 - 16, w0, w3)"],
            r(0xc3, 10, 3, -16, 0xf1),
        ),
        (
            &["r0 = load_acquire((u64 *)(r1 +0))", "r0 = load_acquire((u64 *)(r1 + 0))"],
            r(0xdb, 0, 1, 0, 0x100),
        ),
        (
            &["r3 = load_acquire((u8 *)(r10 -40))", "w3 = load_acquire((u8 *)(r10 - 40))"],
            r(0xd3, 3, 10, -40, 0x100),
        ),
        (&["store_release((u64 *)(r1 +0), r2)"], r(0xdb, 1, 2, 0, 0x110)),
        (
            &["store_release((u16 *)(r1 +0), r2)", "store_release((u16 *)(r1 + 0), w2)"],
            r(0xcb, 1, 2, 0, 0x110),
        ),
        (&["may_goto +2", "may_goto pc+2"], r(0xe5, 0, 0, 2, 0)),
        (&["gotol +5", "gotol pc+5"], r(0x06, 0, 0, 0, 5)),
        (&["r1 = be16 r1"], r(0xdc, 1, 0, 0, 16)),
        (&["r1 = le32 r1"], r(0xd4, 1, 0, 0, 32)),
        (&["r1 = bswap64 r1"], r(0xd7, 1, 0, 0, 64)),
        (&["r1 = (s8)r2", "r1 = (s8) r2"], r(0xbf, 1, 2, 8, 0)),
        (&["w4 = (s16)w2"], r(0xbc, 4, 2, 16, 0)),
        (&["r0 = *(s16 *)(r1 +2)", "r0 = *(s16 *)(r1 + 2)"], r(0x89, 0, 1, 2, 0)),
        (&["r1 = *(u8 *)(r2 +3)", "w1 = *(u8 *)(r2 + 3)"], r(0x71, 1, 2, 3, 0)),
        (&["r1 = -r1"], r(0x87, 1, 0, 0, 0)),
        (&["w1 = -w1"], r(0x84, 1, 0, 0, 0)),
        (&["r0 = *(u8 *)skb[12]", "r0 = *(u8 *)skb[0xc]"], r(0x30, 0, 0, 0, 12)),
        (&["r0 = *(u16 *)skb[r3 + 0]", "r0 = *(u16 *)skb[r3]"], r(0x48, 0, 3, 0, 0)),
        (&["r0 = *(u16 *)skb[r7 + -3]", "r0 = *(u16 *)skb[r7 - 3]"], r(0x48, 0, 7, 0, -3)),
        (&["r1 = addr_space_cast(r2, 0, 1)"], r(0xbf, 1, 2, 1, 1)),
        (
            &["r1 = addr_space_cast(r2, 1, 0)", "r1 = addr_space_cast(r2, 0x1, 0x0)"],
            r(0xbf, 1, 2, 1, 0x10000),
        ),
        (&["exit", "(95) exit", "exit # done", "exit // done", "exit ; done"], r(0x95, 0, 0, 0, 0)),
        (&["r3 s/= 3", "r3 s/= 0x3"], r(0x37, 3, 0, 1, 3)),
        (&["w3 s%= w2"], r(0x9c, 3, 2, 1, 0)),
        (&["r2 s>>= 1"], r(0xc7, 2, 0, 0, 1)),
        (&["w0 = 0xffffffff", "w0 = -1"], r(0xb4, 0, 0, 0, -1)),
        (&["r0 = -2147483648", "r0 = -0x80000000"], r(0xb7, 0, 0, 0, i32::MIN)),
        (&["*(u32 *)(r10 -16) = 0", "*(u32 *)(r10 - 0x10) = 0x0"], r(0x62, 10, 0, -16, 0)),
        (&["*(u8 *)(r10 -7) = 255", "*(u8 *)(r10 - 7) = 0xff"], r(0x72, 10, 0, -7, 255)),
        (&["*(u32 *)(r1 +3) = r2", "*(u32 *)(r1 + 3) = w2"], r(0x63, 1, 2, 3, 0)),
        (
            &["ld_pseudo r1, 1, 5", "r1 = map_fd(5)", "r1 = map_fd(5) ll", "(18) r1 = map_fd(5)"],
            r(0x18, 1, 1, 0, 5),
        ),
    ];
    for (lines, want) in cases {
        for line in *lines {
            assert_eq!(raw(line), *want, "`{line}`");
        }
    }
}

#[test]
fn wide_constants() {
    let two = |line: &str| -> Vec<RawInsn> {
        let insns = assemble(line).unwrap_or_else(|e| panic!("`{line}`: {e}"));
        insns.iter().flat_map(Insn::encode).collect()
    };
    let lo_hi = |v: u64| vec![r(0x18, 1, 0, 0, v as u32 as i32), r(0, 0, 0, 0, (v >> 32) as u32 as i32)];
    for line in
        ["r1 = 0x123456789 ll", "(18) r1 = 0x123456789", "3: (18) r1 = 0x123456789", "r1 = 4886718345 ll"]
    {
        assert_eq!(two(line), lo_hi(0x1_2345_6789), "{line}");
    }
    assert_eq!(two("r1 = 5 ll"), lo_hi(5));
    assert_eq!(two("(18) r1 = 0x5"), lo_hi(5));
    assert_eq!(two("r1 = -1 ll"), lo_hi(u64::MAX));
    assert_eq!(two("r1 = 0xffffffffffffffff ll"), lo_hi(u64::MAX));
    assert_eq!(two("r1 = -0x8000000000000000 ll"), lo_hi(1 << 63));
    assert_eq!(two("r1 = map_value(5, 16)"), vec![r(0x18, 1, 2, 0, 5), r(0, 0, 0, 0, 16)]);
    assert_eq!(two("r1 = map_idx_value(0, 8) ll"), vec![r(0x18, 1, 6, 0, 0), r(0, 0, 0, 0, 8)]);
    assert_eq!(two("r1 = btf_id(77)"), vec![r(0x18, 1, 3, 0, 77), r(0, 0, 0, 0, 0)]);
    assert_eq!(two("r1 = map_idx(2)"), vec![r(0x18, 1, 5, 0, 2), r(0, 0, 0, 0, 0)]);
    assert_eq!(two("r2 = func(pc+6)"), vec![r(0x18, 2, 4, 0, 6), r(0, 0, 0, 0, 0)]);
    assert_eq!(two("ld_pseudo r2, 4, 6"), vec![r(0x18, 2, 4, 0, 6), r(0, 0, 0, 0, 0)]);
}

#[test]
fn labels_resolve() {
    let src = "
        entry:
            if w1 s< -5 goto out   # forward
            r1 = 0x123456789 ll
            call my_func
            r2 = func(my_func)
            gotol entry
            may_goto out
        out: exit
        my_func: r0 = 0
        .Ltmp: exit
            goto .Ltmp
    ";
    let slots: Vec<RawInsn> = assemble(src).unwrap().iter().flat_map(Insn::encode).collect();
    assert_eq!(slots[0], r(0xc6, 1, 0, 7, -5)); // 0 -> 8
    assert_eq!(slots[3], r(0x85, 0, 1, 0, 5)); // 3 -> 9
    assert_eq!(slots[4], r(0x18, 2, 4, 0, 4)); // 4 -> 9
    assert_eq!(slots[6], r(0x06, 0, 0, 0, -7)); // 6 -> 0
    assert_eq!(slots[7], r(0xe5, 0, 0, 0, 0)); // 7 -> 8
    assert_eq!(slots[11], r(0x05, 0, 0, -2, 0)); // 11 -> 10
    assert_eq!(assemble_program(src).unwrap().len(), 10);
    // A helper name is a helper unless a label of that name exists.
    let p = assemble("call map_lookup_elem\nexit\nmap_lookup_elem: exit").unwrap();
    assert_eq!(p[0].encode()[0], r(0x85, 0, 1, 0, 1));
}

#[test]
fn pastes_of_tool_output() {
    // Verifier log level 2, bpftool, llvm-objdump and llvm-mc output.
    // Log lines that are not instructions are errors, not silently skipped.
    assert_eq!(assemble("func#0 @0").unwrap_err().line, 1);
    let src = "
0: (b7) r0 = 1                        ; R0_w=1
1: (95) exit
    .text
    .globl prog
0000000000000000 <prog>:
       0:\tr0 = 0x1
       1:\tif r0 > 0x2 goto +0x1 <prog+0x18>
       2:\texit
\tr0 = 1                                  # encoding: [0xb7,0x00,0x00,0x00,0x01,0x00,0x00,0x00]
       3:\tr1 = 0x0 ll
\t\t0000000000000018:  R_BPF_64_64\tmy_map
    ";
    let insns = assemble(src).unwrap();
    assert_eq!(insns.len(), 7);
    assert_eq!(insns[3].encode()[0], r(0x25, 0, 0, 1, 2));
}

fn err(src: &str) -> AsmError {
    match assemble_program(src) {
        Ok(p) => panic!("`{src}` assembled to {:?}", p.insns()),
        Err(e) => e,
    }
}

#[test]
fn errors_name_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("r0 = 1\nr1 = 0x123456789\nexit", 2, "does not fit in 32 signed bits (add `ll`"),
        ("r0 = 0xffffffff\nexit", 1, "does not fit in 32 signed bits"),
        ("r0 = 1\n\nbogus r1\nexit", 3, "unknown instruction `bogus`"),
        ("goto nowhere\nexit", 1, "unknown label `nowhere`"),
        ("a: exit\na: exit", 2, "label `a` defined twice"),
        ("r11 = 1\nexit", 1, "R11 is invalid"),
        ("*(u32 *)(r11 -8) = r1\nexit", 1, "R11 is invalid"),
        ("r1 = *(u64 *)(r11 -8)\nexit", 1, "R11 is invalid"),
        ("lock *(u8 *)(r1 +0) += r2\nexit", 1, "invalid instruction"),
        ("w1 += r2\nexit", 1, "expected a 32-bit w register"),
        ("r1 = be16 r2\nexit", 1, "byte swaps"),
        ("r2 = atomic_fetch_add((u64 *)(r1 +0), r3)\nexit", 1, "result register"),
        ("r1 = atomic_cmpxchg((u64 *)(r1 +0), r0, r3)\nexit", 1, "compare-exchange"),
        ("r0 = atomic64_fetch_add((u32 *)(r1 +0), r0)\nexit", 1, "needs a u64 operand"),
        ("(bf) r0 = 1\nexit", 1, "opcode prefix (bf) does not match the instruction (b7)"),
        ("goto +5\nexit", 1, "jump out of range from insn 0 to 6"),
        ("r1 = 1 ll\ngoto -2\nexit", 2, "jump into the middle of ldimm64 insn 0"),
        ("exit\nr1 = *(u64 *)(r10 -40000)", 2, "offset -40000 does not fit in 16 signed bits"),
        ("exit\nr1 = 99999999999999999999", 2, "does not fit in 64 bits"),
        ("exit\ncall bpf_map_lookup_elem#2", 2, "helper `bpf_map_lookup_elem` has id 1, not 2"),
        ("exit\nr0 = *(u64 *)skb[1]", 2, "invalid instruction"),
        ("exit\nr1 = *(s64 *)(r1 +0)", 2, "invalid instruction"),
        ("exit\nw1 = *(u64 *)(r1 +0)", 2, "w destination"),
        ("exit\nr1 = *(u128 *)(r1 +0)", 2, "unknown type `u128`"),
        ("exit\nr0 = 1 extra", 2, "unexpected `extra` after the instruction"),
        ("exit\nr0 = ", 2, "expected a value, found end of line"),
        ("", 1, "empty program"),
    ];
    for (src, line, msg) in cases {
        let e = err(src);
        assert_eq!(e.line, *line, "`{src}`: {e}");
        assert!(e.message.contains(msg), "`{src}`: got `{}`, want `{msg}`", e.message);
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
}

/// `r12`..`r15` fit the 4-bit register fields: the lenient module assembler keeps them in the
/// field they are written in (the verifier answers `R12 is invalid`); the decoding entry points
/// refuse them.
#[test]
fn high_registers_assemble_leniently() {
    use kbpf_isa::asm::{NoKfuncs, assemble_module_slots};
    let slots = |src: &str| assemble_module_slots(src, &NoKfuncs).unwrap().slots;
    assert_eq!(slots("r12 = 0\nexit")[0], r(0xb7, 12, 0, 0, 0));
    assert_eq!(slots("w13 = 1")[0], r(0xb4, 13, 0, 0, 1));
    assert_eq!(slots("r0 = r15")[0], r(0xbf, 0, 15, 0, 0));
    assert_eq!(slots("r12 += r13")[0], r(0x0f, 12, 13, 0, 0));
    assert_eq!(slots("r14 = r14")[0], r(0xbf, 14, 14, 0, 0));
    assert_eq!(slots("r1 = *(u64 *)(r12 +8)")[0], r(0x79, 1, 12, 8, 0));
    assert_eq!(slots("*(u32 *)(r13 -4) = r0")[0], r(0x63, 13, 0, -4, 0));
    assert_eq!(slots("if r12 > r1 goto l\nl: exit")[0], r(0x2d, 12, 1, 0, 0));
    let wide = slots("r12 = 0x123456789 ll");
    assert_eq!((wide[0].code, wide[0].dst, wide[0].imm), (0x18, 12, 0x23456789));
    for src in ["r12 = 0\nexit", "r0 = r15\nexit"] {
        assert!(err(src).message.contains("R1"), "{src}: {}", err(src).message);
    }
}
