//! Externs as libbpf resolves them (`bpf_object__collect_externs`,
//! `bpf_object__resolve_externs`): `__kconfig` variables laid out in the `.kconfig` map and
//! filled from the target's configuration and libbpf's virtual `LINUX_*` values; `__ksym`
//! variables (typed: the target BTF's `VAR` id; typeless: the address in `/proc/kallsyms`) and
//! kfuncs (the target BTF's `FUNC` id, module BTF index in the call's `off`). Weak externs that
//! do not resolve are zero (a kfunc call is poisoned); strong ones are errors naming them.

use std::collections::HashMap;

use object::{Object as _, ObjectSymbol, SymbolIndex};

use crate::btf::{Btf, BtfType, IntEncoding, Kind, Linkage, TargetBtf, VarLinkage};
use crate::kconfig::Kconfig;
use crate::link::ExternValue;
use crate::object_file::ElfError;

/// How a `__kconfig` value is typed (libbpf's `enum kcfg_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KcfgType {
    /// `bool` (1-byte int with the BOOL encoding).
    Bool,
    /// `char` (any other 1-byte int).
    Char,
    /// `enum libbpf_tristate`.
    Tristate,
    /// A 2-, 4- or 8-byte integer.
    Int,
    /// A `char[N]` string.
    CharArr,
}

/// What an extern is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternKind {
    /// A `.kconfig` variable at `off` of the `.kconfig` map.
    Kconfig {
        /// Its type class.
        ty: KcfgType,
        /// Size in bytes.
        size: u32,
        /// Alignment.
        align: u32,
        /// Signed integer.
        signed: bool,
        /// Offset in the map.
        off: u32,
    },
    /// A `.ksyms` variable: `type_id` 0 = typeless (`const void`), else its local BTF type.
    Ksym {
        /// Local type id (0 = typeless).
        type_id: u32,
    },
    /// A `.ksyms` function (kfunc).
    Kfunc,
}

/// One extern of the object and what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extern {
    /// Symbol name.
    pub name: String,
    /// Declared `__weak`.
    pub weak: bool,
    /// Kind.
    pub kind: ExternKind,
    /// Its `VAR` or `FUNC` id in the object's BTF.
    pub btf_id: u32,
    /// What it resolved to (`None` = unresolved weak).
    pub value: Option<String>,
    pub(crate) resolved: Option<ExternValue>,
    pub(crate) sym: SymbolIndex,
}

/// What extern resolution may consult.
pub(crate) struct ExternEnv<'a> {
    /// The object's BTF (the local side of compatibility checks).
    pub local: Option<&'a Btf>,
    pub target: Option<&'a TargetBtf>,
    pub target_err: Option<&'a str>,
    pub kconfig: &'a dyn Fn(&str) -> Result<Kconfig, ElfError>,
    pub kernel_version: u32,
    pub syscall_wrapper: bool,
    pub bpf_cookie: bool,
    pub kallsyms: &'a dyn Fn() -> Result<HashMap<String, u64>, ElfError>,
}

/// The largest `__kconfig` variable kbpf lays out (a kernel string option is far smaller).
const MAX_KCFG_SIZE: u64 = 1 << 16;

fn ext_err(name: &str, what: impl Into<String>) -> ElfError {
    ElfError::Extern { name: name.to_string(), what: what.into() }
}

