//! The smaller families of the hostile corpus: strings, contexts, map and timer helpers, and
//! plain memory accesses and control flow.

use super::corpus::{BAD_PTRS, Case, MAKE_DYNPTR, NINE, RUN_ERROR, VALUE, args, prog};

fn case(out: &mut Vec<Case>, name: &str, expect: &'static str, attacks: &str, input: &str, text: String) {
    out.push(Case { name: name.into(), expect, attacks: attacks.into(), input: input.into(), body: text });
}

/// Strings for `__str` arguments.
pub(super) fn string_family(out: &mut Vec<Case>) {
    let call = |setup: &str| {
        format!(
            "{setup}{}    call bpf_kfunc_call_stack_arg_const_str\n",
            args(&NINE, &["6", "7", "8", "9", "r9"])
        )
    };
    let maps = ".map s, array, 4, 8, 1, rdonly_prog, frozen\n.mapdata s, 0, \"ABCDEFGH\"\n.map ok, array, 4, 8, 1, rdonly_prog, frozen\n.mapdata ok, 0, \"hello\\0\"\n\n";
    let cases: [(&str, &str, &str, &str); 6] = [
        (
            "str_stack_unterminated",
            RUN_ERROR,
            "8 bytes of 'A' at the top of the stack, no NUL before the frame ends",
            "    r1 = 0x4141414141414141 ll\n    *(u64 *)(r10 -8) = r1\n    r9 = r10\n    r9 += -8\n",
        ),
        (
            "str_map_unterminated",
            RUN_ERROR,
            "a map value of 8 bytes without a NUL",
            "    r9 = map_value(s, 0)\n",
        ),
        ("str_input_unterminated", RUN_ERROR, "the input buffer (64 bytes of 0xaa, no NUL)", "    r9 = r6\n"),
        (
            "str_input_last_byte",
            RUN_ERROR,
            "the last byte of the input buffer (not NUL)",
            "    r9 = r6\n    r9 += 63\n",
        ),
        (
            "str_map_terminated",
            VALUE,
            "a NUL-terminated string in a read-only map value (valid: 45)",
            "    r9 = map_value(ok, 0)\n",
        ),
        (
            "str_stack_terminated",
            VALUE,
            "a NUL-terminated string on the stack (valid for the interpreter)",
            "    *(u64 *)(r10 -8) = 0x41\n    r9 = r10\n    r9 += -8\n",
        ),
    ];
    for (name, expect, desc, setup) in cases {
        let text = prog(maps, &call(setup));
        case(
            out,
            name,
            expect,
            &format!("bpf_kfunc_call_stack_arg_const_str argument 10: {desc}"),
            "plain 64",
            text,
        );
    }
}

