//! Slots the decoder refuses: the walk raises the decoder's refusal where the kernel reads the
//! family's reserved fields, so the first error is the kernel's even when a slot is wrong in
//! several ways (expected lines are Linux 6.18's).

use kbpf_isa::RawInsn;
use kbpf_verifier::{ProgType, VerifyOptions, verify};

/// The error line and its slot for `slot` after `r0..r9 = 0` (or nothing when `init` is false).
fn first_error(slot: RawInsn, init: bool, stack_args: bool) -> (String, Option<usize>) {
    let mut p: Vec<RawInsn> =
        if init { (0..10).map(|r| RawInsn::new(0xb7, r, 0, 0, 0)).collect() } else { vec![] };
    p.push(slot);
    if slot.code == 0x18 {
        p.push(RawInsn::new(0, 0, 0, 0, 0));
    }
    p.extend([RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)]);
    let opts = VerifyOptions { prog_type: ProgType::SocketFilter, stack_args, ..VerifyOptions::default() };
    let out = verify(&p, &opts);
    let e = out.error.expect("rejected");
    (e.message().to_string(), e.insn())
}

#[test]
fn reserved_fields_before_register_numbers() {
    // ALU with an offset and a register above 10: the reserved fields come first
    assert_eq!(first_error(RawInsn::new(0x07, 12, 0, 1, 0), true, false).0, "BPF_ALU uses reserved fields");
    assert_eq!(first_error(RawInsn::new(0x0f, 0, 12, 0, 1), true, false).0, "BPF_ALU uses reserved fields");
    assert_eq!(first_error(RawInsn::new(0xbf, 0, 11, 2, 0), true, false).0, "BPF_MOV uses reserved fields");
    // ld_imm64: the pair, then its own offset, then its register
    assert_eq!(
        first_error(RawInsn::new(0x18, 12, 0, 1, 0), true, true).0,
        "BPF_LD_IMM64 uses reserved fields"
    );
    // a register above 10 alone is found where check_reg_arg reads it
    assert_eq!(
        first_error(RawInsn::new(0x07, 12, 0, 0, 0), true, false),
        ("R12 is invalid".into(), Some(10))
    );
}

#[test]
fn register_state_before_reserved_fields_where_the_kernel_reads_it_first() {
    // a conditional jump reads its destination register before its reserved fields
    assert_eq!(first_error(RawInsn::new(0x15, 0, 1, 0, 0), false, true).0, "R0 !read_ok");
    assert_eq!(
        first_error(RawInsn::new(0x15, 0, 1, 0, 0), true, true).0,
        "BPF_JMP/JMP32 uses reserved fields"
    );
}

#[test]
fn kernel_words_for_may_goto() {
    assert_eq!(first_error(RawInsn::new(0xe5, 0, 0, 0, 1), true, true).0, "invalid may_goto imm 1");
}

#[test]
fn an_exit_offset_is_ignored_but_its_other_fields_are_not() {
    let outcome = |slot: RawInsn| {
        let p = [RawInsn::new(0xb7, 0, 0, 0, 0), slot];
        let out =
            verify(&p, &VerifyOptions { prog_type: ProgType::SocketFilter, ..VerifyOptions::default() });
        out.error.map(|e| (e.message().to_string(), e.insn()))
    };
    assert_eq!(outcome(RawInsn::new(0x95, 0, 0, 5, 0)), None);
    assert_eq!(outcome(RawInsn::new(0x95, 0, 0, -1, 0)), None);
    // Linux 6.18: junk beside the offset is still refused
    let refused = Some(("BPF_EXIT uses reserved fields".to_string(), Some(1)));
    assert_eq!(outcome(RawInsn::new(0x95, 1, 0, 5, 0)), refused);
    assert_eq!(outcome(RawInsn::new(0x95, 0, 0, 5, 1)), refused);
}

/// `BPF_PSEUDO_MAP_IDX[_VALUE]` index a load's `fd_array`; kbpf's loads have none, like a
/// kernel load without one (found by `cargo xtask kernel-diff --stream`, seed 99).
#[test]
fn a_map_index_without_fd_array() {
    // MAP_IDX needs a zero second imm (else `unrecognized bpf_ld_imm64 insn`), MAP_IDX_VALUE not
    for (src, hi) in [(5, 0), (6, 0x1122_3344)] {
        let p = [
            RawInsn::new(0x18, 0, src, 0, 0x5566_7788),
            RawInsn::new(0, 0, 0, 0, hi),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let out =
            verify(&p, &VerifyOptions { prog_type: ProgType::SocketFilter, ..VerifyOptions::default() });
        let e = out.error.expect("rejected");
        assert_eq!(
            (e.message().to_string(), e.errno().name()),
            ("fd_idx without fd_array is invalid".into(), "EPROTO")
        );
    }
}