/// The externs of the object (undefined global/weak `NOTYPE` symbols), sorted like libbpf
/// (kconfig first by descending alignment and ascending size, then ksyms, ties by name), with
/// kconfig offsets laid out.
pub(crate) fn collect(file: &object::File<'_>, btf: Option<&Btf>) -> Result<Vec<Extern>, ElfError> {
    let mut out = Vec::new();
    for sym in file.symbols() {
        if !sym.is_undefined() || sym.is_local() || sym.kind() != object::SymbolKind::Unknown {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let Some(btf) = btf else { return Err(ext_err(name, "externs need the object's BTF")) };
        let btf_id = btf
            .ids_by_name(name)
            .into_iter()
            .find(|&id| match btf.get(id) {
                Some(BtfType::Var { linkage, .. }) => *linkage == VarLinkage::Extern,
                Some(BtfType::Func { linkage, .. }) => *linkage == Linkage::Extern,
                _ => false,
            })
            .ok_or_else(|| ext_err(name, "failed to find BTF for extern"))?;
        let sec = btf
            .iter()
            .find_map(|(_, t)| match t {
                BtfType::DataSec { name, vars, .. } if vars.iter().any(|v| v.0 == btf_id) => {
                    Some(name.clone())
                }
                _ => None,
            })
            .ok_or_else(|| ext_err(name, "failed to find the extern's section in BTF"))?;
        let is_func = matches!(btf.get(btf_id), Some(BtfType::Func { .. }));
        let kind = match sec.as_str() {
            ".kconfig" => {
                if is_func {
                    return Err(ext_err(name, "extern function is not supported under .kconfig section"));
                }
                let var_type = btf.get(btf_id).and_then(BtfType::ref_type).unwrap_or(0);
                let (ty, signed) =
                    kcfg_type(btf, var_type).ok_or_else(|| ext_err(name, "(kcfg) type is unsupported"))?;
                let size = btf.size_of(var_type).ok_or_else(|| ext_err(name, "(kcfg) has no size"))?;
                // the whole `.kconfig` map is one array value: a hostile size must not allocate
                if size > MAX_KCFG_SIZE {
                    return Err(ext_err(
                        name,
                        format!("(kcfg) of {size} bytes is larger than {MAX_KCFG_SIZE}"),
                    ));
                }
                let size = size as u32;
                let align = if ty == KcfgType::CharArr { 1 } else { size.clamp(1, 8) };
                ExternKind::Kconfig { ty, size, align, signed, off: 0 }
            }
            ".ksyms" if is_func => ExternKind::Kfunc,
            ".ksyms" => {
                let var_type = btf.get(btf_id).and_then(BtfType::ref_type).unwrap_or(0);
                let typed = btf.skip_modifiers(var_type).map(|(id, _)| id).unwrap_or(0);
                ExternKind::Ksym { type_id: typed }
            }
            other => return Err(ext_err(name, format!("unrecognized extern section '{other}'"))),
        };
        out.push(Extern {
            name: name.to_string(),
            weak: sym.is_weak(),
            kind,
            btf_id,
            value: None,
            resolved: None,
            sym: sym.index(),
        });
    }
    let rank = |e: &Extern| match e.kind {
        ExternKind::Kconfig { align, size, .. } => (0, u32::MAX - align, size),
        _ => (1, 0, 0),
    };
    out.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name)));
    let mut off = 0u32;
    for e in &mut out {
        if let ExternKind::Kconfig { align, size, off: o, .. } = &mut e.kind {
            *o = off.next_multiple_of(*align);
            off = o
                .checked_add(*size)
                .filter(|&end| end as u64 <= MAX_KCFG_SIZE * 16)
                .ok_or_else(|| ext_err(&e.name, "(kcfg) the .kconfig map grows too large"))?;
        }
    }
    Ok(out)
}

/// libbpf's `find_kcfg_type` (after typedefs and qualifiers).
fn kcfg_type(btf: &Btf, id: u32) -> Option<(KcfgType, bool)> {
    let (_, t) = btf.resolve(id)?;
    Some(match t {
        BtfType::Int { size, encoding, .. } => {
            if *encoding == IntEncoding::Bool {
                return (*size == 1).then_some((KcfgType::Bool, false));
            }
            let signed = *encoding == IntEncoding::Signed;
            match size {
                1 => (KcfgType::Char, signed),
                2 | 4 | 8 => (KcfgType::Int, signed),
                _ => return None,
            }
        }
        BtfType::Enum { name, size: 4, .. } | BtfType::Enum64 { name, .. } if name == "libbpf_tristate" => {
            (KcfgType::Tristate, false)
        }
        BtfType::Array { elem, nelems, .. } if *nelems > 0 => match kcfg_type(btf, *elem)? {
            (KcfgType::Char, _) => (KcfgType::CharArr, false),
            _ => return None,
        },
        _ => return None,
    })
}

