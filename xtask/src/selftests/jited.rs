//! `cargo xtask jited-diff`: kbpf's x86_64 code for the translated programs (`kbpf dump jited`)
//! against the kernel's JIT (`bpf_prog_info.jited_prog_insns`, what `bpftool prog dump jited`
//! disassembles) for the selftests programs the running kernel loads, of the program types kbpf
//! models.
//!
//! The oracle is `jited_load --xlated` (libbpf_load plus the image and its function lengths;
//! records cached in `oracle-jited/`). Each function is disassembled on its own and compared
//! instruction by instruction, bytes and all, after normalising what differs by where the code
//! lives: a call or jump leaving the function (helpers, kernel functions, other BPF functions,
//! the return thunk) keeps only its mnemonic, a 64-bit immediate (map and kernel addresses)
//! becomes `<imm>`, a `%gs:` per-CPU address `<percpu>`. The report counts identical programs and classes the first difference of
//! the others by where it is (the first instructions of a function, else its body) and the two
//! mnemonics.

use kbpf::isa::{Insn, LdImm64Src};
use kbpf::verifier::fixups::{CtxTarget, xlate};

use super::cache::{self, Cache};
use super::progdiff::{self, Kbpf, ProgDiff};

/// One native instruction, normalised: its text and its bytes (none when the text was
/// normalised).
type NInsn = (String, Vec<u8>);

/// A program's functions, each a sequence of normalised instructions.
type Code = Vec<Vec<NInsn>>;

pub fn main(args: &[String]) -> Result<bool, String> {
    if std::env::consts::ARCH != "x86_64" {
        println!("skipped: jited-diff (the kernel's JIT here is not x86_64's)");
        return Ok(true);
    }
    let cache = Cache::new(super::cache_dir());
    if let Some(why) = cache::missing() {
        println!("skipped: jited-diff ({why})");
        return Ok(true);
    }
    cache.prepare()?;
    let bin = cache.jited_oracle_bin()?;
    progdiff::run(&Jited, args, &cache, &bin)
}

struct Jited;

impl ProgDiff for Jited {
    type Side = Code;
    const NAME: &'static str = "jited-diff (x86_64)";
    const ORACLE_DIR: &'static str = "oracle-jited";
    const FIELD: &'static str = "jited";
    const HEADLINE_NOTE: &'static str = " after normalising addresses";
    const KBPF_DOES: &'static str = "compiles";

    fn kernel(&self, record: &serde_json::Value) -> Code {
        kernel_code(record)
    }

    fn kbpf(&self, cx: &Kbpf, obj: &kbpf::LoadedObject, name: &str) -> Result<Code, String> {
        kbpf_code(obj, name, cx)
    }

    fn first_difference(&self, kernel: &Code, ours: &Code) -> Option<String> {
        first_difference(kernel, ours)
    }

    fn print_sides(&self, kernel: &Code, ours: &Code) {
        print_sides(kernel, ours)
    }

    fn excluded(class: &str) -> bool {
        class.starts_with("kbpf")
    }

    fn empty() -> Code {
        Vec::new()
    }
}

