//! libbpf's linker (`bpf_object__collect_prog_relos`, `bpf_object__relocate_data`,
//! `bpf_object__reloc_code`): every function of an executable section is a `bpf_program`; those
//! outside `.text` are entry points, those in `.text` subprograms. Data relocations are applied
//! to each function first, then each entry point gets the subprograms it reaches appended in
//! the order its calls (and `ld_imm64` function references) first reach them, depth first.

use std::collections::HashMap;

use kbpf_isa::{CallTarget, Insn, LdImm64Src, RawInsn};
use object::{Object as _, ObjectSection, ObjectSymbol, RelocationTarget, SectionIndex};

use crate::object_file::ElfError;

/// One function symbol of an executable section (libbpf's `struct bpf_program`).
#[derive(Clone, Debug)]
pub(crate) struct Func {
    pub name: String,
    pub sec_idx: SectionIndex,
    pub sec_name: String,
    /// First slot inside the section.
    pub sec_insn_off: usize,
    pub insns: Vec<RawInsn>,
    /// Relocations by slot index inside the function.
    pub relocs: Vec<(usize, Reloc)>,
    /// Global or weak binding.
    pub global: bool,
    /// Global with hidden or internal visibility: libbpf marks its BTF `FUNC` static.
    pub hidden: bool,
}

/// What a relocation asks for (libbpf's `enum reloc_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reloc {
    /// A call into `.text`: `sym_off` is the symbol's byte offset.
    Call { sym_off: u64 },
    /// `ld_imm64` of a `.text` function's address (`BPF_PSEUDO_FUNC`).
    SubprogAddr { sym_off: u64 },
    /// `ld_imm64` of a map.
    Map(usize),
    /// `ld_imm64` of a global-data address: map and the symbol's byte offset.
    Data { map: usize, sym_off: u64 },
    /// `ld_imm64` of an extern (index into the object's externs).
    ExternLd(usize),
    /// A call of an extern function (kfunc).
    ExternCall(usize),
}

fn reloc_err(section: &str, insn: usize, what: impl Into<String>) -> ElfError {
    ElfError::Reloc { section: section.to_string(), insn, what: what.into() }
}

