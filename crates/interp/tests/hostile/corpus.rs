//! The generator of `tests/hostile/` (the workspace's hostile-program corpus): families of
//! programs that hand every helper and kfunc with pointer or size arguments bad pointers, bad
//! sizes, unterminated strings and forged objects, plus wild memory accesses and runaway
//! control flow. Each file's first line is `; expect: CLASS`, its second `; attacks: ...`, its
//! third `; input: KIND N` (see tests/hostile/README.md).

/// One corpus program.
pub struct Case {
    /// File name without `.s`.
    pub name: String,
    /// `run-error` or `value`: the outcome of an unverified run on the interpreter with the
    /// testmod profile.
    pub expect: &'static str,
    pub attacks: String,
    /// `plain N`, `skb N` or `xdp N`.
    pub input: String,
    pub body: String,
}

impl Case {
    /// The file's text.
    pub fn text(&self) -> String {
        format!(
            "; expect: {}\n; attacks: {}\n; input: {}\n\n{}",
            self.expect, self.attacks, self.input, self.body
        )
    }
}

pub(super) const RUN_ERROR: &str = "run-error";
pub(super) const VALUE: &str = "value";

/// Bad pointers, each computed into r9 before the arguments are loaded (the dead-frame form
/// calls a subprogram, which clobbers r1..r5). Input buffers are 64 bytes, saved in r6.
pub(super) const BAD_PTRS: [(&str, &str, &str); 8] = [
    ("wild", "a wild address", "    r9 = 0xdead0000 ll\n"),
    ("null", "NULL", "    r9 = 0\n"),
    ("stack_top", "the top of the stack (no bytes left in the frame)", "    r9 = r10\n"),
    ("straddle", "4 bytes below the top of the stack", "    r9 = r10\n    r9 += -4\n"),
    ("below_stack", "below the lowest frame", "    r9 = r10\n    r9 += -520\n"),
    ("dead_frame", "the stack of a returned subprogram", "    call dead\n    r9 = r0\n"),
    ("input_end", "just past the input buffer", "    r9 = r6\n    r9 += 64\n"),
    ("kernel", "a kernel-looking address", "    r9 = 0xffff888000000000 ll\n"),
];

/// The subprogram whose frame is dead once it returns: r0 = its r10 - 64.
pub(super) const DEAD_SUB: &str =
    "\n.func dead, 0\ndead:\n    r0 = r10\n    r0 += -64\n    *(u64 *)(r0 +0) = 0\n    exit\n";

/// Bad sizes (into r9) for the 32 bytes at r10 - 32.
const BAD_SIZES: [(&str, &str, &str); 5] = [
    ("past_frame", "one byte more than the frame holds", "    r9 = 33\n"),
    ("minus_one", "-1", "    r9 = -1\n"),
    ("neg32", "a negative 32-bit size", "    r9 = 0x80000000 ll\n"),
    ("huge", "2^32 + 8 (truncates to 8)", "    r9 = 0x100000008 ll\n"),
    ("u64_max_minus", "2^64 - 16", "    r9 = -16\n"),
];

/// A program: the prologue keeps the input in r6, then `body`, then `exit`, then the dead
/// subprogram.
pub(super) fn prog(maps: &str, body: &str) -> String {
    format!("{maps}    r6 = r1\n{body}    exit\n{DEAD_SUB}")
}

/// Loads r1..r5 from `regs` and stack slots 6.. from `slots` (kbpf's r11 stack arguments).
pub(super) fn args(regs: &[&str], slots: &[&str]) -> String {
    let mut s = String::new();
    for (i, v) in slots.iter().enumerate() {
        s += &format!("    *(u64 *)(r11 -{}) = {v}\n", 8 * (i + 1));
    }
    for (i, v) in regs.iter().enumerate() {
        s += &format!("    r{} = {v}\n", i + 1);
    }
    s
}

/// A valid local dynptr at r10 - 16 over the 32 bytes at r10 - 48 (the interpreter lets a
/// local dynptr wrap stack memory; the kernel's verifier does not, which does not matter here).
pub(super) const MAKE_DYNPTR: &str = "    r1 = r10\n    r1 += -48\n    r2 = 32\n    r3 = 0\n    r4 = r10\n    r4 += -16\n    call bpf_dynptr_from_mem\n";

