//! Map definitions as libbpf reads them: BTF-defined `.maps` (with map-in-map inner templates
//! and `values` initializers), legacy `maps`, and the global-data sections `.data`, `.rodata`,
//! `.bss` and their `.data.*` / `.rodata.*` / `.bss.*` variants. Then the sizes a user-space
//! loader would set before loading ([`apply_defaults`]) and `--map NAME.FIELD=VALUE` overrides.

use std::collections::HashMap;

use object::{Object as _, ObjectSection, ObjectSymbol, SectionIndex};

use crate::btf::{Btf, BtfType};
use crate::object_file::{ElfError, MapDef};

/// `BPF_MAP_TYPE_*` numbers the loader treats specially.
pub mod map_type {
    #![allow(missing_docs)]
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const STACK_TRACE: u32 = 7;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
    pub const DEVMAP: u32 = 14;
    pub const CPUMAP: u32 = 16;
    pub const XSKMAP: u32 = 17;
    pub const CGROUP_STORAGE: u32 = 19;
    pub const PERCPU_CGROUP_STORAGE: u32 = 21;
    pub const SK_STORAGE: u32 = 24;
    pub const STRUCT_OPS: u32 = 26;
    pub const RINGBUF: u32 = 27;
    pub const INODE_STORAGE: u32 = 28;
    pub const TASK_STORAGE: u32 = 29;
    pub const USER_RINGBUF: u32 = 31;
    pub const CGRP_STORAGE: u32 = 32;
    pub const ARENA: u32 = 33;
}

/// The section of `__arena` global variables (address space 1).
const ARENA_SEC: &str = ".addr_space.1";

/// Where the maps live, for the relocations that name them.
#[derive(Default)]
pub(crate) struct MapIndex {
    /// `(section, symbol offset)` → map, for `.maps` and `maps`.
    pub by_sym: HashMap<(SectionIndex, u64), usize>,
    /// Global-data section → map.
    pub data: HashMap<SectionIndex, usize>,
}

fn blank(name: &str) -> MapDef {
    MapDef {
        name: name.to_string(),
        map_type: 0,
        key_size: 0,
        value_size: 0,
        max_entries: 0,
        flags: 0,
        numa_node: 0,
        pinning: 0,
        map_extra: 0,
        data: None,
        progs: Vec::new(),
        inner_maps: Vec::new(),
        inner: None,
        timer_off: None,
        value_type_id: None,
        defaults: Vec::new(),
    }
}

