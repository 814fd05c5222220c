//! `cargo xtask xlated-diff`: kbpf's translated programs (`kbpf dump xlated`) against the
//! kernel's (`bpf_prog_info.xlated_prog_insns`, what `bpftool prog dump xlated` prints) for the
//! selftests programs the running kernel loads, of the program types kbpf models.
//!
//! The oracle is `libbpf_load --xlated` (records cached in `oracle-xlated/` of the selftests
//! cache). Both sides are normalised before the comparison: map references lose their ids
//! (the kernel's map ids, kbpf's map indices), callback references their addresses, and calls
//! their immediates, which are compared by the kernel symbol they reach instead (the kernel's
//! from kallsyms, kbpf's from its fixups).

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;

use kbpf::isa::{BpfFunc, CallTarget, Insn, RawInsn};
use kbpf::verifier::fixups::{CtxTarget, xlate};
use kbpf::verifier::{CallKind, VerifyOptions};

use super::cache::{self, Cache};

/// The program types compared (those kbpf models), by libbpf's names.
pub(super) const TYPES: &[&str] = &["socket_filter", "sched_cls", "xdp", "syscall"];

/// One normalised instruction slot and the symbol a call reaches.
type Norm = Vec<(RawInsn, Option<String>)>;

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
            other => return Err(format!("xlated-diff: unknown argument {other}")),
        }
    }
    let cache = Cache::new(super::cache_dir());
    if let Some(why) = cache::missing() {
        println!("skipped: xlated-diff ({why})");
        return Ok(true);
    }
    cache.prepare()?;
    let mut objects: Vec<PathBuf> = fs::read_dir(cache.objs())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .filter(|p| only.is_empty() || only.iter().any(|o| stem(p) == *o))
        .collect();
    objects.sort();
    let rows: Vec<Row> = super::parallel(&objects, jobs, |obj| compare_object(&cache, obj, show.as_deref()))
        .into_iter()
        .flatten()
        .collect();
    let report = summary(&rows);
    print!("{report}");
    let _ = fs::write(cache.root.join("xlated-diff.txt"), &report);
    Ok(true)
}

pub(super) fn stem(p: &Path) -> String {
    p.file_name().map(|s| s.to_string_lossy().trim_end_matches(".bpf.o").to_string()).unwrap_or_default()
}

/// The oracle's records of one object (cached until the object or the oracle changes).
fn oracle(cache: &Cache, obj: &Path) -> Result<Vec<serde_json::Value>, String> {
    let dir = cache.root.join("oracle-xlated");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = dir.join(format!("{}.jsonl", stem(obj)));
    let bin = cache.oracle_bin();
    if !cache::newer_than(&out, &[obj, &bin]) {
        let o = Command::new(&bin).arg("--xlated").arg(obj).output().map_err(|e| e.to_string())?;
        fs::write(&out, &o.stdout).map_err(|e| e.to_string())?;
    }
    let text = fs::read_to_string(&out).map_err(|e| e.to_string())?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

fn compare_object(cache: &Cache, obj: &Path, show: Option<&str>) -> Vec<Row> {
    let Ok(records) = oracle(cache, obj) else { return Vec::new() };
    let wanted: Vec<&serde_json::Value> = records
        .iter()
        // a program libbpf failed on after the kernel accepted it (a prog array slot) has no
        // translated instructions in the record: nothing to compare
        .filter(|r| r["outcome"] == "accepted" && r["xlated"].is_string())
        .filter(|r| TYPES.iter().any(|t| r["prog_type"] == *t))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(bytes) = fs::read(obj) else { return Vec::new() };
    let load = kbpf::LoadOptions::running_kernel();
    let opened = catch_unwind(AssertUnwindSafe(|| kbpf::open_object(&bytes, &load)));
    let object = match opened {
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
            let kernel = kernel_norm(r);
            let class = match &object {
                None => Some("kbpf: the object does not open".to_string()),
                Some(o) => catch_unwind(AssertUnwindSafe(|| {
                    let ours = kbpf_norm(o, &name, &kfuncs, &layout);
                    if show == Some(&format!("{}/{name}", stem(obj))) {
                        print_sides(&kernel, ours.as_ref().unwrap_or(&Vec::new()));
                        if let Err(e) = &ours {
                            println!("kbpf: {e}");
                        }
                    }
                    let ours = ours?;
                    Ok::<_, String>(first_difference(&kernel, &ours))
                }))
                .unwrap_or_else(|_| Err("kbpf: panicked".into()))
                .unwrap_or_else(Some),
            };
            Row { prog_type, name: format!("{}/{name}", stem(obj)), class }
        })
        .collect()
}