pub(crate) fn slots_of(data: &[u8]) -> Vec<RawInsn> {
    data.chunks_exact(8)
        .map(|c| RawInsn::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

/// Whether `sec` holds code libbpf turns into programs: `SHT_PROGBITS`, executable, not empty.
pub(crate) fn is_code_section(sec: &object::Section<'_, '_>) -> bool {
    sec.kind() == object::SectionKind::Text && sec.size() > 0
}

/// The functions of every executable section, sorted by section and offset (`cmp_progs`).
pub(crate) fn collect_funcs(
    file: &object::File<'_>,
    text: Option<SectionIndex>,
) -> Result<Vec<Func>, ElfError> {
    let mut funcs = Vec::new();
    for sec in file.sections().filter(is_code_section) {
        let sec_name = sec.name().unwrap_or("").to_string();
        let data = sec.data()?;
        for sym in file.symbols() {
            if sym.section_index() != Some(sec.index()) || sym.kind() != object::SymbolKind::Text {
                continue;
            }
            let name = sym.name().unwrap_or("").to_string();
            let (off, size) = (sym.address(), sym.size());
            if off.checked_add(size).is_none_or(|end| end > data.len() as u64) {
                return Err(ElfError::Section {
                    section: sec_name,
                    what: format!("program {name} at offset {off} crosses section boundary"),
                });
            }
            if off % 8 != 0 || size % 8 != 0 {
                return Err(ElfError::Section {
                    section: sec_name,
                    what: format!("program {name} at offset {off} size {size} is not instruction aligned"),
                });
            }
            let global = !sym.is_local();
            if Some(sec.index()) != text && !global {
                return Err(ElfError::Section {
                    section: sec_name,
                    what: format!("program '{name}' is static and not supported"),
                });
            }
            // st_other's visibility: STV_INTERNAL 1, STV_HIDDEN 2
            let hidden = match sym.flags() {
                object::SymbolFlags::Elf { st_other, .. } => {
                    let vis = st_other.visibility();
                    global && (vis == object::elf::STV_HIDDEN || vis == object::elf::STV_INTERNAL)
                }
                _ => false,
            };
            let insns = slots_of(&data[off as usize..(off + size) as usize]);
            funcs.push(Func {
                name,
                sec_idx: sec.index(),
                sec_name: sec_name.clone(),
                sec_insn_off: (off / 8) as usize,
                insns,
                relocs: Vec::new(),
                global,
                hidden,
            });
        }
    }
    funcs.sort_by_key(|f| (f.sec_idx.0, f.sec_insn_off));
    Ok(funcs)
}

/// The function of section `sec` covering slot `insn` (`find_prog_by_sec_insn`).
pub(crate) fn func_at(funcs: &[Func], sec: SectionIndex, insn: usize) -> Option<usize> {
    funcs
        .iter()
        .position(|f| f.sec_idx == sec && (f.sec_insn_off..f.sec_insn_off + f.insns.len()).contains(&insn))
}

/// How the loader names what relocations point at.
pub(crate) struct Targets<'a> {
    pub text: Option<SectionIndex>,
    /// `.maps` / `maps` sections: (section, symbol offset) → map index.
    pub maps_by_sym: &'a HashMap<(SectionIndex, u64), usize>,
    /// Global-data sections → map index.
    pub data_maps: &'a HashMap<SectionIndex, usize>,
    /// Extern symbols by symbol index → extern index.
    pub externs: &'a HashMap<object::SymbolIndex, usize>,
}

/// Records every relocation of every code section on the function it falls in
/// (`bpf_program__record_reloc`).
pub(crate) fn collect_relocs(
    file: &object::File<'_>,
    funcs: &mut [Func],
    t: &Targets<'_>,
) -> Result<(), ElfError> {
    for sec in file.sections().filter(is_code_section) {
        let sec_name = sec.name().unwrap_or("").to_string();
        for (off, rel) in sec.relocations() {
            let insn_idx = (off / 8) as usize;
            // an overridden weak function's relocations have no program: libbpf skips them
            let Some(fi) = func_at(funcs, sec.index(), insn_idx) else { continue };
            let f = &mut funcs[fi];
            let at = insn_idx - f.sec_insn_off;
            let RelocationTarget::Symbol(si) = rel.target() else {
                return Err(reloc_err(&sec_name, insn_idx, "relocation without a symbol"));
            };
            let sym = file.symbol_by_index(si)?;
            let sym_name = sym.name().unwrap_or("").to_string();
            let insn = f.insns[at];
            let is_call = insn.call_kind().is_some();
            if !is_call && !insn.is_ldimm64() {
                return Err(reloc_err(
                    &sec_name,
                    insn_idx,
                    format!("invalid relo against '{sym_name}' for insns[{at}].code {:#x}", insn.code),
                ));
            }
            if let Some(&ext) = t.externs.get(&si) {
                let r = if is_call { Reloc::ExternCall(ext) } else { Reloc::ExternLd(ext) };
                f.relocs.push((at, r));
                continue;
            }
            if is_call {
                if insn.src != 1 {
                    return Err(reloc_err(
                        &sec_name,
                        insn_idx,
                        format!("incorrect bpf_call opcode against {sym_name}"),
                    ));
                }
                if t.text.is_none() || sym.section_index() != t.text {
                    return Err(reloc_err(
                        &sec_name,
                        insn_idx,
                        format!("bad call relo against '{sym_name}' outside .text"),
                    ));
                }
                if sym.address() % 8 != 0 {
                    return Err(reloc_err(
                        &sec_name,
                        insn_idx,
                        format!("bad call relo offset of '{sym_name}'"),
                    ));
                }
                f.relocs.push((at, Reloc::Call { sym_off: sym.address() }));
                continue;
            }
            let Some(shndx) = sym.section_index() else {
                return Err(reloc_err(
                    &sec_name,
                    insn_idx,
                    format!(
                        "invalid relo against '{sym_name}' in special section; forgot to initialize global var?"
                    ),
                ));
            };
            if Some(shndx) == t.text
                && matches!(sym.kind(), object::SymbolKind::Text | object::SymbolKind::Section)
            {
                if sym.address() % 8 != 0 || insn.imm % 8 != 0 {
                    return Err(reloc_err(
                        &sec_name,
                        insn_idx,
                        format!("bad subprog addr relo against '{sym_name}'"),
                    ));
                }
                // clang leaves src_reg 0: the loader marks the function reference
                f.insns[at].src = LdImm64Src::Func as u8;
                f.relocs.push((at, Reloc::SubprogAddr { sym_off: sym.address() }));
                continue;
            }
            if let Some(&map) = t.data_maps.get(&shndx) {
                f.relocs.push((at, Reloc::Data { map, sym_off: sym.address() }));
                continue;
            }
            if let Some(&map) = t.maps_by_sym.get(&(shndx, sym.address())) {
                f.relocs.push((at, Reloc::Map(map)));
                continue;
            }
            let target = file.section_by_index(shndx).ok().and_then(|s| s.name().ok().map(str::to_string));
            return Err(reloc_err(
                &sec_name,
                insn_idx,
                format!(
                    "unsupported relocation against {sym_name} in section {}",
                    target.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
    Ok(())
}

/// How an extern resolved, for the relocation of its uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExternValue {
    /// A `.kconfig` variable at this offset of the `.kconfig` map (its index).
    Kconfig { map: usize, off: u32 },
    /// A typed ksym or kfunc: BTF id in the target BTF, module BTF index (0 = vmlinux).
    BtfId { id: u32, btf_idx: i16 },
    /// A typeless ksym's address, or an unresolved weak variable (0).
    Addr(u64),
    /// An unresolved weak kfunc: the call is poisoned with libbpf's constant plus this index.
    Unresolved(usize),
}

/// `POISON_CALL_KFUNC_BASE`: libbpf turns a call of an unresolved weak kfunc into a helper call
/// of this id plus the extern's index; the kernel then says `invalid func unknown#2002000000`.
pub const POISON_CALL_KFUNC_BASE: i32 = 2_002_000_000;

/// Applies data and extern relocations to one function (`bpf_object__relocate_data`).
pub(crate) fn relocate_data(f: &mut Func, externs: &[ExternValue]) -> Result<(), ElfError> {
    for &(at, r) in &f.relocs {
        let bad = || reloc_err(&f.sec_name, f.sec_insn_off + at, "ld_imm64 without its second slot");
        match r {
            Reloc::Map(map) => {
                f.insns[at].src = LdImm64Src::MapFd as u8;
                f.insns[at].imm = map as i32;
            }
            Reloc::Data { map, sym_off } => {
                let base = f.insns[at].imm;
                f.insns.get_mut(at + 1).ok_or_else(bad)?.imm = base.wrapping_add(sym_off as i32);
                f.insns[at].src = LdImm64Src::MapValue as u8;
                f.insns[at].imm = map as i32;
            }
            Reloc::ExternLd(e) => match externs.get(e).copied() {
                Some(ExternValue::Kconfig { map, off }) => {
                    f.insns[at].src = LdImm64Src::MapValue as u8;
                    f.insns[at].imm = map as i32;
                    f.insns.get_mut(at + 1).ok_or_else(bad)?.imm = off as i32;
                }
                Some(ExternValue::BtfId { id, btf_idx }) => {
                    f.insns[at].src = LdImm64Src::BtfId as u8;
                    f.insns[at].imm = id as i32;
                    f.insns.get_mut(at + 1).ok_or_else(bad)?.imm = btf_idx as i32;
                }
                Some(v @ (ExternValue::Addr(_) | ExternValue::Unresolved(_))) => {
                    let a = if let ExternValue::Addr(a) = v { a } else { 0 };
                    f.insns[at].imm = a as u32 as i32;
                    f.insns.get_mut(at + 1).ok_or_else(bad)?.imm = (a >> 32) as u32 as i32;
                }
                None => return Err(reloc_err(&f.sec_name, f.sec_insn_off + at, "extern without a value")),
            },
            Reloc::ExternCall(e) => match externs.get(e).copied() {
                Some(ExternValue::BtfId { id, btf_idx }) => {
                    f.insns[at] =
                        Insn::Call(CallTarget::Kfunc { btf_id: id as i32, off: btf_idx }).encode()[0];
                }
                Some(_) => {
                    let poison = POISON_CALL_KFUNC_BASE.wrapping_add(e as i32);
                    f.insns[at] = Insn::Call(CallTarget::Helper(poison)).encode()[0];
                }
                None => return Err(reloc_err(&f.sec_name, f.sec_insn_off + at, "extern without a value")),
            },
            Reloc::SubprogAddr { .. } => {
                if f.insns[at].src != LdImm64Src::Func as u8 {
                    return Err(reloc_err(
                        &f.sec_name,
                        f.sec_insn_off + at,
                        "bad insn for a subprogram address",
                    ));
                }
            }
            Reloc::Call { .. } => {}
        }
    }
    Ok(())
}

/// The slots of `linked` holding a map or map-value `ld_imm64` that no relocation names: the
/// object wrote a literal fd there (inline assembly), which libbpf loads as it is and the
/// kernel looks up in the loading process's file table.
pub(crate) fn literal_fds(funcs: &[Func], linked: &Linked) -> Vec<usize> {
    let mut out = Vec::new();
    for &(fi, off) in &linked.placed {
        let f = &funcs[fi];
        let mut at = 0;
        while at < f.insns.len() {
            let insn = f.insns[at];
            if !insn.is_ldimm64() {
                at += 1;
                continue;
            }
            let map_src = insn.src == LdImm64Src::MapFd as u8 || insn.src == LdImm64Src::MapValue as u8;
            if map_src && f.relocs.iter().all(|(a, _)| *a != at) {
                out.push(off + at);
            }
            at += 2;
        }
    }
    out.sort_unstable();
    out
}

/// An entry point linked with its subprograms: the final slots and, for each function placed
/// in it, where (`(function index, first slot)` in placement order, the entry point first).
pub(crate) struct Linked {
    pub insns: Vec<RawInsn>,
    pub placed: Vec<(usize, usize)>,
}

/// Links entry point `main` (`bpf_object__relocate_calls`), then appends its exception
/// callback `exc_cb` unless a call already placed it.
pub(crate) fn link(
    funcs: &[Func],
    main: usize,
    text: Option<SectionIndex>,
    exc_cb: Option<usize>,
) -> Result<Linked, ElfError> {
    let mut l = Linked { insns: funcs[main].insns.clone(), placed: vec![(main, 0)] };
    reloc_code(funcs, main, 0, text, &mut l, 0)?;
    if let Some(cb) = exc_cb.filter(|cb| l.placed.iter().all(|(i, _)| i != cb)) {
        let off = l.insns.len();
        l.insns.extend_from_slice(&funcs[cb].insns);
        l.placed.push((cb, off));
        reloc_code(funcs, cb, off, text, &mut l, 1)?;
    }
    Ok(l)
}

/// What [`exception_cb`] answers for a program whose main function carries several
/// `exception_callback:` tags (no function is appended; the kernel refuses the load).
pub(crate) const SEVERAL_EXCEPTION_CBS: usize = usize::MAX;

/// The exception callback of entry point `main` (libbpf's `bpf_prog_assign_exc_cb`): a
/// `exception_callback:NAME` decl tag on `main`'s global `FUNC` names a global, non-hidden
/// `.text` function.
pub(crate) fn exception_cb(
    btf: Option<&crate::btf::Btf>,
    funcs: &[Func],
    main: usize,
    text: Option<SectionIndex>,
) -> Result<Option<usize>, ElfError> {
    use crate::btf::{BtfType, Linkage};
    const TAG: &str = "exception_callback:";
    let Some(btf) = btf else { return Ok(None) };
    let f = &funcs[main];
    let err = |what: String| reloc_err(&f.sec_name, f.sec_insn_off, format!("prog '{}': {what}", f.name));
    let mut found = None;
    for (_, t) in btf.iter() {
        let BtfType::DeclTag { name, type_id, component: -1, .. } = t else { continue };
        let Some(cb_name) = name.strip_prefix(TAG) else { continue };
        let Some(BtfType::Func { name: fname, linkage: Linkage::Global, .. }) = btf.get(*type_id) else {
            return Err(err("exception_callback:<value> decl tag not applied to the main program".into()));
        };
        if *fname != f.name {
            continue;
        }
        if found.is_some() {
            // several callbacks for one program: the verifier refuses it, libbpf appends none
            return Ok(Some(SEVERAL_EXCEPTION_CBS));
        }
        if cb_name.is_empty() {
            return Err(err("exception_callback:<value> decl tag contains empty value".into()));
        }
        let mut cands =
            funcs.iter().enumerate().filter(|(_, g)| Some(g.sec_idx) == text && g.name == cb_name);
        let Some((i, g)) = cands.next() else {
            return Err(err(format!("cannot find exception callback '{cb_name}'")));
        };
        if !g.global || g.hidden {
            return Err(err(format!("exception callback {cb_name} must be a global non-hidden function")));
        }
        if cands.next().is_some() {
            return Err(err(format!("multiple subprogs with same name as exception callback '{cb_name}'")));
        }
        found = Some(i);
    }
    Ok(found)
}

fn reloc_code(
    funcs: &[Func],
    fi: usize,
    base: usize,
    text: Option<SectionIndex>,
    l: &mut Linked,
    depth: usize,
) -> Result<(), ElfError> {
    let f = &funcs[fi];
    if depth > funcs.len() {
        return Err(reloc_err(
            &f.sec_name,
            f.sec_insn_off,
            "subprogram calls nest deeper than the functions",
        ));
    }
    for at in 0..f.insns.len() {
        let insn = l.insns[base + at];
        let is_call = insn.call_kind() == Some(kbpf_isa::CallKind::Local);
        let is_func = insn.is_ldimm64() && insn.src == LdImm64Src::Func as u8;
        if !is_call && !is_func {
            continue;
        }
        let relo = f.relocs.iter().find(|(a, _)| *a == at).map(|(_, r)| *r);
        let sec_insn = f.sec_insn_off + at;
        let target = match relo {
            Some(Reloc::ExternCall(_)) => continue,
            Some(Reloc::Call { sym_off }) => ((sym_off / 8) as i64).wrapping_add(insn.imm as i64 + 1),
            Some(Reloc::SubprogAddr { sym_off }) => (sym_off as i64).wrapping_add(insn.imm as i64) / 8,
            Some(_) => return Err(reloc_err(&f.sec_name, sec_insn, "unexpected relo for a subprogram call")),
            None if is_func => return Err(reloc_err(&f.sec_name, sec_insn, "missing subprog addr relo")),
            // a static call inside the same section: relative to its own position
            None => sec_insn as i64 + insn.imm as i64 + 1,
        };
        let in_sec = if relo.is_some() { text } else { Some(f.sec_idx) };
        let sub = match (in_sec, usize::try_from(target)) {
            (Some(sec), Ok(t)) if Some(sec) == text => func_at(funcs, sec, t),
            _ => None,
        };
        let Some(sub) = sub else {
            return Err(reloc_err(
                &f.sec_name,
                sec_insn,
                format!("no .text subprogram at insn {target} for the call (sub-programs must be in .text)"),
            ));
        };
        if funcs[sub].sec_insn_off as i64 != target {
            return Err(reloc_err(
                &f.sec_name,
                sec_insn,
                format!("call into the middle of {}", funcs[sub].name),
            ));
        }
        let sub_off = match l.placed.iter().find(|(i, _)| *i == sub) {
            Some(&(_, off)) => off,
            None => {
                let off = l.insns.len();
                l.insns.extend_from_slice(&funcs[sub].insns);
                l.placed.push((sub, off));
                reloc_code(funcs, sub, off, text, l, depth + 1)?;
                off
            }
        };
        l.insns[base + at].imm = (sub_off as i64 - (base + at) as i64 - 1) as i32;
    }
    Ok(())
}
