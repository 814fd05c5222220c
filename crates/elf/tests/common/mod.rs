//! Shared by the CO-RE tests on real objects: opening a clang object into its BTF, `.BTF.ext`
//! and functions, relocating it in libbpf's order, and comparing relocation logs with libbpf's.

#![allow(dead_code)]

use std::path::Path;

use kbpf_elf::btf::*;
use kbpf_elf::core::{CoreError, CoreResult, Relocator};
use kbpf_isa::RawInsn;
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// One function of an object (a program or a `.text` subprogram, as libbpf splits them).
pub struct Prog {
    pub name: String,
    pub section: String,
    pub off: usize,
    pub insns: Vec<RawInsn>,
}

/// An object's BTF, `.BTF.ext` and functions.
pub struct Obj {
    pub btf: Btf,
    pub ext: BtfExt,
    pub progs: Vec<Prog>,
}

/// Opens `path`; `None` when it has no `.BTF`/`.BTF.ext`.
pub fn open(path: &Path) -> Option<Obj> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let sec = |n: &str| Some(file.section_by_name(n)?.data().unwrap().to_vec());
    let btf = Btf::parse(&sec(".BTF")?).unwrap();
    let ext = BtfExt::parse(&sec(".BTF.ext")?, &btf).unwrap();
    let mut progs = Vec::new();
    for sym in file.symbols().filter(|s| s.kind() == SymbolKind::Text && s.size() > 0) {
        let s = file.section_by_index(sym.section_index().unwrap()).unwrap();
        let bytes = &s.data().unwrap()[sym.address() as usize..(sym.address() + sym.size()) as usize];
        let insns = bytes.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().unwrap())).collect();
        progs.push(Prog {
            name: sym.name().unwrap().to_string(),
            section: s.name().unwrap().to_string(),
            off: sym.address() as usize / 8,
            insns,
        });
    }
    Some(Obj { btf, ext, progs })
}

/// Relocates every function in libbpf's order: sections as `.BTF.ext` lists them, records in
/// file order, each applied to the function holding its instruction (functions of `?`
/// sections are not loaded by default, so libbpf leaves them alone).
pub fn relocate(obj: &mut Obj, target: &TargetBtf) -> Result<Vec<(String, CoreResult)>, CoreError> {
    let mut sections: Vec<String> = Vec::new();
    for r in &obj.ext.core_relos {
        if !sections.contains(&r.section) {
            sections.push(r.section.clone());
        }
    }
    let mut rel = Relocator::new(&obj.btf, target);
    let mut out = Vec::new();
    for s in sections {
        let records: Vec<&CoreRelo> = obj.ext.core_relos_of(&s).collect();
        for (i, r) in records.into_iter().enumerate() {
            let at = r.insn as usize;
            let holder =
                obj.progs.iter_mut().find(|p| p.section == s && (p.off..p.off + p.insns.len()).contains(&at));
            let Some(p) = holder.filter(|p| !p.section.starts_with('?')) else { continue };
            out.push((p.name.clone(), rel.apply_record(&p.name, &mut p.insns, at - p.off, i, r)?));
        }
    }
    Ok(out)
}

/// A CO-RE line of libbpf's debug output (not the poisoning of unresolved kfunc calls).
pub fn relevant(l: &str) -> bool {
    l.starts_with("CO-RE relocating")
        || (l.starts_with("prog '") && l.contains(": relo #") && !l.contains("that calls kfunc"))
}

/// Our lines, in order.
pub fn ours(results: &[(String, CoreResult)]) -> Vec<String> {
    results.iter().flat_map(|(_, r)| r.log.iter().cloned()).filter(|l| relevant(l)).collect()
}

/// libbpf's lines (`libbpf: ` prefixes dropped), in order.
pub fn libbpf_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .map(|l| l.strip_prefix("libbpf: ").unwrap_or(l))
        .filter(|l| relevant(l))
        .map(str::to_string)
        .collect()
}

/// Lines grouped per relocation (a candidate-search line starts its own group); the
/// poisoning lines of one relocation are sorted (libbpf versions differ in which slot of an
/// `ld_imm64` they log first).
pub fn per_relo(lines: Vec<String>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut key = String::new();
    for l in lines {
        let search = l.starts_with("CO-RE relocating");
        let k = l.split(": ").take(2).collect::<Vec<_>>().join(": ");
        if search || k != key || out.is_empty() {
            out.push(Vec::new());
        }
        key = if search { String::new() } else { k };
        out.last_mut().unwrap().push(l);
    }
    for r in &mut out {
        r.sort_by_key(|l| l.contains("substituting"));
        let n = r.iter().filter(|l| l.contains("substituting")).count();
        let len = r.len();
        r[len - n..].sort();
    }
    out
}