/// One pointer argument of a function to attack.
struct Target {
    func: &'static str,
    /// Argument index from 1.
    arg: usize,
    /// What the argument is, for the description.
    what: &'static str,
    /// Setup before the arguments (objects the good arguments point to).
    setup: &'static str,
    /// r1..r5 then stack slots, with `r9` where the attacked pointer goes.
    regs: &'static [&'static str],
    slots: &'static [&'static str],
    /// A NULL is allowed here (the call then returns a value).
    nullable: bool,
}

const DYN: &str = "r7";
pub(super) const NINE: [&str; 5] = ["1", "2", "3", "4", "5"];

fn targets() -> Vec<Target> {
    let t =
        |func, arg, what, setup, regs, slots| Target { func, arg, what, setup, regs, slots, nullable: false };
    vec![
        t("bpf_dynptr_from_mem", 1, "data", "", &["r9", "16", "0", "r7"], &[]),
        t("bpf_dynptr_from_mem", 4, "dynptr (uninit)", "", &["r7", "16", "0", "r9"], &[]),
        t("bpf_dynptr_read", 1, "dst", MAKE_DYNPTR, &["r9", "16", DYN, "0", "0"], &[]),
        t("bpf_dynptr_read", 3, "dynptr", MAKE_DYNPTR, &["r8", "16", "r9", "0", "0"], &[]),
        t("bpf_dynptr_write", 1, "dynptr", MAKE_DYNPTR, &["r9", "0", "r8", "16", "0"], &[]),
        t("bpf_dynptr_write", 3, "src", MAKE_DYNPTR, &[DYN, "0", "r9", "16", "0"], &[]),
        t("bpf_dynptr_data", 1, "dynptr", MAKE_DYNPTR, &["r9", "0", "8"], &[]),
        t("bpf_dynptr_size", 1, "dynptr", MAKE_DYNPTR, &["r9"], &[]),
        t("bpf_dynptr_clone", 1, "dynptr", MAKE_DYNPTR, &["r9", "r8"], &[]),
        t("bpf_dynptr_clone", 2, "clone (uninit)", MAKE_DYNPTR, &[DYN, "r9"], &[]),
        t("bpf_dynptr_adjust", 1, "dynptr", MAKE_DYNPTR, &["r9", "1", "4"], &[]),
        t("bpf_dynptr_is_null", 1, "dynptr", MAKE_DYNPTR, &["r9"], &[]),
        t("bpf_dynptr_is_rdonly", 1, "dynptr", MAKE_DYNPTR, &["r9"], &[]),
        t("bpf_dynptr_slice", 1, "dynptr", MAKE_DYNPTR, &["r9", "0", "r8", "8"], &[]),
        t("bpf_dynptr_slice_rdwr", 1, "dynptr", MAKE_DYNPTR, &["r9", "0", "r8", "8"], &[]),
        t("bpf_iter_num_new", 1, "iterator", "", &["r9", "0", "10"], &[]),
        t("bpf_iter_num_next", 1, "iterator", "", &["r9"], &[]),
        t("bpf_iter_num_destroy", 1, "iterator", "", &["r9"], &[]),
        t("bpf_iter_testmod_seq_new", 1, "iterator", "", &["r9", "7", "2"], &[]),
        t("bpf_iter_testmod_seq_next", 1, "iterator", "", &["r9"], &[]),
        t("bpf_iter_testmod_seq_value", 2, "iterator", "", &["5", "r9"], &[]),
        t("bpf_iter_testmod_seq_destroy", 1, "iterator", "", &["r9"], &[]),
        t("bpf_kfunc_call_test_acquire", 1, "scalar_ptr", "", &["r9"], &[]),
        t("bpf_kfunc_call_stack_arg_ptr", 10, "pass1 object", "", &NINE, &["6", "7", "8", "9", "r9"]),
        t("bpf_kfunc_call_stack_arg_mix", 8, "pass1 object p", "", &NINE, &["6", "7", "r9", "8", "r8"]),
        t("bpf_kfunc_call_stack_arg_mix", 10, "pass1 object q", "", &NINE, &["6", "7", "r8", "8", "r9"]),
        t("bpf_kfunc_call_stack_arg_dynptr", 10, "dynptr", MAKE_DYNPTR, &NINE, &["6", "7", "8", "9", "r9"]),
        t("bpf_kfunc_call_stack_arg_mem", 6, "mem", "", &NINE, &["r9", "16"]),
        t("bpf_kfunc_call_stack_arg_iter", 10, "iterator", "", &NINE, &["6", "7", "8", "9", "r9"]),
        t("bpf_kfunc_call_stack_arg_const_str", 10, "string", "", &NINE, &["6", "7", "8", "9", "r9"]),
        t("bpf_kfunc_call_stack_arg_timer", 10, "timer", "", &NINE, &["6", "7", "8", "9", "r9"]),
    ]
}