fn slots_of(hex: &str) -> Vec<RawInsn> {
    let bytes: Vec<u8> =
        (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
    bytes.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().unwrap_or([0; 8]))).collect()
}

/// The kernel's instructions, normalised.
fn kernel_norm(r: &serde_json::Value) -> Norm {
    let slots = slots_of(r["xlated"].as_str().unwrap_or_default());
    let mut names: BTreeMap<usize, String> = BTreeMap::new();
    for c in r["xlated_calls"].as_array().into_iter().flatten() {
        if let (Some(i), Some(n)) = (c[0].as_u64(), c[1].as_str()) {
            names.insert(i as usize, n.to_string());
        }
    }
    let mut out: Norm = slots.into_iter().map(|s| (s, None)).collect();
    for (i, (s, name)) in out.iter_mut().enumerate() {
        if s.code == 0x85 && (s.src == 0 || s.src == 2) {
            *name = names.get(&i).cloned().or_else(|| BpfFunc::from_id(s.imm).map(|f| f.name().to_string()));
        }
    }
    normalise(out)
}

/// kbpf's translation of program `name`, normalised.
fn kbpf_norm(
    obj: &kbpf::LoadedObject,
    name: &str,
    kfuncs: &kbpf::verifier::KfuncTable,
    layout: &kbpf::verifier::fixups::KernelLayout,
) -> Result<Norm, String> {
    let p = obj.programs.iter().find(|p| p.name == name).ok_or("kbpf: no such program")?;
    if p.error.is_some() {
        return Err("kbpf: the loader refuses the program".into());
    }
    let module = kbpf::module_from_object(obj, p).map_err(|_| "kbpf: the loader refuses the program")?;
    let prog_type = kbpf::prog_type_for_section(&p.section).map_err(|e| format!("kbpf: {e}"))?;
    let opts = VerifyOptions { prog_type, stack_args: false, kfuncs: kfuncs.clone(), ..Default::default() };
    let out = kbpf::verify_module(&module, opts);
    let w = out.witness.ok_or("kbpf: rejected")?;
    let x = xlate(&w, CtxTarget::Kernel, layout).map_err(|e| {
        let t = e.to_string();
        if std::env::var_os("KBPF_XLATED_VERBOSE").is_some() {
            return format!("kbpf: {t}");
        }
        // the class, not the instance: drop the slot and the instruction text
        let t = t.split_once(": ").map_or(t.clone(), |(_, rest)| rest.to_string());
        format!("kbpf: {}", t.split(" `").next().unwrap_or(&t))
    })?;
    let slots = x.kernel_slots();
    let mut out: Norm = Vec::new();
    for i in &x.insns {
        let name = match (i.insn, i.call) {
            (_, Some(c)) => Some(c.name().to_string()),
            (Insn::Call(CallTarget::Kfunc { btf_id, .. }), _) => {
                w.calls().iter().find(|c| c.kind == CallKind::Kfunc && c.id == btf_id).map(|c| c.name.clone())
            }
            _ => None,
        };
        for k in 0..i.insn.slots() {
            out.push((slots[out.len()], if k == 0 { name.clone() } else { None }));
        }
    }
    Ok(normalise(out))
}