/// Contexts for `bpf_dynptr_from_skb` / `_xdp`: r6 = the input.
pub(super) fn ctx_family(out: &mut Vec<Case>) {
    let skb = |setup: &str| {
        format!("{setup}    r1 = r7\n    r2 = 0\n    r3 = r10\n    r3 += -16\n    call bpf_dynptr_from_skb\n")
    };
    let xdp = |setup: &str| {
        format!("{setup}    r1 = r7\n    r2 = 0\n    r3 = r10\n    r3 += -16\n    call bpf_dynptr_from_xdp\n")
    };
    let read = "    r7 = r0\n    r1 = r10\n    r1 += -64\n    r2 = 8\n    r3 = r10\n    r3 += -16\n    r4 = 0\n    r5 = 0\n    call bpf_dynptr_read\n    r0 += r7\n";
    let cases: Vec<(&str, &str, &str, &str, String)> = vec![
        (
            "ctx_skb_plain_short",
            RUN_ERROR,
            "bpf_dynptr_from_skb on a plain 64-byte buffer",
            "plain 64",
            skb("    r7 = r6\n"),
        ),
        (
            "ctx_skb_plain_long",
            RUN_ERROR,
            "bpf_dynptr_from_skb on a plain 256-byte buffer (its 'pointers' are 0xaa bytes)",
            "plain 256",
            skb("    r7 = r6\n"),
        ),
        (
            "ctx_xdp_plain",
            RUN_ERROR,
            "bpf_dynptr_from_xdp on a plain 64-byte buffer",
            "plain 64",
            xdp("    r7 = r6\n"),
        ),
        (
            "ctx_skb_stack",
            RUN_ERROR,
            "bpf_dynptr_from_skb with a stack pointer as the context",
            "skb 64",
            skb("    r7 = r10\n    r7 += -256\n"),
        ),
        (
            "ctx_skb_offset",
            RUN_ERROR,
            "bpf_dynptr_from_skb with the context plus 8",
            "skb 64",
            skb("    r7 = r6\n    r7 += 8\n"),
        ),
        ("ctx_skb_null", RUN_ERROR, "bpf_dynptr_from_skb with a NULL context", "skb 64", skb("    r7 = 0\n")),
        (
            "ctx_xdp_forged_data",
            RUN_ERROR,
            "bpf_dynptr_from_xdp after the program points the context's data at a wild address",
            "xdp 64",
            xdp("    r1 = 0xdead0000 ll\n    *(u64 *)(r6 +24) = r1\n    r7 = r6\n"),
        ),
        (
            "ctx_xdp_forged_end",
            RUN_ERROR,
            "bpf_dynptr_from_xdp after the program moves data_end 1 MiB past the packet",
            "xdp 64",
            xdp("    r1 = *(u64 *)(r6 +24)\n    r1 += 0x100000\n    *(u64 *)(r6 +32) = r1\n    r7 = r6\n"),
        ),
        (
            "ctx_skb_end_before_data",
            RUN_ERROR,
            "bpf_dynptr_from_skb after the program sets data_end below data",
            "skb 64",
            skb("    r1 = *(u64 *)(r6 +192)\n    r1 += -1\n    *(u64 *)(r6 +200) = r1\n    r7 = r6\n"),
        ),
        (
            "ctx_xdp_wrong_layout",
            RUN_ERROR,
            "bpf_dynptr_from_xdp on an skb context (reads the skb's uapi bytes as pointers)",
            "skb 64",
            xdp("    r7 = r6\n"),
        ),
        (
            "ctx_skb_valid_read",
            VALUE,
            "control: bpf_dynptr_from_skb on a test-run context, then bpf_dynptr_read",
            "skb 64",
            skb("    r7 = r6\n") + read,
        ),
        (
            "ctx_xdp_valid_read",
            VALUE,
            "control: bpf_dynptr_from_xdp on a test-run context, then bpf_dynptr_read",
            "xdp 64",
            xdp("    r7 = r6\n") + read,
        ),
        (
            "ctx_xdp_data_on_stack",
            VALUE,
            "bpf_dynptr_from_xdp after the program points data..data_end at its own stack (live memory: safe)",
            "xdp 64",
            xdp(
                "    r1 = r10\n    r1 += -128\n    *(u64 *)(r6 +24) = r1\n    r1 += 64\n    *(u64 *)(r6 +32) = r1\n    r7 = r6\n",
            ) + read,
        ),
        (
            "ctx_skb_flags",
            VALUE,
            "bpf_dynptr_from_skb with flags 1 (-EINVAL, a NULL dynptr)",
            "skb 64",
            "    r1 = r6\n    r2 = 1\n    r3 = r10\n    r3 += -16\n    call bpf_dynptr_from_skb\n"
                .to_string(),
        ),
        (
            "ctx_skb_then_past_packet",
            VALUE,
            "bpf_dynptr_read past the end of an skb dynptr (-E2BIG)",
            "skb 64",
            skb("    r7 = r6\n")
                + "    r1 = r10\n    r1 += -64\n    r2 = 8\n    r3 = r10\n    r3 += -16\n    r4 = 60\n    r5 = 0\n    call bpf_dynptr_read\n",
        ),
    ];
    for (name, expect, desc, input, body) in cases {
        case(out, name, expect, desc, input, prog("", &body));
    }
}