/// Size of the `.kconfig` map's value (0 = no kconfig externs).
pub(crate) fn kconfig_size(externs: &[Extern]) -> u32 {
    externs
        .iter()
        .filter_map(|e| match e.kind {
            ExternKind::Kconfig { off, size, .. } => Some(off + size),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// `KERNEL_VERSION(a, b, c)` of a release string (`6.18.44-fc` → 6.18.44, patch capped at 255
/// as the kernel's macro does).
pub fn kernel_version_code(release: &str) -> Option<u32> {
    let mut nums = release.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
    let major: u32 = nums.next()?.parse().ok()?;
    let minor: u32 = nums.next()?.parse().ok()?;
    let patch: u32 = nums.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major << 16) + (minor << 8) + patch.min(255))
}

/// The running kernel's release (`uname -r`).
pub fn uname_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string())
}

/// Fills the `.kconfig` map value and resolves every extern (`bpf_object__resolve_externs`).
pub(crate) fn resolve(externs: &mut [Extern], kcfg: &mut [u8], env: &ExternEnv<'_>) -> Result<(), ElfError> {
    let mut need_config = false;
    let mut need_kallsyms = false;
    for e in externs.iter_mut() {
        match e.kind {
            ExternKind::Ksym { type_id: 0 } => need_kallsyms = true,
            ExternKind::Ksym { .. } | ExternKind::Kfunc => {}
            ExternKind::Kconfig { .. } if e.name.starts_with("CONFIG_") => need_config = true,
            ExternKind::Kconfig { .. } => {
                let v = match e.name.as_str() {
                    "LINUX_KERNEL_VERSION" => env.kernel_version as u64,
                    "LINUX_HAS_BPF_COOKIE" => env.bpf_cookie as u64,
                    "LINUX_HAS_SYSCALL_WRAPPER" => env.syscall_wrapper as u64,
                    _ if e.name.starts_with("LINUX_") && e.weak => continue,
                    _ => return Err(ext_err(&e.name, "(kcfg) unrecognized virtual extern")),
                };
                set_num(e, kcfg, v)?;
            }
        }
    }
    if need_config {
        let first = externs.iter().find(|e| e.name.starts_with("CONFIG_")).map_or("", |e| e.name.as_str());
        let config = (env.kconfig)(first)?;
        for (name, value) in &config.entries {
            let Some(e) =
                externs.iter_mut().find(|e| &e.name == name && matches!(e.kind, ExternKind::Kconfig { .. }))
            else {
                continue;
            };
            if e.value.is_some() {
                return Err(ext_err(name, format!("(kcfg) re-defined in {}", config.source)));
            }
            set_config(e, kcfg, value)?;
        }
    }
    if need_kallsyms {
        let syms = (env.kallsyms)()?;
        for e in externs.iter_mut().filter(|e| e.kind == ExternKind::Ksym { type_id: 0 }) {
            if let Some(&addr) = syms.get(&e.name) {
                e.resolved = Some(ExternValue::Addr(addr));
                e.value = Some(format!("{addr:#x} (kallsyms)"));
            }
        }
    }
    resolve_btf_ids(externs, env)?;
    for (i, e) in externs.iter_mut().enumerate() {
        if e.resolved.is_some() {
            continue;
        }
        if !e.weak {
            return Err(ext_err(&e.name, "(strong): not resolved"));
        }
        // weak and unresolved: zero, and a kfunc call poisoned with the extern's index
        e.resolved = Some(match e.kind {
            ExternKind::Kfunc => ExternValue::Unresolved(i),
            ExternKind::Kconfig { off, .. } => ExternValue::Kconfig { map: usize::MAX, off },
            _ => ExternValue::Addr(0),
        });
    }
    Ok(())
}

