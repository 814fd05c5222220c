//! Fuzz-style properties: untrusted bytes and text never panic the decoder or the assembler.
//!
//! 100k byte strings through `Program::from_bytes` and 100k+ lines through the assembler (random
//! printable strings, soups of assembler tokens, and mutations of valid lines in every syntax).
//! `KBPF_FUZZ_CASES=N` scales each property to N cases (default 100000 / 50000 / 50000 / 30000).
//! Besides "no panic", whatever is accepted must be consistent: decoded programs re-encode to the
//! input bytes and disassemble/assemble back, assembled lines decode and round-trip.

mod common;

use common::{SYNTAXES, decodable, fit_targets, insn};
use kbpf_isa::asm::{assemble, assemble_program};
use kbpf_isa::disasm::{disassemble, format_insn, format_insn_with_code};
use kbpf_isa::{Program, encode_bytes};
use proptest::prelude::*;
use proptest::sample::select;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("KBPF_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    // No shrinking budget worth mentioning is needed: a failure prints its input.
    ProptestConfig { cases, max_shrink_iters: 256, failure_persistence: None, ..ProptestConfig::default() }
}

/// Byte strings: pure noise, and valid programs with a few bytes overwritten (to get past the
/// first slot), sometimes cut at a length that is not a multiple of 8.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        prop::collection::vec(insn(), 1..6),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        any::<u8>(),
    )
        .prop_map(|(insns, edits, cut)| {
            let mut b = encode_bytes(&fit_targets(insns));
            for (at, v) in edits {
                let n = b.len();
                b[at % n] = v;
            }
            if cut < 32 {
                let n = b.len();
                b.truncate(n - (cut as usize % 8 + 1).min(n));
            }
            b
        });
    prop_oneof![prop::collection::vec(any::<u8>(), 0..80), mutated]
}

/// Accepted programs are exact inverses of their bytes and survive disassembly (in one syntax
/// per program, picked by its length, to keep the run short).
fn check_program(bytes: &[u8]) {
    let Ok(prog) = Program::from_bytes(bytes) else { return };
    assert_eq!(prog.to_bytes(), bytes);
    let syntax = SYNTAXES[prog.len() % SYNTAXES.len()];
    let text = disassemble(&prog, syntax);
    let back = assemble_program(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, prog);
}

/// Accepted lines give decodable instructions whose text reads back the same.
fn check_line(line: &str) {
    let Ok(insns) = assemble(line) else { return };
    for i in &insns {
        assert!(decodable(i), "`{line}` gave undecodable {i:?}");
        for syntax in SYNTAXES {
            let text = format_insn_with_code(i, 0, syntax);
            assert_eq!(assemble(&text).as_deref(), Ok(std::slice::from_ref(i)), "`{line}` -> `{text}`");
        }
    }
}

const TOKENS: &[&str] = &[
    "r0",
    "r1",
    "w1",
    "r10",
    "r11",
    "w11",
    "r12",
    "=",
    "+=",
    "-=",
    "s>>=",
    "s/=",
    "<<=",
    "*",
    "(",
    ")",
    "[",
    "]",
    "u8",
    "u64",
    "s16",
    "*)",
    "(r10",
    "-8)",
    "+",
    "-",
    "0x",
    "0x10",
    "-5",
    "4294967295",
    "99999999999999999999",
    "goto",
    "gotol",
    "may_goto",
    "pc+3",
    "pc",
    "+3",
    "if",
    "s<",
    "&",
    "==",
    "call",
    "callx",
    "lock",
    "ll",
    "exit",
    ",",
    "atomic_fetch_add",
    "atomic64_cmpxchg",
    "xchg_64",
    "cmpxchg32_32",
    "load_acquire",
    "store_release",
    "skb",
    "skb[",
    "addr_space_cast",
    "be16",
    "bswap64",
    "(s8)",
    "map_fd",
    "func",
    "ld_pseudo",
    "kfunc",
    ":",
    "kernel",
    "function",
    "#",
    "#1",
    "bpf_map_lookup_elem",
    "unknown",
    "label",
    "label:",
    "0:",
    "(bf)",
    "(18)",
    ";",
    "//",
    "<",
    ">",
    ".text",
    "é",
    "\t",
];

/// Mutations of a valid line: delete, insert, replace, duplicate, truncate.
fn mutate(line: &str, ops: &[(u8, usize, char)]) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    for &(kind, at, c) in ops {
        let n = chars.len();
        let at = if n == 0 { 0 } else { at % n };
        match kind % 5 {
            0 if n > 0 => {
                chars.remove(at);
            }
            1 => chars.insert(at, c),
            2 if n > 0 => chars[at] = c,
            3 if n > 0 => {
                let end = (at + 1 + (at % 7)).min(n);
                let dup: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, dup);
            }
            4 => chars.truncate(at),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn mutated_line() -> impl Strategy<Value = String> {
    let c = prop_oneof![prop::char::range(' ', '~'), select(vec!['\t', 'é', '\u{0}', '\u{202e}'])];
    (
        insn(),
        select(SYNTAXES.to_vec()),
        any::<bool>(),
        prop::collection::vec((any::<u8>(), any::<usize>(), c), 1..4),
    )
        .prop_map(|(i, syntax, code, ops)| {
            let text = if code { format_insn_with_code(&i, 7, syntax) } else { format_insn(&i, 7, syntax) };
            mutate(&text, &ops)
        })
}

proptest! {
    #![proptest_config(cases(100_000))]
    #[test]
    fn decoder_never_panics(b in bytes()) {
        check_program(&b);
    }
}

proptest! {
    #![proptest_config(cases(50_000))]
    #[test]
    fn assembler_never_panics_on_printable_lines(line in "[ -~]{0,60}") {
        check_line(&line);
    }

    #[test]
    fn assembler_never_panics_on_mutated_lines(line in mutated_line()) {
        check_line(&line);
    }
}

proptest! {
    #![proptest_config(cases(30_000))]
    #[test]
    fn assembler_never_panics_on_token_soup(toks in prop::collection::vec(select(TOKENS.to_vec()), 0..12), sep in select(vec![" ", ""])) {
        check_line(&toks.join(sep));
    }
}

/// The generators reach past the first error: a fair share of their inputs is accepted.
#[test]
fn generators_reach_valid_inputs() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut sample = |s: &dyn Fn(&mut proptest::test_runner::TestRunner) -> bool| {
        (0..2000).filter(|_| s(&mut runner)).count()
    };
    let bytes_ok = sample(&|r| Program::from_bytes(&bytes().new_tree(r).expect("tree").current()).is_ok());
    let lines_ok = sample(&|r| assemble(&mutated_line().new_tree(r).expect("tree").current()).is_ok());
    assert!(bytes_ok > 200, "{bytes_ok}/2000 byte strings decode");
    assert!(lines_ok > 100, "{lines_ok}/2000 mutated lines assemble");
    eprintln!("{bytes_ok}/2000 byte strings decode, {lines_ok}/2000 mutated lines assemble");
}

#[test]
fn assembler_survives_multi_line_garbage() {
    // Labels and fixups across lines, with garbage interleaved.
    let src = "a:\ngoto a\nb: b:\ncall b\ncall nowhere\n\u{0}\nr1 = func(a)\ngotol -99999999999\n";
    for n in 0..=src.len() {
        if src.is_char_boundary(n) {
            let _ = assemble_program(&src[..n]);
        }
    }
}