/// The map helpers, `bpf_tail_call` and the timer helpers (run by the interpreter itself).
pub(super) fn map_family(out: &mut Vec<Case>) {
    let maps = ".map h, hash, 4, 8, 4\n.map jmp, prog_array, 4, 4, 2\n.map t, array, 4, 16, 1, timer=0\n.map v, array, 4, 16, 1\n\n";
    let key = "    *(u32 *)(r10 -4) = 0\n    r7 = r10\n    r7 += -4\n";
    let lookup_v = "    *(u32 *)(r10 -4) = 0\n    r2 = r10\n    r2 += -4\n    r1 = v ll\n    call bpf_map_lookup_elem\n    r8 = r0\n";
    let mut c = |name: &str, expect: &'static str, desc: &str, body: String| {
        case(out, name, expect, desc, "plain 64", prog(maps, &body));
    };
    let bad_maps: [(&str, &str, &str); 5] = [
        ("wild", "a wild address", "    r9 = 0xdead0000 ll\n"),
        ("null", "NULL", "    r9 = 0\n"),
        ("stack", "a stack pointer", "    r9 = r10\n    r9 += -64\n"),
        ("value", "a map value pointer", "    r9 = map_value(v, 0)\n"),
        ("map_plus_8", "a map's address plus 8", "    r9 = h ll\n    r9 += 8\n"),
    ];
    for (tag, desc, setup) in bad_maps {
        for (func, regs) in [
            ("bpf_map_lookup_elem", &["r9", "r7"][..]),
            ("bpf_map_update_elem", &["r9", "r7", "r7", "0"][..]),
            ("bpf_map_delete_elem", &["r9", "r7"][..]),
            ("bpf_tail_call", &["r6", "r9", "0"][..]),
        ] {
            let short = func.trim_start_matches("bpf_");
            let body = format!("{key}{setup}{}    call {func}\n    r0 = 0\n", args(regs, &[]));
            c(&format!("map_{short}_map_{tag}"), RUN_ERROR, &format!("{func}: the map is {desc}"), body);
        }
    }
    for (tag, desc, setup) in BAD_PTRS.iter().filter(|(t, ..)| *t != "null") {
        // a 4-byte key fits the straddling form: map_lookup_key_straddle covers it
        if *tag != "straddle" {
            let body = format!("{setup}    r1 = h ll\n    r2 = r9\n    call bpf_map_lookup_elem\n");
            c(
                &format!("map_lookup_key_{tag}"),
                RUN_ERROR,
                &format!("bpf_map_lookup_elem: the key is {desc}"),
                body,
            );
        }
        let body = format!(
            "{key}{setup}    r1 = h ll\n    r2 = r7\n    r3 = r9\n    r4 = 0\n    call bpf_map_update_elem\n"
        );
        c(
            &format!("map_update_value_{tag}"),
            RUN_ERROR,
            &format!("bpf_map_update_elem: the value is {desc}"),
            body,
        );
    }
    c(
        "map_lookup_key_straddle",
        RUN_ERROR,
        "bpf_map_lookup_elem: a 4-byte key 2 bytes below the top of the stack",
        "    r1 = h ll\n    r2 = r10\n    r2 += -2\n    call bpf_map_lookup_elem\n".into(),
    );
    c(
        "map_value_past_end",
        RUN_ERROR,
        "a load 8 bytes past the end of a 16-byte map value",
        format!("{lookup_v}    if r8 == 0 goto +1\n    r0 = *(u64 *)(r8 +16)\n"),
    );
    c(
        "map_value_store_before",
        RUN_ERROR,
        "a store 8 bytes before a map value",
        format!("{lookup_v}    if r8 == 0 goto +1\n    *(u64 *)(r8 -8) = 1\n"),
    );
    c(
        "map_tail_call_index_huge",
        VALUE,
        "bpf_tail_call with index 2^32 + 1 (compared as u32: 1, an empty slot, falls through)",
        "    r1 = r6\n    r2 = jmp ll\n    r3 = 0x100000001 ll\n    call bpf_tail_call\n    r0 = 7\n".into(),
    );
    // timers: r1 must be the bpf_timer field of a map value of the run
    let bad_timers: [(&str, &str, &str); 5] = [
        ("wild", "a wild address", "    r9 = 0xdead0000 ll\n"),
        ("stack", "a stack pointer", "    r9 = r10\n    r9 += -16\n"),
        ("not_timer", "a map value without a timer", "    r9 = map_value(v, 0)\n"),
        ("timer_plus_8", "8 bytes into a timer field", "    r9 = map_value(t, 8)\n"),
        ("null", "NULL", "    r9 = 0\n"),
    ];
    for (tag, desc, setup) in bad_timers {
        for (func, regs) in [
            ("bpf_timer_init", &["r9", "t ll", "1"][..]),
            ("bpf_timer_start", &["r9", "100", "0"][..]),
            ("bpf_timer_cancel", &["r9"][..]),
        ] {
            let regs: Vec<&str> = regs.to_vec();
            let mut body = setup.to_string();
            for (i, v) in regs.iter().enumerate() {
                body += &format!("    r{} = {v}\n", i + 1);
            }
            body += &format!("    call {func}\n");
            let short = func.trim_start_matches("bpf_");
            c(&format!("timer_{short}_{tag}"), RUN_ERROR, &format!("{func}: the timer is {desc}"), body);
        }
    }
}