fn resolve_btf_ids(externs: &mut [Extern], env: &ExternEnv<'_>) -> Result<(), ElfError> {
    let mut fd_array: Vec<String> = Vec::new();
    for e in externs.iter_mut() {
        let (kind, what) = match e.kind {
            ExternKind::Ksym { type_id } if type_id != 0 => (Kind::Var, "var ksym"),
            ExternKind::Kfunc => (Kind::Func, "func ksym"),
            _ => continue,
        };
        let Some(target) = env.target else {
            if e.weak {
                continue;
            }
            return Err(ext_err(
                &e.name,
                format!(
                    "({what}) needs target BTF, but none is available: {}",
                    env.target_err.unwrap_or("no --btf")
                ),
            ));
        };
        // kfunc flavours (`name___suffix`) name the same kernel function
        let lookup = match kind {
            Kind::Func => crate::core::essential_name(&e.name),
            _ => e.name.as_str(),
        };
        let found = target.btfs().find_map(|(module, btf, own)| {
            btf.ids_by_name_kind(lookup, kind)
                .into_iter()
                .find(|id| own.contains(id))
                .map(|id| (module, btf, id))
        });
        let Some((module, kbtf, id)) = found else {
            if e.weak {
                continue;
            }
            return Err(ext_err(&e.name, format!("({what}) not found in kernel or module BTFs")));
        };
        // the local declaration must be compatible with the kernel's (bpf_core_types_are_compat)
        if let Some(local) = env.local {
            let ref_of = |b: &Btf, id: u32| b.get(id).and_then(BtfType::ref_type).unwrap_or(0);
            let (lid, kid) = match e.kind {
                ExternKind::Kfunc => (ref_of(local, e.btf_id), ref_of(kbtf, id)),
                ExternKind::Ksym { type_id } => {
                    (type_id, kbtf.resolve(ref_of(kbtf, id)).map_or(0, |(t, _)| t))
                }
                _ => continue,
            };
            if !crate::core::types_are_compat(local, lid, kbtf, kid).unwrap_or(false) {
                match e.kind {
                    // an incompatible weak kfunc stays unresolved, as libbpf leaves it
                    ExternKind::Kfunc if e.weak => continue,
                    ExternKind::Kfunc => {
                        return Err(ext_err(
                            &e.name,
                            format!("(func ksym) func_proto [{lid}] incompatible with kernel's [{kid}]"),
                        ));
                    }
                    _ => {
                        return Err(ext_err(
                            &e.name,
                            format!(
                                "(var ksym) incompatible types, expected [{lid}], but kernel has [{kid}]"
                            ),
                        ));
                    }
                }
            }
        }
        let btf_idx = match module {
            None => 0,
            Some(m) => {
                // libbpf's fd_array: module BTFs get indices from 1 in order of first use
                let pos = fd_array.iter().position(|x| x == m).unwrap_or_else(|| {
                    fd_array.push(m.to_string());
                    fd_array.len() - 1
                });
                pos as i16 + 1
            }
        };
        e.resolved = Some(ExternValue::BtfId { id, btf_idx });
        e.value = Some(match module {
            Some(m) => format!("{m} BTF id {id}"),
            None => format!("vmlinux BTF id {id}"),
        });
    }
    Ok(())
}

fn kcfg_slot<'k>(e: &Extern, kcfg: &'k mut [u8]) -> Result<(&'k mut [u8], KcfgType, bool), ElfError> {
    let ExternKind::Kconfig { ty, size, off, signed, .. } = e.kind else {
        return Err(ext_err(&e.name, "not a kconfig extern"));
    };
    let slot = kcfg
        .get_mut(off as usize..(off + size) as usize)
        .ok_or_else(|| ext_err(&e.name, "(kcfg) outside the .kconfig map"))?;
    Ok((slot, ty, signed))
}

fn mark(e: &mut Extern, value: String) {
    if let ExternKind::Kconfig { off, .. } = e.kind {
        e.resolved = Some(ExternValue::Kconfig { map: usize::MAX, off });
    }
    e.value = Some(value);
}

/// libbpf's `set_kcfg_value_num`.
fn set_num(e: &mut Extern, kcfg: &mut [u8], v: u64) -> Result<(), ElfError> {
    let (slot, ty, signed) = kcfg_slot(e, kcfg)?;
    if !matches!(ty, KcfgType::Int | KcfgType::Char | KcfgType::Bool) {
        return Err(ext_err(&e.name, format!("(kcfg) value '{v}' implies integer, char, or boolean type")));
    }
    let bits = slot.len() as u32 * 8;
    if ty != KcfgType::Bool && (1..64).contains(&bits) {
        let fits = if signed { v.wrapping_add(1 << (bits - 1)) < (1u64 << bits) } else { v >> bits == 0 };
        if !fits {
            return Err(ext_err(&e.name, format!("(kcfg) value '{v}' doesn't fit in {} bytes", slot.len())));
        }
    }
    if ty == KcfgType::Bool && v > 1 {
        return Err(ext_err(&e.name, format!("(kcfg) value '{v}' isn't boolean compatible")));
    }
    let n = slot.len().min(8);
    slot[..n].copy_from_slice(&v.to_le_bytes()[..n]);
    mark(e, format!("{v:#x}"));
    Ok(())
}

