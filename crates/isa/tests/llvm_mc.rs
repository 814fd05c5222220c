//! Agreement with LLVM 19's BPF assembler and disassembler (`llvm-mc-19 -triple=bpfel -mcpu=v4`).
//!
//! Needs `llvm-mc-19` on PATH (Debian/Ubuntu package `llvm-19`): the tests are `#[ignore]`d and
//! `cargo xtask test` runs them with `--ignored` when it is there (it installs it when it can). LLVM 14's llvm-mc mis-decodes cpu v4, so no other version is
//! used.
//!
//! * `corpus/all_forms.s` (every form LLVM 19 assembles, in its own syntax) assembled by llvm-mc
//!   to an object and by kbpf: identical `.text` bytes.
//! * The same instructions and a few thousand random ones that LLVM 19 can express, printed by
//!   kbpf's LLVM printer and by `llvm-mc --disassemble` (decimal and `--print-imm-hex`): identical
//!   text; and LLVM's text assembled by kbpf, and kbpf's text assembled by llvm-mc: identical
//!   bytes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use kbpf_isa::asm::assemble;
use kbpf_isa::disasm::{Syntax, format_insn};
use kbpf_isa::{AtomicOp, CallTarget, Insn, LdImm64Src, encode_bytes};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

const CORPUS: &str = include_str!("corpus/all_forms.s");
const MC: &str = "llvm-mc-19";

fn llvm_mc() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(MC))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{MC} is not on PATH (install the llvm-19 package)"))
}

fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("kbpf-isa-llvm-{}-{n}-{name}", std::process::id()))
}