/// Loads, stores, atomics, frames and control flow.
pub(super) fn generic_family(out: &mut Vec<Case>) {
    let mut c = |name: &str, expect: &'static str, desc: &str, body: &str| {
        case(out, name, expect, desc, "plain 64", prog("", body));
    };
    for (tag, desc, setup) in BAD_PTRS {
        c(
            &format!("load_{tag}"),
            RUN_ERROR,
            &format!("an 8-byte load from {desc}"),
            &format!("{setup}    r0 = *(u64 *)(r9 +0)\n"),
        );
        c(
            &format!("store_{tag}"),
            RUN_ERROR,
            &format!("an 8-byte store to {desc}"),
            &format!("{setup}    *(u64 *)(r9 +0) = r1\n"),
        );
        c(
            &format!("store_imm_{tag}"),
            RUN_ERROR,
            &format!("an 8-byte immediate store to {desc}"),
            &format!("{setup}    *(u64 *)(r9 +0) = 7\n"),
        );
        c(
            &format!("atomic_add_{tag}"),
            RUN_ERROR,
            &format!("an atomic add to {desc}"),
            &format!("{setup}    r1 = 1\n    lock *(u64 *)(r9 +0) += r1\n"),
        );
        c(
            &format!("cmpxchg_{tag}"),
            RUN_ERROR,
            &format!("a compare-and-exchange on {desc}"),
            &format!("{setup}    r0 = 0\n    r1 = 1\n    r0 = cmpxchg_64(r9 + 0, r0, r1)\n"),
        );
    }
    c(
        "load_input_straddle",
        RUN_ERROR,
        "an 8-byte load of the last 4 input bytes",
        "    r0 = *(u64 *)(r6 +60)\n",
    );
    c(
        "load_offset_wrap",
        RUN_ERROR,
        "a load at r10 + 32767 (offset beyond the frame)",
        "    r0 = *(u8 *)(r10 +32767)\n",
    );
    c(
        "r10_zero_store",
        RUN_ERROR,
        "r10 overwritten with 0, then a store through it",
        "    r10 = 0\n    *(u64 *)(r10 -8) = 1\n",
    );
    c(
        "r10_up_store",
        RUN_ERROR,
        "r10 moved up 8 bytes, then a store at its new top (a dead frame)",
        "    r10 += 8\n    *(u64 *)(r10 -8) = 1\n",
    );
    c(
        "r10_wild",
        RUN_ERROR,
        "r10 set to a wild address, then a load",
        "    r10 = 0xdead0000 ll\n    r0 = *(u64 *)(r10 -8)\n",
    );
    c("callx_wild", RUN_ERROR, "callx of a register holding no helper id", "    r2 = 0xdead\n    callx r2\n");
    c(
        "callx_from_mem_wild",
        RUN_ERROR,
        "callx of bpf_dynptr_from_mem with a wild data pointer",
        "    r1 = 0xdead0000 ll\n    r2 = 16\n    r3 = 0\n    r4 = r10\n    r4 += -16\n    r0 = 197\n    callx r0\n",
    );
    c(
        "callx_lookup_wild_map",
        RUN_ERROR,
        "callx of bpf_map_lookup_elem with a wild map",
        "    r1 = 0xdead0000 ll\n    r2 = r10\n    r2 += -8\n    r0 = 1\n    callx r0\n",
    );
    c(
        "callx_dynptr_read_dead",
        RUN_ERROR,
        "callx of bpf_dynptr_read into a dead frame",
        &format!(
            "{MAKE_DYNPTR}    call dead\n    r1 = r0\n    r2 = 8\n    r3 = r10\n    r3 += -16\n    r4 = 0\n    r5 = 0\n    r0 = 201\n    callx r0\n"
        ),
    );
    c(
        "stack_arg_in_main",
        RUN_ERROR,
        "an incoming stack argument read in the main function",
        "    r0 = *(u64 *)(r11 +8)\n",
    );
    c(
        "arena_kfunc",
        RUN_ERROR,
        "bpf_kfunc_arena_stack_arg_test (an arena pointer the interpreter cannot check)",
        &format!("{}    call bpf_kfunc_arena_stack_arg_test\n", args(&NINE, &["0x1000"])),
    );
    c(
        "release_wild",
        VALUE,
        "bpf_kfunc_call_test_release of a wild pointer (compared, never dereferenced)",
        "    r1 = 0xdead0000 ll\n    call bpf_kfunc_call_test_release\n",
    );
    c(
        "div_by_zero",
        VALUE,
        "division and modulo by zero",
        "    r0 = 7\n    r1 = 0\n    r0 /= r1\n    r2 = 5\n    r2 %= r1\n    r0 += r2\n",
    );
    c(
        "iter_forged_state",
        VALUE,
        "bpf_iter_num_next on forged iterator state (cur = INT_MAX - 1, end = INT_MAX)",
        "    r1 = 0x7fffffff7ffffffe ll\n    *(u64 *)(r10 -8) = r1\n    r1 = r10\n    r1 += -8\n    call bpf_iter_num_next\n",
    );
    c(
        "seq_forged_state",
        VALUE,
        "bpf_iter_testmod_seq_next on forged state (cnt = INT_MIN)",
        "    *(u64 *)(r10 -16) = -1\n    *(u32 *)(r10 -8) = -2147483648\n    r1 = r10\n    r1 += -16\n    call bpf_iter_testmod_seq_next\n",
    );
    c(
        "adjust_overflow",
        VALUE,
        "bpf_dynptr_adjust past the dynptr's end (-ERANGE)",
        &format!(
            "{MAKE_DYNPTR}    r1 = r10\n    r1 += -16\n    r2 = 0xffffffff ll\n    r3 = 0xffffffff ll\n    call bpf_dynptr_adjust\n"
        ),
    );
    // runaway control flow
    let raw = |name: &str, expect: &'static str, desc: &str, text: &str| Case {
        name: name.into(),
        expect,
        attacks: desc.into(),
        input: "plain 64".into(),
        body: text.into(),
    };
    out.push(raw(
        "recursion_deep",
        RUN_ERROR,
        "unbounded bpf-to-bpf recursion",
        "    call self\n    exit\n\n.func self, 0\nself:\n    call self\n    exit\n",
    ));
    out.push(raw(
        "recursion_stack_args",
        RUN_ERROR,
        "unbounded recursion passing stack arguments",
        "    call f\n    exit\n\n.func f, 6\nf:\n    *(u64 *)(r11 -8) = r10\n    call f\n    exit\n",
    ));
    out.push(raw(
        "loop_forever",
        RUN_ERROR,
        "an infinite loop (the instruction budget)",
        "loop:\n    r0 += 1\n    goto loop\n",
    ));
    out.push(raw(
        "loop_calls_forever",
        RUN_ERROR,
        "an infinite loop of helper calls",
        "loop:\n    call bpf_ktime_get_ns\n    goto loop\n",
    ));
    out.push(raw(
        "fall_off_end",
        RUN_ERROR,
        "no exit: execution runs past the last instruction",
        "    r0 = 1\n",
    ));
    out.push(raw(
        "fall_off_after_jump",
        RUN_ERROR,
        "a jump to the last instruction, which is not an exit",
        "    r0 = 1\n    goto +0\n    r0 = 2\n",
    ));
    out.push(raw("tail_call_self", VALUE, "a program tail-calling itself until MAX_TAIL_CALL_CNT", ".map jmp, prog_array, 4, 4, 1\n.mapdata jmp, 0, again\n    r6 = r1\n    r1 = r6\n    r2 = jmp ll\n    r3 = 0\n    call bpf_tail_call\n    r0 = 1\n    exit\n.prog again\n    r6 = r1\n    r1 = r6\n    r2 = jmp ll\n    r3 = 0\n    call bpf_tail_call\n    r0 = 3\n    exit\n"));
}
