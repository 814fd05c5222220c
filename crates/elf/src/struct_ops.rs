//! `struct_ops` programs' attach facts (libbpf's `bpf_object__collect_st_ops_relos` and
//! `bpf_map__init_kern_struct_ops`): a program placed in a member of a `.struct_ops` variable
//! is loaded with the kernel struct's BTF id as `attach_btf_id` and the index of the kernel
//! member of that name as its expected attach type.

use std::collections::HashMap;

use object::{Object as _, ObjectSection, ObjectSymbol, RelocationTarget};

use crate::btf::{Btf, BtfType, Kind, TargetBtf};
use crate::link::{Func, func_at};
use crate::object_file::ElfError;

/// Where one `struct_ops` program is attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsAttach {
    /// The struct's name (`tcp_congestion_ops`).
    pub type_name: String,
    /// The member's name (`cong_avoid`).
    pub member: String,
    /// The member's index in the kernel's struct: the expected attach type.
    pub member_idx: u32,
    /// The kernel struct's BTF id and module (`None` = vmlinux).
    pub btf_id: u32,
    /// Module whose BTF holds the struct.
    pub module: Option<String>,
}

/// Attach facts by function index, for every function a `.struct_ops` variable points at; the
/// first variable to name a function decides (as in libbpf). An object whose `.struct_ops`
/// variable names a struct the kernel does not have fails to load as a whole, as in libbpf
/// (`struct_ops init_kern: struct ... is not found in kernel BTF`); variables of `?.struct_ops`
/// sections are not created by default and are exempt.
pub(crate) fn collect(
    file: &object::File<'_>,
    btf: Option<&Btf>,
    funcs: &[Func],
    target: Option<&TargetBtf>,
) -> Result<HashMap<usize, StructOpsAttach>, ElfError> {
    let mut out = HashMap::new();
    let (Some(btf), Some(target)) = (btf, target) else { return Ok(out) };
    for sec in file.sections() {
        let Ok(name) = sec.name() else { continue };
        if !name.trim_start_matches('?').starts_with(".struct_ops") {
            continue;
        }
        let Some(vars) = btf.iter().find_map(|(_, t)| match t {
            BtfType::DataSec { name: n, vars, .. } if n == name => Some(vars.clone()),
            _ => None,
        }) else {
            continue;
        };
        // each variable: its symbol's range in the section, its struct and the kernel's
        let mut placed = Vec::new();
        for (var, _, _) in vars {
            let Some(BtfType::Var { name: vname, type_id, .. }) = btf.get(var) else { continue };
            let Some(sym) = file
                .symbols()
                .find(|s| s.section_index() == Some(sec.index()) && s.name() == Ok(vname.as_str()))
            else {
                continue;
            };
            let Some((_, BtfType::Struct { name: tname, members, .. })) = btf.resolve(*type_id) else {
                continue;
            };
            // the kernel's map value wrapper `bpf_struct_ops_NAME` says which BTF holds NAME
            let tname = crate::core::essential_name(tname).to_string();
            let wrapper = format!("bpf_struct_ops_{tname}");
            let find = |n: &str, kb: &Btf, own: &std::ops::Range<u32>| {
                kb.ids_by_name_kind(n, Kind::Struct).into_iter().find(|id| own.contains(id))
            };
            let missing = |n: &str| {
                ElfError::Map(
                    vname.clone(),
                    format!("struct_ops init_kern: struct {n} is not found in kernel BTF"),
                )
            };
            let optional = name.starts_with('?');
            let Some((module, kb, own)) =
                target.btfs().find(|(_, kb, own)| find(&wrapper, kb, own).is_some())
            else {
                if optional {
                    continue;
                }
                return Err(missing(&wrapper));
            };
            let Some(kid) = find(&tname, kb, &own) else {
                if optional {
                    continue;
                }
                return Err(missing(&tname));
            };
            placed.push((
                sym.address(),
                sym.size(),
                tname,
                members.clone(),
                module.map(str::to_string),
                kb,
                kid,
            ));
        }
        for (off, rel) in sec.relocations() {
            let Some((start, _, tname, members, module, kb, kid)) =
                placed.iter().find(|(s, size, ..)| (*s..s.saturating_add(*size)).contains(&off))
            else {
                continue;
            };
            let Some(moff_bits) = (off - start).checked_mul(8).and_then(|b| u32::try_from(b).ok()) else {
                continue;
            };
            let Some(member) = members.iter().find(|m| m.offset == moff_bits) else { continue };
            let Some(kidx) = kb.members(*kid).and_then(|ms| ms.iter().position(|m| m.name == member.name))
            else {
                continue;
            };
            let RelocationTarget::Symbol(si) = rel.target() else { continue };
            let Ok(sym) = file.symbol_by_index(si) else { continue };
            let (Some(shndx), true) = (sym.section_index(), sym.address() % 8 == 0) else { continue };
            let Some(fi) = func_at(funcs, shndx, (sym.address() / 8) as usize) else { continue };
            out.entry(fi).or_insert_with(|| StructOpsAttach {
                type_name: tname.clone(),
                member: member.name.clone(),
                member_idx: kidx as u32,
                btf_id: *kid,
                module: module.clone(),
            });
        }
    }
    Ok(out)
}