/// Reads every map of the object, in libbpf's order: BTF `.maps`, legacy `maps`, then the
/// global-data sections by section index.
pub(crate) fn load_maps(
    file: &object::File<'_>,
    btf: Option<&Btf>,
) -> Result<(Vec<MapDef>, MapIndex), ElfError> {
    let mut maps = Vec::new();
    let mut idx = MapIndex::default();
    if let Some(sec) = file.section_by_name(".maps") {
        let Some(btf) = btf else {
            return Err(ElfError::Map(".maps".into(), "BTF-defined maps without .BTF".into()));
        };
        let datasec = btf.iter().find_map(|(_, t)| match t {
            BtfType::DataSec { name, vars, .. } if name == ".maps" => Some(vars.clone()),
            _ => None,
        });
        for (var, _, _) in datasec.unwrap_or_default() {
            let Some(BtfType::Var { name, type_id, .. }) = btf.get(var) else {
                return Err(ElfError::Map(".maps".into(), format!("DATASEC entry [{var}] is not a VAR")));
            };
            // clang leaves the DATASEC's offsets 0: the symbol says where the map lives
            let Some(sym) = file
                .symbols()
                .find(|s| s.section_index() == Some(sec.index()) && s.name() == Ok(name.as_str()))
            else {
                return Err(ElfError::Map(name.clone(), "no ELF symbol in .maps".into()));
            };
            let (var_off, var_size) = (sym.address(), sym.size());
            let (mut def, values_off) = btf_map(btf, name, *type_id, false)?;
            if let Some(values_off) = values_off {
                // `values` initializers are relocations in `.maps` against programs or maps
                let start = var_off.saturating_add(values_off as u64);
                for (at, rel) in sec.relocations() {
                    if at < start || at >= var_off.saturating_add(var_size) {
                        continue;
                    }
                    let object::RelocationTarget::Symbol(si) = rel.target() else { continue };
                    let Ok(sym) = file.symbol_by_index(si) else { continue };
                    let slot = ((at - start) / 8) as u32;
                    let target = sym.name().unwrap_or("").to_string();
                    if def.map_type == map_type::PROG_ARRAY {
                        def.progs.push((slot, target));
                    } else {
                        def.inner_maps.push((slot, target));
                    }
                }
            }
            crate::limits::check_map(&def)?;
            idx.by_sym.insert((sec.index(), var_off), maps.len());
            maps.push(def);
        }
    }
    if let Some(sec) = file.section_by_name("maps") {
        // legacy `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags, ... }`
        let data = sec.data()?;
        for sym in file.symbols().filter(|s| s.section_index() == Some(sec.index())) {
            if sym.kind() == object::SymbolKind::Section {
                continue;
            }
            let off = sym.address() as usize;
            let word = |i: usize| {
                off.checked_add(4 * i)
                    .and_then(|s| data.get(s..s + 4))
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            };
            let name = sym.name().unwrap_or("").to_string();
            let (Some(t), Some(k), Some(v), Some(m)) = (word(0), word(1), word(2), word(3)) else {
                return Err(ElfError::Map(name, "truncated bpf_map_def".into()));
            };
            let def = MapDef {
                map_type: t,
                key_size: k,
                value_size: v,
                max_entries: m,
                flags: word(4).unwrap_or(0),
                ..blank(&name)
            };
            crate::limits::check_map(&def)?;
            idx.by_sym.insert((sec.index(), sym.address()), maps.len());
            maps.push(def);
        }
    }
    // `__arena` globals live in `.addr_space.1`: references to them point into the arena map
    if let Some(sec) = file.section_by_name(ARENA_SEC)
        && let Some(arena) = maps.iter().position(|m| m.map_type == map_type::ARENA)
    {
        idx.data.insert(sec.index(), arena);
    }
    for sec in file.sections() {
        let Ok(name) = sec.name() else { continue };
        if !is_data_section(name) || sec.kind() == object::SectionKind::Text {
            continue;
        }
        let bss = name == ".bss" || name.starts_with(".bss.");
        if !bss && sec.size() == 0 {
            continue;
        }
        // `.bss` has no bytes in the file (zeroes, left implicit); the others are stored whole
        let stored = if bss { None } else { Some(sec.data()?) };
        let value_size = crate::limits::check_data_section(name, sec.size(), stored.map(<[u8]>::len))?;
        idx.data.insert(sec.index(), maps.len());
        // libbpf gives a global-data map its section's DATASEC as value type
        let value_type_id = btf.and_then(|b| b.find_by_name_kind(name, crate::btf::Kind::DataSec));
        maps.push(MapDef {
            map_type: map_type::ARRAY,
            key_size: 4,
            value_size,
            max_entries: 1,
            data: stored.map(<[u8]>::to_vec),
            value_type_id,
            ..blank(name)
        });
    }
    Ok((maps, idx))
}

/// `.data`, `.rodata`, `.bss` and their `.X.*` variants (libbpf's global-data sections).
fn is_data_section(name: &str) -> bool {
    [".data", ".rodata", ".bss"]
        .iter()
        .any(|d| name == *d || name.strip_prefix(d).is_some_and(|r| r.starts_with('.')))
}

/// A map's `.kconfig` data map (libbpf's `LIBBPF_MAP_KCONFIG`).
pub(crate) fn kconfig_map(data: Vec<u8>) -> MapDef {
    MapDef {
        map_type: map_type::ARRAY,
        key_size: 4,
        value_size: data.len() as u32,
        max_entries: 1,
        data: Some(data),
        ..blank(".kconfig")
    }
}

