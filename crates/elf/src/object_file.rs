//! Programs, maps and functions out of a BPF ELF object (libbpf's conventions).

use std::collections::HashMap;

use kbpf_isa::{FuncDecl, LdImm64Src, RawInsn};
use object::{Object as _, ObjectSection, ObjectSymbol, RelocationTarget, SectionIndex};
use thiserror::Error;

use crate::btf::{self, Btf, BtfError, BtfType, Linkage};

/// Why an object could not be loaded.
#[derive(Debug, Error)]
pub enum ElfError {
    /// Not an ELF file, or a malformed one.
    #[error("ELF: {0}")]
    Object(#[from] object::Error),
    /// Not a BPF object.
    #[error("ELF: machine is not BPF")]
    NotBpf,
    /// Bad BTF.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// A relocation kbpf does not understand.
    #[error("ELF: section {section}: relocation at insn {insn}: {what}")]
    Reloc {
        /// Section name.
        section: String,
        /// Slot index.
        insn: usize,
        /// What is wrong.
        what: String,
    },
    /// A BTF-defined map whose shape is not understood.
    #[error("ELF: map {0}: {1}")]
    Map(String, String),
    /// A map the kernel would refuse to create (E2BIG): sizes beyond its limits.
    #[error("ELF: map {map}: {what}")]
    MapLimit {
        /// Map name.
        map: String,
        /// Which limit.
        what: String,
    },
    /// A section, or a symbol in it, whose size or offset does not fit the file or the
    /// kernel's limits.
    #[error("ELF: section {section}: {what}")]
    Section {
        /// Section name.
        section: String,
        /// What is wrong.
        what: String,
    },
}

/// A map the object defines (BTF `.maps`, legacy `maps`, or a global-data section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// Name (`.rodata` etc. for global data).
    pub name: String,
    /// `bpf_map_type` number (1 hash, 2 array, ...).
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Map flags.
    pub flags: u32,
    /// Initial contents of a global-data map (`None` for `.bss`: all zero, never materialised).
    pub data: Option<Vec<u8>>,
    /// Initial slots of a prog array (`values = { [i] = &prog }` in a BTF-defined map): index
    /// and program (function) name.
    pub progs: Vec<(u32, String)>,
    /// Byte offset of the value's `struct bpf_timer` (BTF-defined maps, `btf_find_field`).
    pub timer_off: Option<u32>,
}

/// One loadable program, linked with the subprograms it calls.
#[derive(Clone, Debug)]
pub struct ElfProgram {
    /// Function symbol name.
    pub name: String,
    /// Section name (`socket`, `xdp`, `tc`, ...), which implies the program type.
    pub section: String,
    /// Linked instruction slots. `ld_imm64` of maps carries `src = 1` (map) or `2` (map value)
    /// and the map's index in [`Object::maps`] as `imm`.
    pub slots: Vec<RawInsn>,
    /// Functions with their argument counts (from BTF), main program first.
    pub funcs: Vec<FuncDecl>,
    /// `.BTF.ext` func_info as the kernel gets it: (slot of the function's first instruction,
    /// `FUNC` type id), sorted by slot.
    pub func_info: Vec<(usize, u32)>,
    /// `.BTF.ext` line_info of the linked program, `insn` relative to its first slot, sorted.
    pub line_info: Vec<btf::LineInfo>,
}

/// A parsed object.
#[derive(Clone, Debug)]
pub struct Object {
    /// Programs in section order.
    pub programs: Vec<ElfProgram>,
    /// Maps, indexed by the `imm` of map references.
    pub maps: Vec<MapDef>,
    /// Contents of the `license` section.
    pub license: String,
    /// The object's BTF, if any.
    pub btf: Option<Btf>,
    /// The `.BTF` section's bytes as a loader hands them to `BPF_BTF_LOAD` (DATASECs sized).
    pub btf_raw: Option<Vec<u8>>,
}

const DATA_SECTIONS: [&str; 3] = [".rodata", ".data", ".bss"];

