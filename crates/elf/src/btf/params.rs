//! The shapes of a function's parameters for the verifier ([`kbpf_isa::Param`]): each
//! parameter's type with modifiers and typedefs skipped, and its `arg:` declaration tags.

use super::{Btf, BtfType, Kind};
use kbpf_isa::{Param, ParamType};

/// The kernel's upper-case kind name (`btf_type_str`; `UNKN` for void).
fn kind_str(t: &BtfType) -> String {
    match t.kind() {
        Kind::Void => "UNKN".into(),
        k => k.name().to_ascii_uppercase(),
    }
}

/// The parameters of `FUNC` `func` of the program's BTF.
pub fn func_params(btf: &Btf, func: u32) -> Vec<Param> {
    let Some(params) = btf.func_params(func) else { return Vec::new() };
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ty = match btf.resolve(p.type_id) {
                Some((_, BtfType::Int { .. } | BtfType::Enum { .. } | BtfType::Enum64 { .. })) => {
                    ParamType::Scalar
                }
                Some((_, BtfType::Ptr { type_id })) => {
                    let pointee = btf.resolve(*type_id);
                    ParamType::Ptr {
                        name: pointee.map_or(String::new(), |(_, t)| t.name().to_string()),
                        kind: pointee.map_or("UNKN".into(), |(_, t)| kind_str(t)),
                        size: pointee.and_then(|(id, _)| btf.size_of(id)).and_then(|s| u32::try_from(s).ok()),
                        typedef: match btf.skip_modifiers(*type_id) {
                            Some((_, t @ BtfType::Typedef { .. })) => Some(t.name().to_string()),
                            _ => None,
                        },
                    }
                }
                Some((_, t)) => ParamType::Other(kind_str(t)),
                None => ParamType::Other("UNKN".into()),
            };
            let tags = btf
                .iter()
                .filter_map(|(_, t)| match t {
                    BtfType::DeclTag { name, type_id, component, .. }
                        if *type_id == func && *component == i as i32 =>
                    {
                        name.strip_prefix("arg:").map(str::to_string)
                    }
                    _ => None,
                })
                .collect();
            Param { ty, tags }
        })
        .collect()
}
