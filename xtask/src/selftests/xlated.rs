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

use kbpf::isa::{BpfFunc, CallTarget, Insn, RawInsn};
use kbpf::verifier::CallKind;
use kbpf::verifier::fixups::{CtxTarget, xlate};

use super::cache::{self, Cache};
use super::progdiff::{self, Kbpf, ProgDiff};

/// One normalised instruction slot and the symbol a call reaches.
type Norm = Vec<(RawInsn, Option<String>)>;

pub fn main(args: &[String]) -> Result<bool, String> {
    let cache = Cache::new(super::cache_dir());
    if let Some(why) = cache::missing() {
        println!("skipped: xlated-diff ({why})");
        return Ok(true);
    }
    cache.prepare()?;
    progdiff::run(&Xlated, args, &cache, &cache.oracle_bin())
}

struct Xlated;

impl ProgDiff for Xlated {
    type Side = Norm;
    const NAME: &'static str = "xlated-diff";
    const ORACLE_DIR: &'static str = "oracle-xlated";
    const FIELD: &'static str = "xlated";
    const KBPF_DOES: &'static str = "accepts";

    fn kernel(&self, record: &serde_json::Value) -> Norm {
        kernel_norm(record)
    }

    fn kbpf(&self, cx: &Kbpf, obj: &kbpf::LoadedObject, name: &str) -> Result<Norm, String> {
        kbpf_norm(obj, name, cx)
    }

    fn first_difference(&self, kernel: &Norm, ours: &Norm) -> Option<String> {
        first_difference(kernel, ours)
    }

    fn print_sides(&self, kernel: &Norm, ours: &Norm) {
        print_sides(kernel, ours)
    }

    /// kbpf's verdict disagreements are the verifier's business: the fixups' figure leaves
    /// them out.
    fn excluded(class: &str) -> bool {
        class == "kbpf: rejected" || class.contains("loader")
    }

    fn empty() -> Norm {
        Vec::new()
    }
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
fn kbpf_norm(obj: &kbpf::LoadedObject, name: &str, cx: &Kbpf) -> Result<Norm, String> {
    let (_, w) = progdiff::verified(obj, name, cx)?;
    let x = xlate(&w, CtxTarget::Kernel, &cx.layout).map_err(|e| {
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