fn slots_of(data: &[u8]) -> Vec<RawInsn> {
    data.chunks_exact(8)
        .map(|c| RawInsn::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

impl Object {
    /// Parses an ELF object.
    pub fn parse(bytes: &[u8]) -> Result<Object, ElfError> {
        let file = object::File::parse(bytes)?;
        if file.architecture() != object::Architecture::Bpf {
            return Err(ElfError::NotBpf);
        }
        let section_data =
            |name: &str| -> Option<&[u8]> { file.section_by_name(name).and_then(|s| s.data().ok()) };
        let btf_raw = section_data(".BTF");
        let btf = btf_raw.map(Btf::parse).transpose()?;
        let func_info = match (btf_raw, section_data(".BTF.ext")) {
            (Some(b), Some(ext)) => btf::parse_func_info(ext, btf::strings(b)?)?,
            _ => Vec::new(),
        };
        let line_info = match (btf.as_ref(), section_data(".BTF.ext")) {
            (Some(b), Some(ext)) => btf::BtfExt::parse(ext, b).map_err(BtfError::from)?.line_info,
            _ => Vec::new(),
        };
        let license = section_data("license")
            .map(|d| String::from_utf8_lossy(d.split(|&b| b == 0).next().unwrap_or(&[])).into_owned())
            .unwrap_or_default();

        let mut maps = Vec::new();
        let mut map_syms: HashMap<String, usize> = HashMap::new();
        let mut data_maps: HashMap<SectionIndex, usize> = HashMap::new();
        load_maps(&file, btf.as_ref(), &mut maps, &mut map_syms, &mut data_maps)?;

        let text = file.section_by_name(".text");
        let text_slots = text.as_ref().and_then(|s| s.data().ok()).map(slots_of).unwrap_or_default();
        let text_idx = text.as_ref().map(|s| s.index());

        let mut programs = Vec::new();
        for sec in file.sections() {
            let Ok(name) = sec.name() else { continue };
            if Some(sec.index()) == text_idx || sec.kind() != object::SectionKind::Text || sec.size() == 0 {
                continue;
            }
            let data = sec.data()?;
            for sym in file
                .symbols()
                .filter(|s| s.section_index() == Some(sec.index()) && s.kind() == object::SymbolKind::Text)
            {
                let (start, len) = symbol_range(name, &sym, data.len())?;
                let prog = link_program(
                    &file,
                    &sec,
                    start,
                    len,
                    &text_slots,
                    text_idx,
                    &map_syms,
                    &data_maps,
                    btf.as_ref(),
                    &func_info,
                    &line_info,
                )?;
                programs.push(ElfProgram {
                    name: sym.name().unwrap_or("").to_string(),
                    section: name.to_string(),
                    ..prog
                });
            }
        }
        let btf_raw = btf_raw.map(|b| loadable_btf(&file, b)).transpose()?;
        Ok(Object { programs, maps, license, btf, btf_raw })
    }
}

/// The `.BTF` bytes as libbpf loads them: DATASEC sizes and variable offsets filled in from the
/// ELF sections and symbols.
fn loadable_btf(file: &object::File<'_>, raw: &[u8]) -> Result<Vec<u8>, ElfError> {
    let section_size = |name: &str| file.section_by_name(name).and_then(|s| u32::try_from(s.size()).ok());
    let symbol_offset = |sec: &str, var: &str| {
        let idx = file.section_by_name(sec)?.index();
        let sym = file.symbols().find(|s| s.section_index() == Some(idx) && s.name() == Ok(var))?;
        u32::try_from(sym.address()).ok()
    };
    Ok(crate::btf_fixup::fixup_datasecs(raw, section_size, symbol_offset)?)
}

fn load_maps(
    file: &object::File<'_>,
    btf: Option<&Btf>,
    maps: &mut Vec<MapDef>,
    map_syms: &mut HashMap<String, usize>,
    data_maps: &mut HashMap<SectionIndex, usize>,
) -> Result<(), ElfError> {
    if let (Some(sec), Some(btf)) = (file.section_by_name(".maps"), btf) {
        // BTF-defined maps: the DATASEC `.maps` lists one VAR per map, whose struct members
        // `type`, `max_entries` (pointers to arrays whose length is the value) and `key`/`value`
        // (pointers to the types) describe it.
        for (_, t) in btf.iter() {
            let BtfType::DataSec { name, vars, .. } = t else { continue };
            if name != ".maps" {
                continue;
            }
            for &(var, var_off, var_size) in vars {
                let Some(BtfType::Var { name, type_id, .. }) = btf.get(var) else { continue };
                let (mut def, values_off) = btf_map(btf, name, *type_id)?;
                if let Some(values_off) = values_off {
                    // `values` initializers are relocations in `.maps` against the programs.
                    for (at, rel) in sec.relocations() {
                        let Some(rel_off) = at.checked_sub(var_off as u64 + values_off as u64) else {
                            continue;
                        };
                        if at >= var_off as u64 + var_size as u64 {
                            continue;
                        }
                        let object::RelocationTarget::Symbol(si) = rel.target() else { continue };
                        let Ok(sym) = file.symbol_by_index(si) else { continue };
                        def.progs.push(((rel_off / 8) as u32, sym.name().unwrap_or("").to_string()));
                    }
                }
                crate::limits::check_map(&def)?;
                map_syms.insert(name.clone(), maps.len());
                maps.push(def);
            }
        }
    }
    if let Some(sec) = file.section_by_name("maps") {
        // Legacy `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }`.
        let data = sec.data()?;
        for sym in file.symbols().filter(|s| s.section_index() == Some(sec.index())) {
            let off = sym.address() as usize;
            let word = |i: usize| {
                data.get(off + 4 * i..off + 4 * i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            };
            let name = sym.name().unwrap_or("").to_string();
            let (Some(t), Some(k), Some(v), Some(m)) = (word(0), word(1), word(2), word(3)) else {
                return Err(ElfError::Map(name, "truncated bpf_map_def".into()));
            };
            let def = MapDef {
                name: name.clone(),
                map_type: t,
                key_size: k,
                value_size: v,
                max_entries: m,
                flags: word(4).unwrap_or(0),
                data: None,
                progs: Vec::new(),
                timer_off: None,
            };
            crate::limits::check_map(&def)?;
            map_syms.insert(name, maps.len());
            maps.push(def);
        }
    }
    for sec in file.sections() {
        let Ok(name) = sec.name() else { continue };
        if DATA_SECTIONS.iter().any(|d| name == *d || name.starts_with(&format!("{d}."))) && sec.size() > 0 {
            // `.bss` has no bytes in the file (zeroes, left implicit); the others are stored whole
            let bss = name.starts_with(".bss");
            let stored = if bss { None } else { Some(sec.data()?) };
            let value_size = crate::limits::check_data_section(name, sec.size(), stored.map(<[u8]>::len))?;
            data_maps.insert(sec.index(), maps.len());
            maps.push(MapDef {
                name: name.to_string(),
                map_type: 2,
                key_size: 4,
                value_size,
                max_entries: 1,
                flags: 0,
                data: stored.map(<[u8]>::to_vec),
                progs: Vec::new(),
                timer_off: None,
            });
        }
    }
    Ok(())
}

/// A BTF-defined map and the byte offset of its `values` member (initial slots), if any.
fn btf_map(btf: &Btf, name: &str, type_id: u32) -> Result<(MapDef, Option<u32>), ElfError> {
    let bad = |what: &str| ElfError::Map(name.to_string(), what.to_string());
    let Some((_, BtfType::Struct { members, .. })) = btf.resolve(type_id) else {
        return Err(bad("not a struct"));
    };
    let mut def = MapDef {
        name: name.to_string(),
        map_type: 0,
        key_size: 0,
        value_size: 0,
        max_entries: 0,
        flags: 0,
        data: None,
        progs: Vec::new(),
        timer_off: None,
    };
    // a BTF type's size is a u64 product of array lengths: it must fit the map's u32 field
    let sized = |size: Option<u64>, what: &str| -> Result<u32, ElfError> {
        let size = size.ok_or_else(|| bad(&format!("{what} has no size")))?;
        u32::try_from(size).map_err(|_| ElfError::MapLimit {
            map: name.to_string(),
            what: format!("{what} type of {size} bytes does not fit a u32 size"),
        })
    };
    let mut values_off = None;
    for m in members {
        if m.name == "values" {
            // `__array(values, ...)`: a flexible array whose initializers are relocations
            values_off = Some(m.offset / 8);
            continue;
        }
        // `__uint(x, N)` is `int (*x)[N]`; `__type(x, T)` is `T *x`.
        let pointee = match btf.resolve(m.type_id) {
            Some((_, BtfType::Ptr { type_id })) => *type_id,
            _ => continue,
        };
        let array_len = || match btf.resolve(pointee) {
            Some((_, BtfType::Array { nelems, .. })) => Some(*nelems),
            _ => None,
        };
        match m.name.as_str() {
            "type" => def.map_type = array_len().ok_or_else(|| bad("bad type"))?,
            "max_entries" => def.max_entries = array_len().ok_or_else(|| bad("bad max_entries"))?,
            "map_flags" => def.flags = array_len().ok_or_else(|| bad("bad map_flags"))?,
            "key_size" => def.key_size = array_len().ok_or_else(|| bad("bad key_size"))?,
            "value_size" => def.value_size = array_len().ok_or_else(|| bad("bad value_size"))?,
            "key" => def.key_size = sized(btf.size_of(pointee), "key")?,
            "value" => {
                def.value_size = sized(btf.size_of(pointee), "value")?;
                def.timer_off = timer_offset(btf, pointee, 0);
            }
            _ => {}
        }
    }
    // libbpf: a prog array's key and value are 4-byte (index, program fd) when not spelled out
    if def.map_type == 3 {
        def.key_size = if def.key_size == 0 { 4 } else { def.key_size };
        def.value_size = if def.value_size == 0 { 4 } else { def.value_size };
    }
    Ok((def, values_off))
}

/// Byte offset of a `struct bpf_timer` member of the struct `type_id` (nested structs
/// included), like the kernel's `btf_find_field` for `BPF_TIMER`.
fn timer_offset(btf: &Btf, type_id: u32, depth: u32) -> Option<u32> {
    let (_, BtfType::Struct { name, members, .. }) = btf.resolve(type_id)? else { return None };
    if name == "bpf_timer" {
        return Some(0);
    }
    if depth > 8 {
        return None;
    }
    members.iter().find_map(|m| Some(m.offset / 8 + timer_offset(btf, m.type_id, depth + 1)?))
}

/// The slots `[start, start + len)` a function symbol covers, inside its section's data.
fn symbol_range(
    section: &str,
    sym: &object::Symbol<'_, '_>,
    data_len: usize,
) -> Result<(usize, usize), ElfError> {
    let slots = (data_len / 8) as u64;
    let start = sym.address() / 8;
    let len = if sym.size() > 0 { sym.size() / 8 } else { slots.saturating_sub(start) };
    if start.checked_add(len).is_none_or(|end| end > slots) {
        return Err(ElfError::Section {
            section: section.to_string(),
            what: format!(
                "symbol {} at {:#x} size {:#x} lies outside the section's {data_len} bytes",
                sym.name().unwrap_or("?"),
                sym.address(),
                sym.size()
            ),
        });
    }
    Ok((start as usize, len as usize))
}

#[allow(clippy::too_many_arguments)]
fn link_program(
    file: &object::File<'_>,
    sec: &object::Section<'_, '_>,
    start: usize,
    len: usize,
    text: &[RawInsn],
    text_idx: Option<SectionIndex>,
    map_syms: &HashMap<String, usize>,
    data_maps: &HashMap<SectionIndex, usize>,
    btf: Option<&Btf>,
    func_info: &[btf::FuncInfo],
    line_info: &[btf::LineInfo],
) -> Result<ElfProgram, ElfError> {
    let sec_name = sec.name().unwrap_or("").to_string();
    let all = slots_of(sec.data()?);
    let mut slots: Vec<RawInsn> = all.get(start..start + len).unwrap_or(&[]).to_vec();
    let text_base = slots.len();
    let mut uses_text = false;
    let reloc_err = |section: &str, insn: usize, what: String| ElfError::Reloc {
        section: section.to_string(),
        insn,
        what,
    };
    let apply = |slots: &mut Vec<RawInsn>,
                 at: usize,
                 rel: &object::Relocation,
                 section: &str|
     -> Result<bool, ElfError> {
        let RelocationTarget::Symbol(si) = rel.target() else {
            return Err(reloc_err(section, at, "relocation without a symbol".into()));
        };
        let sym = file.symbol_by_index(si)?;
        let sym_name = sym.name().unwrap_or("").to_string();
        let insn = *slots.get(at).ok_or_else(|| reloc_err(section, at, "outside the section".into()))?;
        if insn.call_kind().is_some() {
            // Call into .text: target = symbol offset + imm + 1 (clang's encoding for both
            // section symbols and function symbols).
            if sym.section_index() != text_idx {
                return Err(reloc_err(section, at, format!("call to {sym_name} outside .text")));
            }
            let target = (sym.address() / 8) as i64 + slots[at].imm as i64 + 1;
            slots[at].imm = (text_base as i64 + target - at as i64 - 1) as i32;
            return Ok(true);
        }
        if insn.is_ldimm64() {
            if let Some(&idx) = map_syms.get(&sym_name) {
                slots[at].src = LdImm64Src::MapFd as u8;
                slots[at].imm = idx as i32;
                return Ok(false);
            }
            if let Some(&idx) = sym.section_index().and_then(|s| data_maps.get(&s)) {
                let off = (sym.address() as i64).wrapping_add(slots[at].imm as i64);
                if sym.address() > i32::MAX as u64 || !(0..=i32::MAX as i64).contains(&off) {
                    return Err(reloc_err(section, at, format!("offset {off} into {sym_name} out of range")));
                }
                slots[at].src = LdImm64Src::MapValue as u8;
                slots[at].imm = idx as i32;
                if let Some(next) = slots.get_mut(at + 1) {
                    next.imm = off as i32;
                }
                return Ok(false);
            }
            if sym.section_index() == text_idx {
                // Function pointer (callbacks): BPF_PSEUDO_FUNC with a relative offset.
                let target = (sym.address() / 8) as i64 + slots[at].imm as i64 / 8;
                slots[at].src = 4;
                slots[at].imm = (text_base as i64 + target - at as i64 - 1) as i32;
                return Ok(true);
            }
        }
        Err(reloc_err(section, at, format!("unsupported relocation against {sym_name}")))
    };
    // Relocations of the program's own range, then of .text (appended once, whole).
    for (off, rel) in sec.relocations() {
        let insn = (off / 8) as usize;
        if (start..start + len).contains(&insn) {
            uses_text |= apply(&mut slots, insn - start, &rel, &sec_name)?;
        }
    }
    if uses_text && sec.index() != text_idx.unwrap_or(SectionIndex(usize::MAX)) {
        slots.extend_from_slice(text);
        if let Some(tsec) = text_idx.and_then(|i| file.section_by_index(i).ok()) {
            for (off, rel) in tsec.relocations() {
                let at = text_base + (off / 8) as usize;
                apply(&mut slots, at, &rel, ".text")?;
            }
        }
    }
    // where a `.BTF.ext` record of `section` at `insn` lands in the linked program
    let place = |section: &str, insn: u32, what: &str| -> Result<Option<usize>, ElfError> {
        if section == sec_name {
            return Ok(match (insn as usize).checked_sub(start) {
                Some(pc) if pc < len => Some(pc),
                _ => None,
            });
        }
        if section == ".text" && uses_text {
            if insn as usize >= text.len() {
                return Err(ElfError::Section {
                    section: ".BTF.ext".into(),
                    what: format!("{what} at insn {insn} outside .text's {} insns", text.len()),
                });
            }
            return Ok(Some(text_base + insn as usize));
        }
        Ok(None)
    };
    let mut lines = Vec::new();
    for li in line_info {
        if let Some(pc) = place(&li.section, li.insn, "line_info")? {
            lines.push(btf::LineInfo { insn: pc as u32, ..li.clone() });
        }
    }
    lines.sort_by_key(|l| l.insn);
    let mut funcs = Vec::new();
    let mut func_types = Vec::new();
    for fi in func_info {
        let Some(pc) = place(&fi.section, fi.insn, "func_info")? else { continue };
        func_types.push((pc, fi.type_id));
        let (name, nargs, global) = match btf.and_then(|b| Some((b.get(fi.type_id)?, b))) {
            Some((BtfType::Func { name, linkage, .. }, b)) => (
                name.clone(),
                b.func_params(fi.type_id).map_or(0, |p| p.len()) as u32,
                *linkage == Linkage::Global,
            ),
            _ => (String::new(), 0, false),
        };
        funcs.push(FuncDecl { pc, name, nargs, global });
    }
    funcs.sort_by_key(|f| f.pc);
    func_types.sort_by_key(|f| f.0);
    Ok(ElfProgram {
        name: String::new(),
        section: sec_name,
        slots,
        funcs,
        func_info: func_types,
        line_info: lines,
    })
}