/// The kernel's image, split into its functions.
fn kernel_code(r: &serde_json::Value) -> Code {
    let hex = r["jited"].as_str().unwrap_or_default();
    let code: Vec<u8> =
        (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
    let lens: Vec<usize> = r["jited_func_lens"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_u64().map(|l| l as usize))
        .collect();
    let mut out = Vec::new();
    let mut at = 0;
    for len in lens {
        let Some(f) = code.get(at..at + len) else { break };
        out.push(normalise(f));
        at += len;
    }
    out
}

/// kbpf's code for program `name`: what `kbpf dump jited` compiles (the translated program with
/// the verifier's frames), split into its functions.
fn kbpf_code(obj: &kbpf::LoadedObject, name: &str, cx: &Kbpf) -> Result<Code, String> {
    let (module, w) = progdiff::verified(obj, name, cx)?;
    let x = xlate(&w, CtxTarget::Kernel, &cx.layout).map_err(|_| "kbpf: no translation (see xlated-diff)")?;
    let prog = x.program().map_err(|e| format!("kbpf: {e}"))?;
    let stack_depth = kbpf::jit::verifier_frames(&prog, w.stack_depth())
        .map_or(kbpf::jit::StackDepth::Inferred, kbpf::jit::StackDepth::Verifier);
    let jit_opts = kbpf::jit::JitOptions { stack_depth, kernel_image: true, ..Default::default() };
    let maps = kbpf::create_maps(&module).map_err(|e| format!("kbpf: {e}"))?;
    let prog = kbpf::resolve_maps(&prog, &maps).map_err(|e| format!("kbpf: {e}"))?;
    // callback references are addresses in the kernel's image too
    let prog = kbpf::isa::Program::new(
        prog.insns()
            .iter()
            .map(|i| match *i {
                Insn::LdImm64 { dst, src: LdImm64Src::Func, .. } => {
                    Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: 0, imm_hi: -1 }
                }
                other => other,
            })
            .collect(),
    )
    .map_err(|e| format!("kbpf: {e}"))?;
    let backend = kbpf::backend(kbpf::Arch::X86_64);
    let a = backend.assemble_code(&prog, &cx.registry, &jit_opts).map_err(|e| {
        // the class, not the instance: drop the instruction index and names
        let t = e.to_string();
        let t = t.split_once(": ").map_or(t.clone(), |(_, rest)| rest.to_string());
        format!("kbpf jit: {}", t.split([' ', '#']).take(3).collect::<Vec<_>>().join(" "))
    })?;
    let mut out = Vec::new();
    for (f, &start) in a.func_offsets.iter().enumerate() {
        let end = a.func_offsets.get(f + 1).map_or(a.code.len(), |&e| e as usize);
        out.push(normalise(a.code.get(start as usize..end).unwrap_or_default()));
    }
    Ok(out)
}

/// One function disassembled, with what depends on where code and data live normalised.
fn normalise(code: &[u8]) -> Vec<NInsn> {
    kbpf::backend(kbpf::Arch::X86_64)
        .disasm_objdump(code)
        .into_iter()
        .map(|(off, len, text)| {
            let bytes = code[off..off + len].to_vec();
            let mnemonic = text.split_whitespace().next().unwrap_or_default().to_string();
            let leaves = (mnemonic.starts_with('j') || mnemonic == "call")
                && text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok())
                    .is_some_and(|t| t >= code.len() as u64);
            if leaves {
                (format!("{mnemonic} <out>"), Vec::new())
            } else if text.contains("%gs:") {
                // a per-CPU variable's address (`this_cpu_off`)
                let reg = text.rsplit(',').next().unwrap_or_default();
                (format!("{mnemonic} %gs:<percpu>,{reg}"), Vec::new())
            } else if mnemonic == "movabs" {
                let reg = text.rsplit(',').next().unwrap_or_default();
                (format!("movabs $<imm>,{reg}"), Vec::new())
            } else {
                (text, bytes)
            }
        })
        .collect()
}

fn print_sides(kernel: &Code, ours: &Code) {
    for f in 0..kernel.len().max(ours.len()) {
        println!("function {f}: {:<56} kbpf", "kernel");
        let (k, o) = (kernel.get(f).map_or(&[][..], |v| v), ours.get(f).map_or(&[][..], |v| v));
        for i in 0..k.len().max(o.len()) {
            let t = |x: Option<&NInsn>| {
                x.map_or(String::new(), |x| {
                    let hex: Vec<String> = x.1.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{} [{}]", x.0, hex.join(" "))
                })
            };
            let mark = if k.get(i) == o.get(i) { ' ' } else { '*' };
            println!("{i:>4}{mark} {:<64} {}", t(k.get(i)), t(o.get(i)));
        }
    }
}

/// Where the first difference is and the two mnemonics there.
fn first_difference(kernel: &Code, ours: &Code) -> Option<String> {
    if kernel.len() != ours.len() {
        return Some(format!("functions: kernel {} / kbpf {}", kernel.len(), ours.len()));
    }
    for (k, o) in kernel.iter().zip(ours) {
        let Some(i) = (0..k.len().max(o.len())).find(|&i| k.get(i) != o.get(i)) else { continue };
        let mn = |x: Option<&NInsn>| {
            x.map_or("(end)".to_string(), |x| x.0.split_whitespace().next().unwrap_or_default().to_string())
        };
        let (km, om) = (mn(k.get(i)), mn(o.get(i)));
        let place = if i < 6 { "entry" } else { "body" };
        return Some(if km == om {
            format!("{place}: `{km}` operands or encoding")
        } else {
            format!("{place}: kernel `{km}` / kbpf `{om}`")
        });
    }
    None
}