/// A BTF-defined map (`parse_btf_map_def`) and the byte offset of its `values` member.
fn btf_map(btf: &Btf, name: &str, type_id: u32, inner: bool) -> Result<(MapDef, Option<u32>), ElfError> {
    let bad = |what: String| ElfError::Map(name.to_string(), what);
    let Some((_, BtfType::Struct { members, .. })) = btf.resolve(type_id) else {
        return Err(bad("map definition is not a struct".into()));
    };
    let mut def = blank(name);
    // a BTF type's size is a u64 product of array lengths: it must fit the map's u32 field
    let sized = |size: Option<u64>, what: &str| -> Result<u32, ElfError> {
        let size = size.ok_or_else(|| bad(format!("{what} has no size")))?;
        u32::try_from(size).map_err(|_| ElfError::MapLimit {
            map: name.to_string(),
            what: format!("{what} type of {size} bytes does not fit a u32 size"),
        })
    };
    let mut values_off = None;
    for (i, m) in members.iter().enumerate() {
        // `__uint(x, N)` is `int (*x)[N]`; `__type(x, T)` is `T *x`
        let pointee = || match btf.resolve(m.type_id) {
            Some((_, BtfType::Ptr { type_id })) => Ok(*type_id),
            _ => Err(bad(format!("{} is not a pointer", m.name))),
        };
        let uint = || -> Result<u32, ElfError> {
            match btf.resolve(pointee()?) {
                Some((_, BtfType::Array { nelems, .. })) => Ok(*nelems),
                _ => Err(bad(format!("{} is not __uint()", m.name))),
            }
        };
        let set = |field: &mut u32, v: u32, what: &str| -> Result<(), ElfError> {
            if *field != 0 && *field != v {
                return Err(bad(format!("conflicting {what} {} != {v}", *field)));
            }
            *field = v;
            Ok(())
        };
        match m.name.as_str() {
            "type" => def.map_type = uint()?,
            "max_entries" => def.max_entries = uint()?,
            "map_flags" => def.flags = uint()?,
            "numa_node" => def.numa_node = uint()?,
            "pinning" => def.pinning = uint()?,
            // `__ulong(map_extra, V)` is an enum whose one value is V (64-bit capable)
            "map_extra" => {
                def.map_extra = match btf.resolve(m.type_id) {
                    Some((_, BtfType::Ptr { .. })) => uint()? as u64,
                    Some((_, t @ (BtfType::Enum { .. } | BtfType::Enum64 { .. }))) => match t.enum_values() {
                        Some([v]) => v.value as u64,
                        _ => return Err(bad("map_extra: invalid __ulong".into())),
                    },
                    _ => return Err(bad("map_extra: expected PTR or ENUM or ENUM64".into())),
                }
            }
            "key_size" => set(&mut def.key_size, uint()?, "key size")?,
            "value_size" => set(&mut def.value_size, uint()?, "value size")?,
            "key" => {
                let size = sized(btf.size_of(pointee()?), "key")?;
                set(&mut def.key_size, size, "key size")?;
            }
            "value" => {
                let t = pointee()?;
                let size = sized(btf.size_of(t), "value")?;
                set(&mut def.value_size, size, "value size")?;
                def.timer_off = timer_offset(btf, t, 0);
                def.value_type_id = Some(t);
            }
            "values" => {
                if inner {
                    return Err(bad("multi-level inner maps not supported".into()));
                }
                if i + 1 != members.len() {
                    return Err(bad("'values' member should be last".into()));
                }
                let is_mim = matches!(def.map_type, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS);
                if !is_mim && def.map_type != map_type::PROG_ARRAY {
                    return Err(bad("should be map-in-map or prog-array".into()));
                }
                set(&mut def.value_size, 4, "value size")?;
                let Some((_, BtfType::Array { elem, .. })) = btf.resolve(m.type_id) else {
                    return Err(bad("'values' should be an array".into()));
                };
                let Some((_, BtfType::Ptr { type_id: target })) = btf.resolve(*elem) else {
                    return Err(bad("'values' should be an array of pointers".into()));
                };
                if is_mim {
                    let Some((tid, BtfType::Struct { .. })) = btf.resolve(*target) else {
                        return Err(bad("'values' should be an array of struct pointers".into()));
                    };
                    let (inner_def, _) = btf_map(btf, &format!("{name}.inner"), tid, true)?;
                    def.inner = Some(Box::new(inner_def));
                } else if !matches!(btf.resolve(*target), Some((_, BtfType::FuncProto { .. }))) {
                    return Err(bad("'values' should be an array of function pointers".into()));
                }
                values_off = Some(m.offset / 8);
            }
            other => return Err(bad(format!("unknown field '{other}'"))),
        }
    }
    if def.map_type == 0 {
        return Err(bad("map type isn't specified".into()));
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

/// Sizes a user-space loader sets before loading, where the object leaves them 0 (documented
/// in docs/interfaces.md): each applied default is noted in [`MapDef::defaults`].
pub fn apply_defaults(def: &mut MapDef, nr_cpus: u32) {
    use map_type::*;
    let note = |def: &mut MapDef, what: String| def.defaults.push(what);
    if def.map_type == PERF_EVENT_ARRAY {
        if def.max_entries == 0 {
            // libbpf's own `map_set_def_max_entries`
            def.max_entries = nr_cpus;
            note(def, format!("max_entries 0 -> {nr_cpus} (possible CPUs, as libbpf)"));
        }
        for (field, v) in [("key_size", &mut def.key_size), ("value_size", &mut def.value_size)] {
            if *v != 4 {
                let old = *v;
                *v = 4;
                def.defaults.push(format!("{field} {old} -> 4 (perf event array)"));
            }
        }
        return;
    }
    if matches!(def.map_type, RINGBUF | USER_RINGBUF) {
        for (field, v) in [("key_size", &mut def.key_size), ("value_size", &mut def.value_size)] {
            if *v != 0 {
                let old = *v;
                *v = 0;
                def.defaults.push(format!("{field} {old} -> 0 (ringbuf)"));
            }
        }
    }
    if def.map_type == STACK_TRACE && def.value_size == 0 {
        def.value_size = 127 * 8;
        note(def, "value_size 0 -> 1016 (127 frames)".into());
    }
    let exempt = matches!(
        def.map_type,
        CGROUP_STORAGE
            | PERCPU_CGROUP_STORAGE
            | SK_STORAGE
            | INODE_STORAGE
            | TASK_STORAGE
            | CGRP_STORAGE
            | STRUCT_OPS
    );
    if def.max_entries == 0 && !exempt {
        let (n, why) = match def.map_type {
            RINGBUF | USER_RINGBUF => (262_144, "ringbuf"),
            STACK_TRACE => (1024, "stack trace"),
            ARRAY | PERCPU_ARRAY | CPUMAP | DEVMAP | XSKMAP => (nr_cpus, "possible CPUs"),
            _ => (10_240, "default"),
        };
        def.max_entries = n;
        note(def, format!("max_entries 0 -> {n} ({why})"));
    }
}

/// One `--map NAME.FIELD=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapOverride {
    /// Map name (`.rodata` etc. for global data).
    pub map: String,
    /// Field.
    pub field: MapField,
    /// New value.
    pub value: u64,
}

/// A map field `--map` may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MapField {
    Type,
    KeySize,
    ValueSize,
    MaxEntries,
    MapFlags,
    NumaNode,
    MapExtra,
}

