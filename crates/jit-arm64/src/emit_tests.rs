//! Emission tables: BPF instruction -> expected machine words -> expected disassembly.
//!
//! Each case compiles a tiny program and looks at the code of one instruction. The table lives
//! in `tests/golden/emit_table.txt` (instruction, then `word  yaxpeax-arm text` lines;
//! `BLESS=1` rewrites it); every word must decode, and when `llvm-mc-19` is installed the words
//! are disassembled and re-assembled by LLVM (`-triple=aarch64 -mattr=+lse`) to prove each one
//! is a valid, canonical encoding (branches, whose text is position-relative, only decode).

use kbpf_isa::{
    AluOp, AtomicOp, ByteOrder, CallTarget, Insn, JmpCond, LdImm64Src, Program, Reg, Size, Src, Width,
};
use kbpf_kfunc::Registry;

use crate::dump::disasm_word;
use crate::emit::{EmitOptions, compile};

/// Code words of instruction `idx` of `insns` (followed by `exit` if needed).
pub(crate) fn words_of(insns: &[Insn], idx: usize, lse: bool) -> Vec<u32> {
    let mut v = insns.to_vec();
    if !matches!(v.last(), Some(Insn::Exit)) {
        v.push(Insn::Exit);
    }
    let prog = Program::new(v).expect("valid test program");
    let reg = test_registry();
    let code = compile(&prog, &reg, &EmitOptions { lse, jit: Default::default() }).expect("compiles");
    let start = code.insn_offsets[idx] as usize;
    let end = code.insn_offsets[idx + 1] as usize;
    code.bytes[start..end].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

extern "C" fn h0() -> u64 {
    7
}

pub(crate) fn test_registry() -> Registry {
    let mut r = Registry::new();
    r.add_helper(1, "h0", kbpf_kfunc::NativeFn::A0(h0)).expect("fresh registry");
    r
}

fn alu(width: Width, op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width, op, dst, src }
}

use Reg::*;
use Width::{W32, W64};

fn st(size: Size, dst: Reg, off: i16, src: Src) -> Insn {
    Insn::Store { size, dst, off, src }
}
fn ld(size: Size, signed: bool, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Load { size, signed, dst, src, off }
}
fn at(size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Atomic { size, op, dst, src, off }
}
fn j(width: Width, cond: JmpCond, dst: Reg, src: Src) -> Insn {
    Insn::Jmp { width, cond, dst, src, off: 0 }
}