/// Map ids, callback addresses, call immediates, per-CPU variable addresses, the program
/// address the timer helper gets and other kernel addresses (`ld_imm64` of a value in the
/// kernel's half of the address space) out.
fn normalise(mut n: Norm) -> Norm {
    let mut i = 0;
    while i < n.len() {
        let s = n[i].0;
        if s.code == 0x18 {
            // a kernel address (a `btf_struct_meta`, `&jiffies`): kbpf writes a stand-in
            if s.src == 0
                && let Some(hi) = n.get(i + 1).map(|t| t.0.imm as u32)
                && hi >= 0xffff_8000
            {
                let (lo, hi) = kbpf::verifier::fixups::KERNEL_ADDRESS;
                n[i].0.imm = lo;
                if let Some(t) = n.get_mut(i + 1) {
                    t.0.imm = hi;
                }
            }
            match s.src {
                1 | 2 | 5 | 6 => n[i].0.imm = 0,
                4 => {
                    n[i].0.imm = 0;
                    if let Some(t) = n.get_mut(i + 1) {
                        t.0.imm = 0;
                    }
                }
                _ => {}
            }
            i += 2;
            continue;
        }
        // a per-CPU variable's address (`bpf_get_smp_processor_id`): the kernel's is its link
        // address, kbpf's its offset in the per-CPU section
        if s.code == 0xbf && s.off == -1 && i >= 1 && n[i - 1].0.code == 0xb7 && n[i - 1].0.dst == s.src {
            n[i - 1].0.imm = 0;
        }
        if s.code == 0x85 && (s.src == 0 || s.src == 2) {
            n[i].0.imm = 0;
            n[i].0.off = 0;
            // `bpf_timer_set_callback` gets the program's `aux` address in r3 just before
            if n[i].1.as_deref() == Some("bpf_timer_set_callback")
                && i >= 2
                && n[i - 2].0.code == 0x18
                && n[i - 2].0.src == 0
                && n[i - 2].0.dst == 3
            {
                n[i - 2].0.imm = 0;
                n[i - 1].0.imm = 0;
            }
        }
        i += 1;
    }
    n
}

/// One slot as text (the kernel's dialect; raw fields where it does not decode alone).
fn slot_text(n: &Norm, i: usize) -> String {
    let Some((s, name)) = n.get(i) else { return String::new() };
    let next = n.get(i + 1).map(|x| x.0);
    let text = match kbpf::isa::decode_insn(*s, next) {
        Ok(insn) => kbpf::isa::disasm::format_insn(&insn, i, kbpf::isa::disasm::Syntax::Kernel),
        Err(_) => format!("code {:02x} dst {} src {} off {} imm {}", s.code, s.dst, s.src, s.off, s.imm),
    };
    match name {
        Some(n) => format!("{text} <{n}>"),
        None => text,
    }
}

fn print_sides(kernel: &Norm, ours: &Norm) {
    println!("{:>4}  {:<48} kbpf", "slot", "kernel");
    for i in 0..kernel.len().max(ours.len()) {
        let (k, o) = (slot_text(kernel, i), slot_text(ours, i));
        let mark = if kernel.get(i) == ours.get(i) { ' ' } else { '*' };
        println!("{i:>4}{mark} {k:<48} {o}");
    }
}

fn first_difference(kernel: &Norm, ours: &Norm) -> Option<String> {
    let i = (0..kernel.len().max(ours.len())).find(|&i| kernel.get(i) != ours.get(i))?;
    Some(match (kernel.get(i), ours.get(i)) {
        (Some((k, Some(kn))), Some((_, Some(on)))) if kn != on => format!("call {kn} (kbpf: {on})"),
        (Some((k, _)), Some((o, _))) if k.code == o.code => format!("operands of code {:02x}", k.code),
        (Some((k, _)), Some((o, _))) => format!("code {:02x} (kbpf: {:02x})", k.code, o.code),
        _ => "length".to_string(),
    })
}

fn summary(rows: &[Row]) -> String {
    let mut out = String::new();
    let same = rows.iter().filter(|r| r.class.is_none()).count();
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    out +=
        &format!("xlated-diff: {same}/{} programs identical ({:.1}%)\n", rows.len(), pct(same, rows.len()));
    // kbpf's verdict disagreements are the verifier's business: the fixups' figure leaves them out
    let verdict = |r: &Row| r.class.as_deref().is_some_and(|c| c == "kbpf: rejected" || c.contains("loader"));
    let both = rows.iter().filter(|r| !verdict(r)).count();
    out +=
        &format!("  of the {both} programs kbpf accepts too: {same} identical ({:.1}%)\n", pct(same, both));
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
