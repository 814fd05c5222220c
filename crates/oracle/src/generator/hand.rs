//! Hand-written cases: one per notable verifier rule, accepted and rejected, small enough for
//! golden logs.

use kbpf_isa::RawInsn;

use super::asm::*;
use super::builder::B;
use crate::case::Case;
use crate::case::slots_from_hex;
use crate::load::{BPF_F_STRICT_ALIGNMENT, BPF_F_TEST_REG_INVARIANTS, BPF_F_TEST_STATE_FREQ, ProgType};
use crate::map::MapSpec;

const FAM: &str = "hand";

fn sf(name: &str, p: Vec<RawInsn>) -> Case {
    Case::new(FAM, name, ProgType::SocketFilter, p)
}

fn xdp(name: &str, p: Vec<RawInsn>) -> Case {
    Case::new(FAM, name, ProgType::Xdp, p)
}

fn cat(parts: &[&[RawInsn]]) -> Vec<RawInsn> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// About 60 hand-written cases (family `hand`).
pub fn hand_written() -> Vec<Case> {
    let r0 = ret0();
    let mut v = vec![
        sf("ret_imm", vec![mov(0, 42), exit()]),
        sf("uninit_src", vec![movr(0, 2), exit()]),
        sf("no_r0", vec![exit()]),
        sf("scalar_deref", vec![mov(1, 5), ldx(Sz::Dw, 0, 1, 0), exit()]),
        sf("fp_write", cat(&[&[mov(10, 0)], &r0])),
        sf("stack_oob", cat(&[&[st(Sz::Dw, 10, -520, 0)], &r0])),
        sf("stack_edge_ok", cat(&[&[st(Sz::Dw, 10, -512, 0), ldx(Sz::Dw, 0, 10, -512)], &[exit()]])),
        sf("stack_uninit_read", vec![ldx(Sz::Dw, 0, 10, -8), exit()]),
        sf("stack_above_fp", cat(&[&[st(Sz::W, 10, 0, 0)], &r0])),
        sf("infinite_loop", vec![mov(0, 0), ja(-1), exit()]),
        sf("unreachable", cat(&[&r0, &r0])),
        sf("jump_out_of_range", vec![mov(0, 0), ja(5), exit()]),
        sf("last_not_exit", vec![mov(0, 0), mov(0, 1)]),
        sf("bad_opcode", cat(&[&[ins(0xff, 0, 0, 0, 0)], &r0])),
        sf("div_zero_imm", vec![mov(0, 0), alu64i(Op::Div, 0, 0), exit()]),
        sf("div_zero_reg_ok", vec![mov(0, 7), mov(1, 0), alu64r(Op::Div, 0, 1), exit()]),
        sf("shift_64", vec![mov(0, 0), alu64i(Op::Lsh, 0, 64), exit()]),
        sf("shift_63_ok", vec![mov(0, 1), alu64i(Op::Lsh, 0, 63), exit()]),
        sf("shift32_32", vec![mov(0, 1), alu32i(Op::Lsh, 0, 32), exit()]),
        sf("ctx_shift", cat(&[&[alu64i(Op::Lsh, 1, 2)], &r0])),
        sf("ptr_alu32", cat(&[&[movr(2, 10), alu32i(Op::Add, 2, 8)], &r0])),
        sf("ctx_oob", vec![ldx(Sz::Dw, 0, 1, 1000), exit()]),
        sf("ctx_len_ok", vec![ldx(Sz::W, 0, 1, 0), exit()]),
        sf("ctx_len_narrow", vec![ldx(Sz::B, 0, 1, 0), exit()]),
        sf("ctx_modified", vec![alu64i(Op::Add, 1, 8), ldx(Sz::W, 0, 1, 0), exit()]),
        sf("ctx_write_mark", cat(&[&[mov(2, 1), stx(Sz::W, 1, 2, 8)], &r0])),
        sf("ctx_write_cb", cat(&[&[mov(2, 1), stx(Sz::W, 1, 2, 48)], &r0])),
        sf("invalid_func", vec![call(10000), exit()]),
        sf("helper_bad_ctx_arg", vec![call(113), exit()]),
        sf("prandom", vec![call(7), exit()]),
        sf("clobbered_r1", vec![call(7), movr(0, 1), exit()]),
        sf("gpl_only", cat(&[&[call(6)], &r0])).with_license("Proprietary"),
        sf("reserved_exit", vec![mov(0, 0), ins(0x95, 1, 0, 0, 0)]),
        sf("reserved_mov", vec![ins(0xb7, 0, 0, 1, 0), exit()]),
        sf("misaligned_strict", cat(&[&[st(Sz::Dw, 10, -6, 0)], &r0])).with_flags(BPF_F_STRICT_ALIGNMENT),
        sf("misaligned_loose", cat(&[&[st(Sz::Dw, 10, -6, 0)], &r0])),
        sf(
            "spill_fill_ptr",
            vec![stx(Sz::Dw, 10, 1, -8), ldx(Sz::Dw, 2, 10, -8), ldx(Sz::W, 0, 2, 0), exit()],
        ),
        sf("fill_size", cat(&[&[stx(Sz::Dw, 10, 1, -8), ldx(Sz::W, 2, 10, -8)], &r0])),
        sf("spill_corrupt", cat(&[&[stx(Sz::Dw, 10, 1, -8), st(Sz::H, 10, -6, 0)], &r0])),
        sf("ld_imm64_ok", cat(&[&ld_imm64(0, 0x1122_3344_5566_7788), &[exit()]])),
        sf("ld_imm64_bad", vec![ins(0x18, 0, 0, 0, 1), exit(), exit()]),
        sf("ld_imm64_jump_mid", cat(&[&[ja(1)], &ld_imm64(0, 5), &[exit()]])),
        sf("r11_load", vec![ldx(Sz::Dw, 0, 11, 8), exit()]),
        sf("r11_store", cat(&[&[stx(Sz::Dw, 11, 1, -8)], &r0])),
        sf("bswap64", vec![mov(0, 0x1234), ins(0xd7, 0, 0, 0, 64), exit()]),
        sf("movsx", vec![mov(0, -1), ins(0xbf, 0, 0, 8, 0), exit()]),
        sf("sdiv", vec![mov(0, -9), ins(0x37, 0, 0, 1, 2), exit()]),
        sf(
            "atomic_add_stack",
            cat(&[&[st(Sz::Dw, 10, -8, 0), mov(2, 1), atomic(Sz::Dw, 10, 2, -8, 0)], &r0]),
        ),
        sf("atomic_ctx", cat(&[&[mov(2, 1), atomic(Sz::W, 1, 2, 0, 0)], &r0])),
        sf(
            "cmpxchg_stack",
            cat(&[
                &[st(Sz::Dw, 10, -8, 0), mov(0, 0), mov(2, 1), atomic(Sz::Dw, 10, 2, -8, 0xf1)],
                &[exit()],
            ]),
        ),
    ];
    // More accepted programs: common idioms.
    v.extend([
        sf("ldabs_ok", vec![movr(6, 1), ins(0x30, 0, 0, 0, 12), exit()]),
        sf("ldind_ok", vec![movr(6, 1), mov(7, 2), ins(0x50, 0, 7, 0, 10), exit()]),
        sf("jmp32_ok", vec![call(7), jmp32i(Cond::Gt, 0, 10, 1), mov(0, 1), exit()]),
        sf("alu32_zext", vec![call(7), alu32i(Op::And, 0, 0xff), exit()]),
        sf(
            "rand_index_stack",
            vec![
                call(7),
                alu64i(Op::And, 0, 63),
                movr(2, 10),
                alu64i(Op::Add, 2, -64),
                alu64r(Op::Add, 2, 0),
                st(Sz::B, 2, 0, 1),
                mov(0, 0),
                exit(),
            ],
        ),
        sf(
            "spill_scalar_precise",
            vec![
                mov(1, 8),
                stx(Sz::Dw, 10, 1, -16),
                ldx(Sz::Dw, 2, 10, -16),
                movr(3, 10),
                alu64r(Op::Add, 3, 2),
                alu64i(Op::Add, 3, -24),
                st(Sz::Dw, 3, 0, 0),
                mov(0, 0),
                exit(),
            ],
        ),
        sf(
            "fetch_add",
            cat(&[
                &[st(Sz::Dw, 10, -8, 5), mov(2, 1), atomic(Sz::Dw, 10, 2, -8, 0x01), movr(0, 2)],
                &[exit()],
            ]),
        ),
        sf(
            "xchg32",
            cat(&[&[st(Sz::W, 10, -4, 5), mov(2, 1), atomic(Sz::W, 10, 2, -4, 0xe1), movr(0, 2)], &[exit()]]),
        ),
        sf("be16", vec![mov(0, 0x1234), ins(0xdc, 0, 0, 0, 16), exit()]),
        sf(
            "skb_fields",
            vec![
                ldx(Sz::W, 2, 1, 0),
                ldx(Sz::W, 3, 1, 16),
                alu64r(Op::Add, 2, 3),
                ldx(Sz::W, 3, 1, 36),
                alu64r(Op::Add, 2, 3),
                movr(0, 2),
                exit(),
            ],
        ),
        sf("gotol", vec![mov(0, 1), ins(0x06, 0, 0, 0, 1), mov(0, 2), exit()]),
        sf("smod_neg", vec![mov(0, -7), ins(0x97, 0, 0, 1, 3), exit()]),
        sf("ptr_cmp_null", vec![movr(2, 10), jmpi(Cond::Eq, 2, 0, 1), mov(0, 1), mov(0, 0), exit()]),
    ]);
    let mut b = B::new();
    b.i(st(Sz::Dw, 10, -8, 3))
        .i(movr(1, 10))
        .i(alu64i(Op::Add, 1, -8))
        .call("f")
        .i(ldx(Sz::Dw, 0, 10, -8))
        .i(exit());
    b.label("f").i(ldx(Sz::Dw, 2, 1, 0)).i(alu64i(Op::Add, 2, 1)).i(stx(Sz::Dw, 1, 2, 0)).all(ret0());
    v.push(sf("subprog_stack_arg", b.build()));
    let mut b = B::new();
    b.i(ldx(Sz::W, 2, 1, 0)).i(ldx(Sz::W, 3, 1, 4)).i(movr(4, 2)).i(alu64i(Op::Add, 4, 14));
    b.j(jmpr(Cond::Gt, 4, 3, 0), "drop").i(ldx(Sz::H, 5, 2, 12)).j(jmpi(Cond::Ne, 5, 0x0008, 0), "pass");
    b.i(mov(0, 2)).i(exit()).label("pass").i(mov(0, 2)).i(exit()).label("drop").i(mov(0, 1)).i(exit());
    v.push(xdp("xdp_eth_parse", b.build()));
    let mut b = B::new();
    b.i(call(7))
        .i(movr(6, 0))
        .i(mov(0, 0))
        .label("top")
        .j(may_goto(0), "done")
        .j(jmpi(Cond::Ge, 0, 100, 0), "done");
    b.i(alu64i(Op::Add, 0, 1)).j(ja(0), "top").label("done").i(exit());
    v.push(sf("may_goto_bounded", b.build()));
    // Loops and calls.
    let mut b = B::new();
    b.i(mov(0, 0)).i(mov(1, 1)).label("l").i(alu64r(Op::Add, 0, 1)).i(alu64i(Op::Add, 1, 1));
    b.j(jmpi(Cond::Le, 1, 10, 0), "l").i(exit());
    v.push(sf("loop_sum_10", b.build()));
    let mut b = B::new();
    b.i(mov(0, 0))
        .label("top")
        .j(may_goto(0), "done")
        .i(alu64i(Op::Add, 0, 1))
        .j(ja(0), "top")
        .label("done")
        .i(exit());
    v.push(sf("may_goto_loop", b.build()));
    let mut b = B::new();
    b.i(mov(1, 3))
        .call("f")
        .i(exit())
        .label("f")
        .i(stx(Sz::Dw, 10, 1, -16))
        .i(movr(0, 1))
        .i(alu64i(Op::Add, 0, 1))
        .i(exit());
    v.push(sf("subprog_add1", b.build()));
    let mut b = B::new();
    b.i(st(Sz::Dw, 10, -320, 0)).call("f").i(exit()).label("f").i(st(Sz::Dw, 10, -320, 0)).all(ret0());
    v.push(sf("combined_stack_640", b.build()));
    let mut b = B::new();
    for k in 0..9 {
        b.call(["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"][k]).i(exit());
        b.label(["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"][k]);
    }
    b.all(ret0());
    v.push(sf("call_depth_9", b.build()));
    let mut b = B::new();
    b.i(call(7))
        .i(movr(6, 0))
        .j(jmpi(Cond::Ne, 6, 5, 0), "a")
        .i(mov(1, 1))
        .j(ja(0), "j")
        .label("a")
        .i(mov(1, 2));
    b.label("j").i(stx(Sz::Dw, 10, 1, -8)).all(ret0());
    v.push(sf("prune_join", b.build()));
    // Packets.
    v.push(xdp("pkt_nocheck", vec![ldx(Sz::W, 2, 1, 0), ldx(Sz::B, 0, 2, 0), exit()]));
    let pkt = |k: i32, off: i16| {
        let mut b = B::new();
        b.i(ldx(Sz::W, 2, 1, 0)).i(ldx(Sz::W, 3, 1, 4)).i(movr(4, 2)).i(alu64i(Op::Add, 4, k));
        b.j(jmpr(Cond::Gt, 4, 3, 0), "out").i(ldx(Sz::B, 0, 2, off)).i(exit()).label("out").all(ret0());
        b.build()
    };
    v.push(xdp("pkt_checked_ok", pkt(14, 13)));
    v.push(xdp("pkt_checked_off_by_one", pkt(14, 14)));
    v.push(xdp("xdp_ctx_bad", vec![ldx(Sz::Dw, 0, 1, 0), exit()]));
    // A sign-extending fill keeps the spilled scalar's id only when the narrow sign bit is
    // known clear (32-bit wide value: the id goes; 31-bit: it stays).
    let ldsxw_fill = |and: Option<i32>| {
        let mut p = vec![ldx(Sz::W, 6, 1, 0)];
        p.extend(and.map(|m| alu64i(Op::And, 6, m)));
        p.extend([stx(Sz::Dw, 10, 6, -8), ins(0x81, 6, 10, -8, 0), mov(0, 0), exit()]);
        p
    };
    v.push(sf("ldsxw_fill_drops_id", ldsxw_fill(None)));
    v.push(sf("ldsxw_fill_keeps_id", ldsxw_fill(Some(0x7fff_ffff))));
    // load-acquire refuses the pointer type before it checks the (misaligned) access
    v.push(sf("load_acq_ctx_misaligned", vec![atomic(Sz::W, 2, 1, 2, 0x100), mov(0, 0), exit()]));
    // a checkpoint that misses once too often leaves the list at once, even when a later
    // checkpoint of the same scan matches (the prune family's seed-77 case 0060)
    let evicted = "6118000000000000 8500000007000000 bf06000000000000 8500000007000000 bf07000000000000 b709000000000000 6506020046000000 7a0ae8ff01000000 0500010000000000 7a0ae8ff01000000 2506010027000000 0709000001000000 7507010029000000 0709000001000000 3508010063000000 0709000001000000 150602005e000000 7a0ae0ff02000000 0500010000000000 7a0ae0ff01000000 4506020024000000 7a0af8ff00000000 0500010000000000 7a0af8ff01000000 450802005d000000 b703000000000000 0500010000000000 b703000000000000 bfa2000000000000 07020000c0ffffff 0f92000000000000 7202000001000000 b700000000000000 9500000000000000";
    let evicted = slots_from_hex(evicted).expect("a well-formed constant");
    v.push(sf("prune_evict_before_hit", evicted).with_flags(BPF_F_TEST_STATE_FREQ));
    // an old scalar without an id matches a current one linked by `r7 += 1` (ADD_CONST):
    // the old register was independent, so the link only adds constraints (iters.c's
    // iter_obfuscate_counter converges only with this rule)
    let linked = "bf19000000000000 8500000007000000 bf06000000000000 8500000007000000 bf07000000000000 5707000007000000 b700000000000000 5506010000000000 0500030000000000 7707000001000000 bf72000000000000 0707000001000000 7b0af8ff00000000 7b0af0ff00000000 bf91000000000000 b702000000000000 bfa3000000000000 07030000f0ffffff bf74000000000000 0704000001000000 850000001a000000 b700000000000000 9500000000000000";
    let linked = slots_from_hex(linked).expect("a well-formed constant");
    v.push(sf("prune_old_unlinked_cur_add_const", linked).with_flags(BPF_F_TEST_STATE_FREQ));
    // bpf_fastcall: a subprogram's spill/fill pair around bpf_get_smp_processor_id leaves its
    // stack where the call is inlined (the tracing prototype, JIT on), so 512 + 8 fits; the
    // networking prototype (raw_smp_processor_id) keeps it, and so does another access to the
    // pair's slot
    let fastcall = slots_from_hex("b70100002a000000 7b1a00fe00000000 8510000001000000 9500000000000000 7b1af8ff00000000 8500000008000000 79a1f8ff00000000 9500000000000000").expect("a well-formed constant");
    let broken = slots_from_hex("b70100002a000000 7b1a00fe00000000 8510000001000000 9500000000000000 7b1af8ff00000000 8500000008000000 79a1f8ff00000000 79a2f8ff00000000 9500000000000000").expect("a well-formed constant");
    v.push(sf("fastcall_raw_cpu_id_keeps_stack", fastcall.clone()));
    v.push(Case::new(FAM, "fastcall_stack_removed", ProgType::RawTracepoint, fastcall));
    v.push(Case::new(FAM, "fastcall_contract_broken", ProgType::RawTracepoint, broken));
    // a 32-bit add/sub of a constant links the result to its base only when the base fits
    // 32 bits (the soundness harness's seed 20261208 program 11364: a wide base loses the id)
    let wide = slots_from_hex("bf16000000000000 7967380000000000 8510000007000000 7962a80000000000 bf28000000000000 14020000f60ae19c 260201003f000000 bc22000000000000 1f78000000000000 9500000000000000 bf10000000000000 9500000000000000").expect("a well-formed constant");
    let narrow = slots_from_hex("bf16000000000000 7967380000000000 8510000007000000 6162a80000000000 bf28000000000000 14020000f60ae19c 260201003f000000 bc22000000000000 1f78000000000000 9500000000000000 bf10000000000000 9500000000000000").expect("a well-formed constant");
    v.push(Case::new(FAM, "alu32_link_wide_base", ProgType::Syscall, wide));
    v.push(Case::new(FAM, "alu32_link_narrow_base", ProgType::Syscall, narrow));
    // a sign extension clears the link of its result; a copy of it later gets a fresh id, and
    // a branch on another register linked to that id must not copy its range over (soundness
    // harness seed 20261208 program 789958)
    let sext = slots_from_hex("bf16000000000000 61625c0000000000 6965ca0000000000 bf51000000000000 851000000b000000 bf08000000000000 b7020000dfaf0732 6163b80000000000 6164680000000000 7965e00000000000 b5000100ffff0000 bfa1000000000000 7962600000000000 bf81000000000000 8510000001000000 9500000000000000 bf10000000000000 1701000051bd559f 1d21010000000000 bf10100000000000 9500000000000000").expect("a well-formed constant");
    v.push(Case::new(FAM, "sext_clears_link_offset", ProgType::Syscall, sext));
    // `if w5 s<= w5` refines one register through both operands: the impossible branch's
    // ranges cross, the kernel prints its REG INVARIANTS VIOLATION and goes on with the
    // ranges reset and the tnum kept, which a later jump turns into a constant (soundness
    // harness seed 20261208 program 727813, a kbpf accept the kernel refused); with
    // BPF_F_TEST_REG_INVARIANTS the same program fails with EFAULT
    let same_reg = slots_from_hex("bf16000000000000 8500000007000000 9165d00000000000 2605020001000000 170500004fa9e755 de55000000000000 bfa1000000000000 2505010038000000 0f51000000000000 9500000000000000").expect("a well-formed constant");
    v.push(Case::new(FAM, "reg_invariants_same_reg_jmp", ProgType::Syscall, same_reg.clone()));
    v.push(
        Case::new(FAM, "reg_invariants_strict", ProgType::Syscall, same_reg)
            .with_flags(BPF_F_TEST_REG_INVARIANTS),
    );
    // le64 on a little-endian host keeps the ranges (seed 20261208 programs 367485 and 1354049:
    // a ctx pointer moved by more than the kernel allows)
    let le64_ctx = slots_from_hex("bf16000000000000 1800000000000100 0000000000000000 7962c80000000000 c40200001a000000 d402000040000000 14020000bdfbfba9 0f21000000000000 9500000000000000").expect("a well-formed constant");
    v.push(Case::new(FAM, "le64_keeps_ranges", ProgType::Syscall, le64_ctx));
    let le64_loop = slots_from_hex("bf16000000000000 6960600000000000 89683e0000000000 d408000040000000 e500020000000000 040800005457c019 0500fdff00000000 bc88000000000000 0f81000000000000 9500000000000000").expect("a well-formed constant");
    v.push(Case::new(FAM, "le64_keeps_ranges_in_loop", ProgType::Syscall, le64_loop));
    // a zero written at a variable stack offset over a zero byte keeps the byte zero, so the
    // written register becomes precise and two paths with different constants that become
    // that zero no longer prune (soundness seed 20261213 program 79478: kbpf accepted a
    // may_goto loop the kernel walks to its 1M limit); an immediate zero marks nothing
    v.push(
        Case::new(FAM, "var_off_zero_write_precise", ProgType::Syscall, slots_from_hex("bf16000000000000 7962d80000000000 6163080000000000 b705000000000000 735ac0ff00000000 b708000000000000 2503020005000000 b708000001000000 6708000028000000 7708000030000000 bfa1000000000000 07010000c0ffffff 5702000001000000 0f21000000000000 7381000000000000 b700000000000000 9500000000000000").expect("a well-formed constant")).with_flags(BPF_F_TEST_STATE_FREQ),
    );
    v.push(Case::new(FAM, "var_off_zero_imm_write", ProgType::Syscall, slots_from_hex("bf16000000000000 7962d80000000000 6163080000000000 b705000000000000 735ac0ff00000000 b708000000000000 2503020005000000 b708000001000000 6708000028000000 7708000030000000 bfa1000000000000 07010000c0ffffff 5702000001000000 0f21000000000000 7201000000000000 b700000000000000 9500000000000000").expect("a well-formed constant")).with_flags(BPF_F_TEST_STATE_FREQ));
    // byte swaps of linked copies: a swap or a truncation unlinks, le64 keeps the link
    for (name, hex) in [
        (
            "be16_unlinks",
            "bf16000000000000 89623e0000000000 6163400000000000 570300000fff0000 bf24000000000000 bf35000000000000 dc02000010000000 dc03000010000000 25040300e8030000 2505020064000000 bf20000000000000 0f30000000000000 b700000000000000 9500000000000000",
        ),
        (
            "le64_keeps_link",
            "bf16000000000000 89623e0000000000 6163400000000000 570300000fff0000 bf24000000000000 bf35000000000000 d402000040000000 d403000040000000 25040300e8030000 2505020064000000 bf20000000000000 0f30000000000000 b700000000000000 9500000000000000",
        ),
        (
            "bswap32_unlinks",
            "bf16000000000000 89623e0000000000 6163400000000000 570300000fff0000 bf24000000000000 bf35000000000000 d702000020000000 d703000020000000 25040300e8030000 2505020064000000 bf20000000000000 0f30000000000000 b700000000000000 9500000000000000",
        ),
    ] {
        v.push(Case::new(FAM, name, ProgType::Syscall, slots_from_hex(hex).expect("a well-formed constant")));
    }
    // a range above everything the tnum allows collapses onto the tnum's largest member
    v.push(sf(
        "bounds_tnum_single_member",
        vec![
            call(7),
            movr(6, 0),
            alu64i(Op::And, 6, -63),
            jmpi(Cond::Lt, 6, 36, 3),
            jmpi(Cond::Gt, 6, 50, 2),
            movr(0, 6),
            exit(),
            mov(0, 0),
            exit(),
        ],
    ));
    v.push(Case::new(FAM, "cgroup_skb_ret2", ProgType::CgroupSkb, vec![mov(0, 2), exit()]));
    v.push(Case::new(FAM, "syscall_ret", ProgType::Syscall, vec![mov(0, 1), exit()]));
    // Maps.
    let m = || vec![MapSpec::hash(4, 8, 1, "mymap")];
    let lookup = |extra: &[RawInsn]| {
        let mut p = vec![st(Sz::W, 10, -8, 0)];
        p.extend(ld_map(1, 0));
        p.extend([movr(2, 10), alu64i(Op::Add, 2, -8), call(1)]);
        p.extend_from_slice(extra);
        p
    };
    v.push(sf("map_null_deref", lookup(&[ldx(Sz::W, 1, 0, 0), mov(0, 0), exit()])).with_maps(m()));
    v.push(
        sf("map_ok", lookup(&[jmpi(Cond::Eq, 0, 0, 1), ldx(Sz::W, 1, 0, 4), mov(0, 0), exit()]))
            .with_maps(m()),
    );
    v.push(
        sf("map_oob", lookup(&[jmpi(Cond::Eq, 0, 0, 1), ldx(Sz::W, 1, 0, 8), mov(0, 0), exit()]))
            .with_maps(m()),
    );
    v.push(
        sf(
            "map_unbounded",
            lookup(&[
                jmpi(Cond::Eq, 0, 0, 3),
                ldx(Sz::Dw, 1, 0, 0),
                alu64r(Op::Add, 0, 1),
                ldx(Sz::W, 1, 0, 0),
                mov(0, 0),
                exit(),
            ]),
        )
        .with_maps(m()),
    );
    v.push(
        sf("map_bad_key", {
            let mut p = vec![mov(2, 0)];
            p.extend(ld_map(1, 0));
            p.extend([call(1), mov(0, 0), exit()]);
            p
        })
        .with_maps(m()),
    );
    v
}