impl std::str::FromStr for MapOverride {
    type Err = String;

    /// `NAME.FIELD=VALUE`; the name may itself contain dots (`.rodata.max_entries=1`), the
    /// field is after the last one. VALUE is decimal or `0x` hex.
    fn from_str(s: &str) -> Result<MapOverride, String> {
        let (lhs, value) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected NAME.FIELD=VALUE"))?;
        let (map, field) = lhs.rsplit_once('.').ok_or_else(|| format!("{s:?}: expected NAME.FIELD=VALUE"))?;
        let field = match field {
            "type" => MapField::Type,
            "key_size" => MapField::KeySize,
            "value_size" => MapField::ValueSize,
            "max_entries" => MapField::MaxEntries,
            "map_flags" | "flags" => MapField::MapFlags,
            "numa_node" => MapField::NumaNode,
            "map_extra" => MapField::MapExtra,
            f => {
                return Err(format!(
                    "{s:?}: unknown map field {f:?} (type, key_size, value_size, max_entries, map_flags, numa_node, map_extra)"
                ));
            }
        };
        let value = match value.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => value.parse(),
        }
        .map_err(|_| format!("{s:?}: {value:?} is not a number"))?;
        if field != MapField::MapExtra && value > u32::MAX as u64 {
            return Err(format!("{s:?}: {value} does not fit the field's 32 bits"));
        }
        if map.is_empty() {
            return Err(format!("{s:?}: empty map name"));
        }
        Ok(MapOverride { map: map.to_string(), field, value })
    }
}