/// The instructions of the table, each with the atomics flavour to emit.
fn insns() -> Vec<(Insn, bool)> {
    let mut v = Vec::new();
    for op in AluOp::ALL {
        v.push((alu(W64, op, R0, Src::Reg(R1)), true));
        v.push((alu(W32, op, R6, Src::Reg(R9)), true));
    }
    for (op, imm) in [
        (AluOp::Add, 1),
        (AluOp::Add, -1),
        (AluOp::Add, 0x1000),
        (AluOp::Add, 0x12345),
        (AluOp::Sub, 4095),
        (AluOp::Mul, 3),
        (AluOp::Div, 10),
        (AluOp::SDiv, -3),
        (AluOp::Mod, 7),
        (AluOp::SMod, -7),
        (AluOp::And, 0xff),
        (AluOp::And, 0x1234),
        (AluOp::Or, -256),
        (AluOp::Xor, -1),
        (AluOp::Lsh, 3),
        (AluOp::Rsh, 65),
        (AluOp::Arsh, 63),
        (AluOp::Mov, 0),
        (AluOp::Mov, -1),
        (AluOp::Mov, 0x12345678),
        (AluOp::Mov, i32::MIN),
    ] {
        v.push((alu(W64, op, R2, Src::Imm(imm)), true));
        v.push((alu(W32, op, R2, Src::Imm(imm)), true));
    }
    v.push((Insn::Neg { width: W64, dst: R3 }, true));
    v.push((Insn::Neg { width: W32, dst: R3 }, true));
    for (w, b) in [(W64, 8), (W64, 16), (W64, 32), (W32, 8), (W32, 16)] {
        v.push((Insn::MovSx { width: w, dst: R7, src: R1, from_bits: b }, true));
    }
    for order in [ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap] {
        for bits in [16, 32, 64] {
            v.push((Insn::Endian { order, bits, dst: R4 }, true));
        }
    }
    for (lo, hi) in [(0, 0), (1, 0), (-1, -1), (0x5678_9abc_u32 as i32, 0x1234), (0, 0x1234_5678)] {
        v.push((Insn::LdImm64 { dst: R5, src: LdImm64Src::Imm, imm: lo, imm_hi: hi }, true));
    }
    for (size, off) in [
        (Size::DW, 8),
        (Size::DW, -8),
        (Size::W, 4),
        (Size::W, 2),
        (Size::H, 32766),
        (Size::B, -512),
        (Size::DW, 32760),
    ] {
        let base = if off < 0 { R10 } else { R2 };
        v.push((ld(size, false, R0, base, off), true));
        v.push((st(size, base, off, Src::Reg(R1)), true));
    }
    for size in [Size::B, Size::H, Size::W] {
        v.push((ld(size, true, R6, R1, 2), true));
    }
    v.push((st(Size::DW, R10, -16, Src::Imm(0)), true));
    v.push((st(Size::W, R1, 4, Src::Imm(-2)), true));
    v.push((st(Size::DW, R11, -8, Src::Reg(R6)), true));
    v.push((st(Size::DW, R11, -24, Src::Imm(5)), true));
    v.push((st(Size::DW, R11, -32, Src::Reg(R6)), true));
    v.push((st(Size::DW, R11, -56, Src::Imm(-1)), true));
    v.push((ld(Size::DW, false, R0, R11, 8), true));
    v.push((ld(Size::DW, false, R0, R11, 32), true));
    v.push((ld(Size::DW, false, R0, R11, 56), true));
    for op in AtomicOp::ALL {
        if op.allows_narrow() {
            for size in [Size::B, Size::H, Size::W, Size::DW] {
                v.push((at(size, op, R1, R2, 0), true));
            }
            v.push((at(Size::DW, op, R1, R2, -8), true));
            continue;
        }
        for lse in [true, false] {
            v.push((at(Size::DW, op, R1, R2, 0), lse));
            v.push((at(Size::W, op, R10, R3, -8), lse));
        }
    }
    for cond in JmpCond::ALL {
        v.push((j(W64, cond, R1, Src::Reg(R2)), true));
        v.push((j(W32, cond, R1, Src::Imm(-5)), true));
    }
    v.push((j(W64, JmpCond::Eq, R1, Src::Imm(0x1000)), true));
    v.push((j(W64, JmpCond::Eq, R1, Src::Imm(0x1001)), true));
    v.push((j(W64, JmpCond::Set, R1, Src::Imm(0x10)), true));
    v.push((j(W64, JmpCond::Set, R1, Src::Imm(0x11)), true));
    v.push((Insn::Ja { off: -1 }, true));
    v.push((Insn::Gotol { imm: -1 }, true));
    v.push((Insn::LdAbs { size: Size::H, imm: 12 }, true));
    v.push((Insn::LdInd { size: Size::W, src: R6, imm: -2 }, true));
    v.push((Insn::LdAbs { size: Size::B, imm: -1 }, true));
    v
}

/// Golden file of the table (blessable: `BLESS=1 cargo test -p kbpf-jit-arm64 --lib`).
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/emit_table.txt");

/// The table as text: per case a header line, then `word  text` per instruction.
fn render_table() -> String {
    let mut out = String::new();
    for (insn, lse) in insns() {
        out.push_str(&format!("{insn:?}{}\n", if lse { "" } else { " [ll/sc]" }));
        for w in words_of(&[insn], 0, lse) {
            out.push_str(&format!("    {w:08x}  {}\n", disasm_word(w.to_le_bytes())));
        }
    }
    out
}

#[test]
fn table_matches_golden() {
    let got = render_table();
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().expect("has a parent")).expect("mkdir");
        std::fs::write(GOLDEN, &got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(GOLDEN).expect("golden file (bless with BLESS=1)");
    if got != want {
        let diff: Vec<String> = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .filter(|(_, (g, w))| g != w)
            .take(20)
            .map(|(i, (g, w))| format!("line {}: got `{g}`, want `{w}`", i + 1))
            .collect();
        panic!("emit table differs from {GOLDEN} (BLESS=1 to update):\n{}", diff.join("\n"));
    }
}