/// libbpf's `bpf_object__process_kconfig_line` for one matching extern.
fn set_config(e: &mut Extern, kcfg: &mut [u8], value: &str) -> Result<(), ElfError> {
    let (slot, ty, _) = kcfg_slot(e, kcfg)?;
    match value.as_bytes().first() {
        Some(&c @ (b'y' | b'n' | b'm')) => {
            match ty {
                KcfgType::Bool if c == b'm' => {
                    return Err(ext_err(&e.name, "(kcfg) value 'm' implies tristate or char type"));
                }
                KcfgType::Bool => slot[0] = (c == b'y') as u8,
                KcfgType::Tristate => {
                    let v: u64 = match c {
                        b'y' => 1,
                        b'm' => 2,
                        _ => 0,
                    };
                    let n = slot.len().min(8);
                    slot[..n].copy_from_slice(&v.to_le_bytes()[..n]);
                }
                KcfgType::Char => slot[0] = c,
                _ => {
                    return Err(ext_err(
                        &e.name,
                        format!("(kcfg) value '{}' implies bool, tristate, or char type", c as char),
                    ));
                }
            }
            mark(e, value.to_string());
            Ok(())
        }
        Some(b'"') => {
            if ty != KcfgType::CharArr {
                return Err(ext_err(&e.name, format!("(kcfg) value '{value}' implies char array type")));
            }
            if value.len() < 2 || !value.ends_with('"') {
                return Err(ext_err(&e.name, format!("(kcfg) invalid string config '{value}'")));
            }
            // strip the quotes; a longer string is truncated to the array (libbpf warns)
            let s = &value.as_bytes()[1..value.len() - 1];
            let Some(last) = slot.len().checked_sub(1) else {
                return Err(ext_err(&e.name, "(kcfg) empty char array"));
            };
            let n = s.len().min(last);
            slot[..n].copy_from_slice(&s[..n]);
            slot[n] = 0;
            mark(e, value.to_string());
            Ok(())
        }
        _ => {
            let parsed = match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None if value.len() > 1 && value.starts_with('0') => u64::from_str_radix(&value[1..], 8).ok(),
                None => value.parse::<u64>().ok().or_else(|| value.parse::<i64>().ok().map(|v| v as u64)),
            };
            let v = parsed
                .ok_or_else(|| ext_err(&e.name, format!("(kcfg) value '{value}' isn't a valid integer")))?;
            if !matches!(ty, KcfgType::Int | KcfgType::Char) {
                return Err(ext_err(&e.name, format!("(kcfg) value '{value}' implies integer type")));
            }
            set_num(e, kcfg, v)
        }
    }
}

/// `/proc/kallsyms` of the running kernel: name → address (a `.llvm.` suffixed local data
/// symbol also answers to its plain name, as in libbpf).
pub fn read_kallsyms() -> Result<HashMap<String, u64>, ElfError> {
    let text = std::fs::read_to_string("/proc/kallsyms")
        .map_err(|e| ext_err("(typeless ksym)", format!("/proc/kallsyms: {e}")))?;
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(addr), Some(ty), Some(name)) = (it.next(), it.next(), it.next()) else { continue };
        let Ok(addr) = u64::from_str_radix(addr, 16) else { continue };
        let name = match name.find(".llvm.") {
            Some(i) if ty == "d" => &name[..i],
            _ => name,
        };
        out.entry(name.to_string()).or_insert(addr);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(kernel_version_code("6.18.44-fc-v1300"), Some((6 << 16) + (18 << 8) + 44));
        assert_eq!(kernel_version_code("6.18"), Some((6 << 16) + (18 << 8)));
        assert_eq!(kernel_version_code("4.9.300"), Some((4 << 16) + (9 << 8) + 255));
        assert_eq!(kernel_version_code("x"), None);
    }
}