/// Applies overrides; one naming no map of the object is an error that lists them.
pub fn apply_overrides(maps: &mut [MapDef], overrides: &[MapOverride]) -> Result<(), ElfError> {
    for o in overrides {
        let Some(m) = maps.iter().position(|m| m.name == o.map) else {
            let names = maps.iter().map(|m| m.name.clone()).collect::<Vec<_>>().join(", ");
            return Err(ElfError::Map(
                o.map.clone(),
                format!("--map names no map of the object (maps: {names})"),
            ));
        };
        let m = &mut maps[m];
        let v = o.value as u32;
        let (field, old) = match o.field {
            MapField::Type => ("type", std::mem::replace(&mut m.map_type, v) as u64),
            MapField::KeySize => ("key_size", std::mem::replace(&mut m.key_size, v) as u64),
            MapField::ValueSize => ("value_size", std::mem::replace(&mut m.value_size, v) as u64),
            MapField::MaxEntries => ("max_entries", std::mem::replace(&mut m.max_entries, v) as u64),
            MapField::MapFlags => ("map_flags", std::mem::replace(&mut m.flags, v) as u64),
            MapField::NumaNode => ("numa_node", std::mem::replace(&mut m.numa_node, v) as u64),
            MapField::MapExtra => ("map_extra", std::mem::replace(&mut m.map_extra, o.value)),
        };
        m.defaults.retain(|d| !d.starts_with(&format!("{field} ")));
        m.defaults.push(format!("{field} {old} -> {} (--map)", o.value));
        crate::limits::check_map(m)?;
    }
    Ok(())
}

/// This machine's possible CPUs (`/sys/devices/system/cpu/possible`, `0-7` → 8), else the
/// available parallelism.
pub fn possible_cpus() -> u32 {
    let parsed = std::fs::read_to_string("/sys/devices/system/cpu/possible").ok().and_then(|s| {
        let mut max = None;
        for part in s.trim().split(',') {
            let hi = part.rsplit('-').next()?.parse::<u32>().ok()?;
            max = Some(max.map_or(hi, |m: u32| m.max(hi)));
        }
        max.map(|m| m + 1)
    });
    parsed.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let mk =
            |t, k, v, m| MapDef { map_type: t, key_size: k, value_size: v, max_entries: m, ..blank("m") };
        let mut rb = mk(map_type::RINGBUF, 4, 8, 0);
        apply_defaults(&mut rb, 8);
        assert_eq!((rb.key_size, rb.value_size, rb.max_entries), (0, 0, 262_144));
        assert_eq!(rb.defaults.len(), 3);
        let mut st = mk(map_type::STACK_TRACE, 4, 0, 0);
        apply_defaults(&mut st, 8);
        assert_eq!((st.value_size, st.max_entries), (1016, 1024));
        let mut arr = mk(map_type::PERCPU_ARRAY, 4, 8, 0);
        apply_defaults(&mut arr, 6);
        assert_eq!(arr.max_entries, 6);
        let mut h = mk(1, 4, 8, 0);
        apply_defaults(&mut h, 6);
        assert_eq!(h.max_entries, 10_240);
        let mut pe = mk(map_type::PERF_EVENT_ARRAY, 0, 0, 0);
        apply_defaults(&mut pe, 6);
        assert_eq!((pe.key_size, pe.value_size, pe.max_entries), (4, 4, 6));
        let mut sk = mk(map_type::SK_STORAGE, 4, 8, 0);
        apply_defaults(&mut sk, 6);
        assert_eq!((sk.max_entries, sk.defaults.len()), (0, 0));
        let mut set = mk(1, 4, 8, 7);
        apply_defaults(&mut set, 6);
        assert!(set.defaults.is_empty());
    }

    #[test]
    fn overrides() {
        let o: MapOverride = ".rodata.max_entries=0x10".parse().unwrap();
        assert_eq!((o.map.as_str(), o.field, o.value), (".rodata", MapField::MaxEntries, 16));
        assert!("m.bogus=1".parse::<MapOverride>().unwrap_err().contains("unknown map field"));
        assert!("m.max_entries=x".parse::<MapOverride>().is_err());
        assert!("max_entries=1".parse::<MapOverride>().is_err());
        let mut maps = vec![MapDef { map_type: 1, key_size: 4, value_size: 4, ..blank("m") }];
        apply_defaults(&mut maps[0], 1);
        apply_overrides(&mut maps, &["m.max_entries=5".parse().unwrap()]).unwrap();
        assert_eq!(maps[0].max_entries, 5);
        assert_eq!(maps[0].defaults, ["max_entries 10240 -> 5 (--map)"]);
        let e = apply_overrides(&mut maps, &["x.max_entries=5".parse().unwrap()]).unwrap_err();
        assert!(e.to_string().contains("maps: m"), "{e}");
    }
}