fn run(mc: &Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(mc)
        .args(["-triple=bpfel", "-mcpu=v4"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn llvm-mc");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("llvm-mc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "llvm-mc {args:?} failed:\n{stderr}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The `.text` section of an ELF64 little-endian object.
fn elf_text(obj: &[u8]) -> Vec<u8> {
    let u16_at = |o: usize| u16::from_le_bytes([obj[o], obj[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(obj[o..o + 4].try_into().expect("4 bytes")) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(obj[o..o + 8].try_into().expect("8 bytes")) as usize;
    assert_eq!(&obj[..6], b"\x7fELF\x02\x01", "ELF64 LE");
    let (shoff, shentsize, shnum, shstrndx) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(sh(shstrndx) + 24);
    for i in 0..shnum {
        let name_at = strtab + u32_at(sh(i));
        let name_end = name_at + obj[name_at..].iter().position(|&b| b == 0).expect("NUL");
        if &obj[name_at..name_end] == b".text" {
            let (off, size) = (u64_at(sh(i) + 24), u64_at(sh(i) + 32));
            return obj[off..off + size].to_vec();
        }
    }
    panic!("no .text section");
}

/// Assembles with llvm-mc into an object and returns its `.text` bytes.
fn llvm_assemble(mc: &Path, src: &str) -> Vec<u8> {
    let (input, obj) = (scratch("in.s"), scratch("out.o"));
    std::fs::write(&input, src).expect("write source");
    let (i, o) = (input.to_string_lossy().into_owned(), obj.to_string_lossy().into_owned());
    run(mc, &["--filetype=obj", &i, "-o", &o], "");
    let bytes = std::fs::read(&obj).expect("object written");
    let _ = (std::fs::remove_file(&input), std::fs::remove_file(&obj));
    elf_text(&bytes)
}

/// Disassembles bytes with llvm-mc; one line per instruction, tabs as spaces.
fn llvm_disassemble(mc: &Path, insns: &[Insn], hex: bool) -> Vec<String> {
    let mut input = String::new();
    for i in insns {
        let bytes = encode_bytes(std::slice::from_ref(i));
        input.push_str(&bytes.iter().map(|b| format!("{b:#04x}")).collect::<Vec<_>>().join(" "));
        input.push('\n');
    }
    let args: &[&str] = if hex { &["--disassemble", "--print-imm-hex"] } else { &["--disassemble"] };
    run(mc, args, &input)
        .lines()
        .map(|l| l.trim().replace('\t', " "))
        .filter(|l| !l.is_empty() && l != ".text")
        .collect()
}

/// Whether LLVM 19 has a spelling of its own for the instruction (see `disasm::Syntax` for the
/// kbpf extensions used otherwise).
fn llvm19_knows(insn: &Insn) -> bool {
    match insn {
        Insn::Atomic { op: AtomicOp::LoadAcquire | AtomicOp::StoreRelease, .. } => false,
        Insn::Call(CallTarget::Local(_) | CallTarget::Kfunc { .. }) => false,
        Insn::LdImm64 { src, imm_hi, .. } => *src == LdImm64Src::Imm || *imm_hi == 0,
        Insn::LdInd { imm, .. } => *imm == 0,
        _ => true,
    }
}

/// Whether LLVM 19's assembler takes kbpf's text of the instruction: on top of
/// [`llvm19_knows`], its parser limits numeric `gotol` offsets to 16 bits (labels work).
fn llvm19_assembles(insn: &Insn) -> bool {
    llvm19_knows(insn) && !matches!(insn, Insn::Gotol { imm } if i16::try_from(*imm).is_err())
}

/// The text LLVM prints for an instruction whose kbpf text differs by design: bpf-to-bpf calls
/// print their raw imm.
fn llvm_text(insn: &Insn, hex: bool) -> String {
    match insn {
        Insn::Call(CallTarget::Local(rel)) => {
            format_insn(&Insn::Call(CallTarget::Helper(*rel)), 0, Syntax::Llvm { hex })
        }
        _ => format_insn(insn, 0, Syntax::Llvm { hex }).replace('\t', " "),
    }
}

#[test]
#[ignore = "needs llvm-mc-19 on PATH (apt-get install llvm-19; cargo xtask test installs and runs it)"]
fn corpus_encodes_like_llvm_mc() {
    let mc = llvm_mc();
    let ours = encode_bytes(&assemble(CORPUS).expect("corpus assembles"));
    let theirs = llvm_assemble(&mc, CORPUS);
    assert_eq!(ours.len(), theirs.len(), "slot count");
    let insns = assemble(CORPUS).expect("corpus assembles");
    let mut slot = 0;
    for i in &insns {
        let n = i.slots() * 8;
        assert_eq!(
            ours[slot..slot + n],
            theirs[slot..slot + n],
            "slot {}: {}",
            slot / 8,
            llvm_text(i, false)
        );
        slot += n;
    }
    assert!(insns.len() >= 200, "{} instructions", insns.len());
}

/// kbpf's LLVM printer against llvm-mc's disassembler, and each side's text through the other
/// side's assembler.
fn check_against_llvm(mc: &Path, insns: &[Insn]) {
    for hex in [false, true] {
        let theirs = llvm_disassemble(mc, insns, hex);
        assert_eq!(theirs.len(), insns.len(), "llvm-mc printed one line per instruction");
        for (i, t) in insns.iter().zip(&theirs) {
            assert_eq!(llvm_text(i, hex), *t, "{i:?}");
            // LLVM's text through kbpf (a bare `call N` is a helper call to kbpf).
            let back = assemble(t).unwrap_or_else(|e| panic!("`{t}`: {e}"));
            let want = match i {
                Insn::Call(CallTarget::Local(rel)) => Insn::Call(CallTarget::Helper(*rel)),
                other => *other,
            };
            assert_eq!(back, vec![want], "`{t}`");
        }
        // kbpf's text through llvm-mc.
        let known: Vec<Insn> = insns.iter().copied().filter(llvm19_assembles).collect();
        let text: String =
            known.iter().map(|i| format!("{}\n", format_insn(i, 0, Syntax::Llvm { hex }))).collect();
        assert_eq!(llvm_assemble(mc, &text), encode_bytes(&known), "llvm-mc on kbpf's text");
    }
}

#[test]
#[ignore = "needs llvm-mc-19 on PATH (apt-get install llvm-19; cargo xtask test installs and runs it)"]
fn corpus_prints_like_llvm_mc() {
    let mc = llvm_mc();
    let insns: Vec<Insn> = assemble(CORPUS).expect("corpus assembles");
    check_against_llvm(&mc, &insns);
}

#[test]
#[ignore = "needs llvm-mc-19 on PATH (apt-get install llvm-19; cargo xtask test installs and runs it)"]
fn random_insns_print_like_llvm_mc() {
    let mc = llvm_mc();
    let mut runner = TestRunner::deterministic();
    let strategy = common::insn();
    let insns: Vec<Insn> =
        std::iter::repeat_with(|| strategy.new_tree(&mut runner).expect("strategy").current())
            .filter(llvm19_knows)
            .take(3000)
            .collect();
    check_against_llvm(&mc, &insns);
}
