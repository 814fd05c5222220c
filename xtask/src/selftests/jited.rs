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

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;

use kbpf::isa::{Insn, LdImm64Src};
use kbpf::verifier::VerifyOptions;
use kbpf::verifier::fixups::{CtxTarget, xlate};

use super::cache::{self, Cache};
use super::xlated::{TYPES, stem};

/// One native instruction, normalised: its text and its bytes (none when the text was
/// normalised).
type NInsn = (String, Vec<u8>);

/// A program's functions, each a sequence of normalised instructions.
type Code = Vec<Vec<NInsn>>;

/// The result for one program.
struct Row {
    prog_type: String,
    name: String,
    /// `None` = identical; else the class of the first difference.
    class: Option<String>,
}

pub fn main(args: &[String]) -> Result<bool, String> {
    let mut only = Vec::new();
    let mut show: Option<String> = None;
    let mut jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => only = it.next().ok_or("--only needs names")?.split(',').map(String::from).collect(),
            // print both sides of one program (`STEM/PROG`), normalised, side by side
            "--show" => {
                let v = it.next().ok_or("--show needs STEM/PROG")?;
                only = vec![v.split('/').next().unwrap_or_default().to_string()];
                show = Some(v.clone());
            }
            "--jobs" => jobs = it.next().and_then(|j| j.parse().ok()).ok_or("--jobs needs a number")?,
            other => return Err(format!("jited-diff: unknown argument {other}")),
        }
    }
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
    let mut objects: Vec<PathBuf> = fs::read_dir(cache.objs())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .filter(|p| only.is_empty() || only.iter().any(|o| stem(p) == *o))
        .collect();
    objects.sort();
    let rows: Vec<Row> =
        super::parallel(&objects, jobs, |obj| compare_object(&cache, &bin, obj, show.as_deref()))
            .into_iter()
            .flatten()
            .collect();
    let report = summary(&rows);
    print!("{report}");
    let _ = fs::write(cache.root.join("jited-diff.txt"), &report);
    Ok(true)
}

/// The oracle's records of one object (cached until the object or the oracle changes).
fn oracle(cache: &Cache, bin: &Path, obj: &Path) -> Result<Vec<serde_json::Value>, String> {
    let dir = cache.root.join("oracle-jited");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = dir.join(format!("{}.jsonl", stem(obj)));
    if !cache::newer_than(&out, &[obj, bin]) {
        let o = Command::new(bin).arg("--xlated").arg(obj).output().map_err(|e| e.to_string())?;
        fs::write(&out, &o.stdout).map_err(|e| e.to_string())?;
    }
    let text = fs::read_to_string(&out).map_err(|e| e.to_string())?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

fn compare_object(cache: &Cache, bin: &Path, obj: &Path, show: Option<&str>) -> Vec<Row> {
    let Ok(records) = oracle(cache, bin, obj) else { return Vec::new() };
    let wanted: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["outcome"] == "accepted" && r["jited"].is_string())
        .filter(|r| TYPES.iter().any(|t| r["prog_type"] == *t))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(bytes) = fs::read(obj) else { return Vec::new() };
    let load = kbpf::LoadOptions::running_kernel();
    let object = match catch_unwind(AssertUnwindSafe(|| kbpf::open_object(&bytes, &load))) {
        Ok(Ok(o)) => Some(o),
        _ => None,
    };
    let registry = kbpf::kfunc::profiles::testmod();
    let kfuncs = kbpf::kfunc_table(&registry);
    let layout = kbpf::elf::btf::TargetBtf::running_kernel()
        .map(|t| kbpf::kernel_layout(&t.vmlinux))
        .unwrap_or_default();
    wanted
        .into_iter()
        .map(|r| {
            let name = r["prog"].as_str().unwrap_or_default().to_string();
            let prog_type = r["prog_type"].as_str().unwrap_or_default().to_string();
            let kernel = kernel_code(r);
            let class = match &object {
                None => Some("kbpf: the object does not open".to_string()),
                Some(o) => catch_unwind(AssertUnwindSafe(|| {
                    let ours = kbpf_code(o, &name, &registry, &kfuncs, &layout);
                    if show == Some(&format!("{}/{name}", stem(obj))) {
                        print_sides(&kernel, ours.as_ref().unwrap_or(&Vec::new()));
                        if let Err(e) = &ours {
                            println!("kbpf: {e}");
                        }
                    }
                    Ok::<_, String>(first_difference(&kernel, &ours?))
                }))
                .unwrap_or_else(|_| Err("kbpf: panicked".into()))
                .unwrap_or_else(Some),
            };
            Row { prog_type, name: format!("{}/{name}", stem(obj)), class }
        })
        .collect()
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
fn kbpf_code(
    obj: &kbpf::LoadedObject,
    name: &str,
    registry: &kbpf::kfunc::Registry,
    kfuncs: &kbpf::verifier::KfuncTable,
    layout: &kbpf::verifier::fixups::KernelLayout,
) -> Result<Code, String> {
    let p = obj.programs.iter().find(|p| p.name == name).ok_or("kbpf: no such program")?;
    if p.error.is_some() {
        return Err("kbpf: the loader refuses the program".into());
    }
    let module = kbpf::module_from_object(obj, p).map_err(|_| "kbpf: the loader refuses the program")?;
    let prog_type = kbpf::prog_type_for_section(&p.section).map_err(|e| format!("kbpf: {e}"))?;
    let opts = VerifyOptions { prog_type, stack_args: false, kfuncs: kfuncs.clone(), ..Default::default() };
    let w = kbpf::verify_module(&module, opts).witness.ok_or("kbpf: rejected")?;
    let x = xlate(&w, CtxTarget::Kernel, layout).map_err(|_| "kbpf: no translation (see xlated-diff)")?;
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
    let a = backend.assemble_code(&prog, registry, &jit_opts).map_err(|e| {
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

fn summary(rows: &[Row]) -> String {
    let mut out = String::new();
    let same = rows.iter().filter(|r| r.class.is_none()).count();
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    out += &format!(
        "jited-diff (x86_64): {same}/{} programs identical after normalising addresses ({:.1}%)\n",
        rows.len(),
        pct(same, rows.len())
    );
    let compiled = rows.iter().filter(|r| !r.class.as_deref().is_some_and(|c| c.starts_with("kbpf"))).count();
    out += &format!(
        "  of the {compiled} programs kbpf compiles too: {same} identical ({:.1}%)\n",
        pct(same, compiled)
    );
    for t in TYPES {
        let of: Vec<&Row> = rows.iter().filter(|r| r.prog_type == *t).collect();
        let s = of.iter().filter(|r| r.class.is_none()).count();
        out += &format!("  {t:14} {s:5}/{:<5} {:5.1}%\n", of.len(), pct(s, of.len()));
    }
    let mut classes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in rows {
        if let Some(c) = &r.class {
            classes.entry(c.as_str()).or_default().push(&r.name);
        }
    }
    let mut by_count: Vec<_> = classes.into_iter().collect();
    by_count.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    out += "differences (first per program), by class:\n";
    for (c, v) in by_count {
        out += &format!("  {:5}  {c}  (e.g. {})\n", v.len(), v[..v.len().min(2)].join(", "));
    }
    out
}