/// Every bad pointer in every pointer argument.
fn bad_pointer_family(out: &mut Vec<Case>) {
    for t in targets() {
        for (tag, desc, setup_ptr) in BAD_PTRS {
            // r7 = a live dynptr (or a live 16-byte scratch), r8 = 32 live bytes
            let body = format!(
                "{setup}    r7 = r10\n    r7 += -16\n    r8 = r10\n    r8 += -48\n{setup_ptr}{args}    call {func}\n",
                setup = t.setup,
                args = args(t.regs, t.slots),
                func = t.func,
            );
            // the 4 zero bytes below the top of a fresh stack are an empty, terminated string
            let empty_str = t.func.ends_with("const_str") && tag == "straddle";
            let expect = if t.nullable && tag == "null" || empty_str { VALUE } else { RUN_ERROR };
            out.push(Case {
                name: format!("ptr_{}_arg{}_{tag}", t.func.trim_start_matches("bpf_"), t.arg),
                expect,
                attacks: format!("{} argument {} ({}) is {desc}", t.func, t.arg, t.what),
                input: "plain 64".into(),
                body: prog("", &body),
            });
        }
    }
}

/// A valid local dynptr at r10 - 96 over the 32 bytes at r10 - 128, for the size family.
const MAKE_DYNPTR_LOW: &str = "    r1 = r10\n    r1 += -128\n    r2 = 32\n    r3 = 0\n    r4 = r10\n    r4 += -96\n    call bpf_dynptr_from_mem\n";

/// (function, attacked argument, what, r1..r5, stack slots).
type SizedCall = (&'static str, usize, &'static str, &'static [&'static str], &'static [&'static str]);

/// Memory + size pairs: the 32 bytes at the top of the stack (r8 = r10 - 32) with bad sizes
/// (in r9); r7 = a live dynptr.
fn bad_size_family(out: &mut Vec<Case>) {
    let pairs: [SizedCall; 5] = [
        ("bpf_dynptr_from_mem", 1, "data, size", &["r8", "r9", "0", "r7"], &[]),
        ("bpf_dynptr_read", 1, "dst, len", &["r8", "r9", "r7", "0", "0"], &[]),
        ("bpf_dynptr_write", 3, "src, len", &["r7", "0", "r8", "r9", "0"], &[]),
        ("bpf_dynptr_slice", 3, "buffer__opt, buffer__szk", &["r7", "0", "r8", "r9"], &[]),
        ("bpf_kfunc_call_stack_arg_mem", 6, "mem, mem__sz", &NINE, &["r8", "r9"]),
    ];
    for (func, arg, what, regs, slots) in pairs {
        for (tag, desc, size) in BAD_SIZES {
            let body = format!(
                "{MAKE_DYNPTR_LOW}    r7 = r10\n    r7 += -96\n    r8 = r10\n    r8 += -32\n{size}{}    call {func}\n",
                args(regs, slots)
            );
            out.push(Case {
                name: format!("size_{}_arg{arg}_{tag}", func.trim_start_matches("bpf_")),
                expect: RUN_ERROR,
                attacks: format!("{func} ({what}): the top 32 bytes of the stack with size {desc}"),
                input: "plain 64".into(),
                body: prog("", &body),
            });
        }
    }
}