/// Every word of the table must decode with yaxpeax-arm (no `.word` fallbacks).
#[test]
fn table_decodes() {
    let t = render_table();
    assert!(!t.contains(".word"), "undecodable word in:\n{t}");
}

/// The words of the table, disassembled by llvm-mc and assembled again, come back unchanged:
/// every encoding is valid and canonical for LLVM too.
#[test]
#[ignore = "needs llvm-mc-19 on PATH (apt-get install llvm-19; cargo xtask test installs and runs it)"]
fn table_round_trips_through_llvm_mc() {
    let mc = "llvm-mc-19";
    if let Err(e) = std::process::Command::new(mc).arg("--version").output() {
        panic!("{mc}: {e} (apt-get install llvm-19)");
    }
    let mut words: Vec<u32> = Vec::new();
    for (insn, lse) in insns() {
        words.extend(words_of(&[insn], 0, lse));
    }
    let input: String = words
        .iter()
        .map(|w| w.to_le_bytes().iter().map(|b| format!("0x{b:02x} ")).collect::<String>() + "\n")
        .collect();
    let text = run(mc, &["--disassemble", "-triple=aarch64", "-mattr=+lse"], &input);
    assert!(!text.contains("invalid"), "llvm-mc rejected a word:\n{text}");
    let lines: Vec<&str> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('.')).collect();
    assert_eq!(lines.len(), words.len(), "one line per word:\n{text}");
    // PC-relative branches print as offsets that re-assemble relative to their new position,
    // so they are only checked to decode.
    let is_branch = |l: &str| ["b.", "b\t", "cbz", "cbnz", "bl\t"].iter().any(|p| l.starts_with(p));
    let (checked, asm): (Vec<u32>, String) =
        words.iter().zip(&lines).filter(|(_, l)| !is_branch(l)).map(|(w, l)| (*w, format!("{l}\n"))).unzip();
    let enc = run(mc, &["-triple=aarch64", "-mattr=+lse", "-show-encoding"], &asm);
    let mut back = Vec::new();
    for l in enc.lines().filter(|l| l.contains("encoding: [")) {
        let inner = &l[l.find("encoding: [").expect("checked") + 11..];
        let inner = &inner[..inner.find(']').expect("closing bracket")];
        let bytes: Vec<u8> = inner
            .split(',')
            .map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).expect("hex"))
            .collect();
        back.push(if bytes.len() == 4 {
            u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
        } else {
            0
        });
    }
    assert_eq!(back.len(), checked.len(), "llvm-mc re-assembled a different number of words:\n{enc}");
    let bad: Vec<String> = checked
        .iter()
        .zip(&back)
        .zip(asm.lines())
        .filter(|((w, b), _)| w != b)
        .map(|((w, b), l)| format!("{w:08x} -> `{l}` -> {b:08x}"))
        .collect();
    assert!(bad.is_empty(), "llvm-mc round trip changed words:\n{}", bad.join("\n"));
    eprintln!(
        "llvm-mc: {} words round-tripped, {} branches decoded",
        checked.len(),
        words.len() - checked.len()
    );
}

fn run(cmd: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn llvm-mc");
    child.stdin.take().expect("piped").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("llvm-mc runs");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}

/// Helper calls materialise the (host-specific) address in x10 and `blr` it.
#[test]
fn helper_call_shape() {
    let words = words_of(&[Insn::Call(CallTarget::Helper(1))], 0, true);
    let n = words.len();
    assert_eq!(n, 5, "movz, movk, movk, blr, mov: {words:x?}");
    assert_eq!(disasm_word(words[n - 2].to_le_bytes()), "blr x10");
    assert_eq!(disasm_word(words[n - 1].to_le_bytes()), "mov x8, x0");
    let addr = test_registry().helper(1).and_then(|d| d.native).expect("registered").addr() as u64;
    let chunks: Vec<u64> = words[..3].iter().map(|w| ((w >> 5) & 0xffff) as u64).collect();
    assert_eq!(chunks[0] | chunks[1] << 16 | chunks[2] << 32, addr);
    let cx = words_of(&[Insn::Callx { reg: R3 }], 0, true);
    assert_eq!(disasm_word(cx[0].to_le_bytes()), "cmp x2, #0x1");
    assert!(disasm_word(cx[cx.len() - 1].to_le_bytes()).starts_with("b "), "unknown ids abort");
}