/// Forged contents of the dynptr at r10 - 16: (tag, description, setup of r9 = data, size word,
/// offset word, expected class).
const FORGERIES: [(&str, &str, &str, u32, u32, &str); 10] = [
    ("wild_data", "data is a wild address", "    r9 = 0xdead0000 ll\n", 16 | 1 << 28, 0, RUN_ERROR),
    (
        "huge_size",
        "size 2^24 - 1 over 32 stack bytes",
        "    r9 = r10\n    r9 += -48\n",
        0x00ff_ffff | 1 << 28,
        0,
        RUN_ERROR,
    ),
    (
        "huge_offset",
        "offset 0x7ffffff0",
        "    r9 = r10\n    r9 += -48\n",
        16 | 1 << 28,
        0x7fff_fff0,
        RUN_ERROR,
    ),
    (
        "dead_frame",
        "data in a returned subprogram's stack",
        "    call dead\n    r9 = r0\n",
        16 | 1 << 28,
        0,
        RUN_ERROR,
    ),
    (
        "past_input",
        "data 4 bytes before the end of the input, size 16",
        "    r9 = r6\n    r9 += 60\n",
        16 | 1 << 28,
        0,
        RUN_ERROR,
    ),
    ("skb_wild", "an skb-typed dynptr with wild data", "    r9 = 0x1000 ll\n", 16 | 3 << 28, 0, RUN_ERROR),
    (
        "straddle",
        "data 8 bytes below the top of the stack, size 16",
        "    r9 = r10\n    r9 += -8\n",
        16 | 1 << 28,
        0,
        RUN_ERROR,
    ),
    ("wrap", "data + offset wraps around the address space", "    r9 = -8\n", 16 | 1 << 28, 16, RUN_ERROR),
    (
        "rodata",
        "a writable dynptr over a read-only map value",
        "    r9 = map_value(rodata, 0)\n",
        8 | 1 << 28,
        0,
        RUN_ERROR,
    ),
    ("null", "a NULL dynptr (data 0) with size 16", "    r9 = 0\n", 16 | 1 << 28, 0, VALUE),
];

/// Every consumer of an initialized dynptr on every forgery; r7 = the dynptr, r8 = 32 live
/// bytes at r10 - 96.
fn forged_dynptr_family(out: &mut Vec<Case>) {
    let consumers: [(&str, &[&str], &[&str]); 10] = [
        ("bpf_dynptr_read", &["r8", "8", "r7", "0", "0"], &[]),
        ("bpf_dynptr_write", &["r7", "0", "r8", "8", "0"], &[]),
        ("bpf_dynptr_data", &["r7", "0", "8"], &[]),
        ("bpf_dynptr_size", &["r7"], &[]),
        ("bpf_dynptr_slice_rdwr", &["r7", "0", "0", "8"], &[]),
        ("bpf_dynptr_adjust", &["r7", "1", "4"], &[]),
        ("bpf_dynptr_clone", &["r7", "r8"], &[]),
        ("bpf_dynptr_is_null", &["r7"], &[]),
        ("bpf_dynptr_is_rdonly", &["r7"], &[]),
        ("bpf_kfunc_call_stack_arg_dynptr", &NINE, &["6", "7", "8", "9", "r7"]),
    ];
    let maps = ".map rodata, array, 4, 8, 1, rdonly_prog, frozen\n.mapdata rodata, 0, \"rodata!\\0\"\n\n";
    for (tag, desc, data, size, off, expect) in FORGERIES {
        for (func, regs, slots) in consumers {
            let body = format!(
                "{data}    *(u64 *)(r10 -16) = r9\n    *(u32 *)(r10 -8) = {size:#x}\n    *(u32 *)(r10 -4) = {off:#x}\n    r7 = r10\n    r7 += -16\n    r8 = r10\n    r8 += -96\n{}    call {func}\n",
                args(regs, slots)
            );
            out.push(Case {
                name: format!("dynptr_{tag}_{}", func.trim_start_matches("bpf_")),
                expect,
                attacks: format!("{func} on a forged dynptr: {desc}"),
                input: "plain 64".into(),
                body: prog(maps, &body),
            });
        }
    }
}

use super::families::{ctx_family, generic_family, map_family, string_family};

/// The whole corpus, sorted by name.
pub fn corpus() -> Vec<Case> {
    let mut v = Vec::new();
    bad_pointer_family(&mut v);
    bad_size_family(&mut v);
    forged_dynptr_family(&mut v);
    string_family(&mut v);
    ctx_family(&mut v);
    map_family(&mut v);
    generic_family(&mut v);
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}
