//! Verification of a [`Module`]: the facts beside the instructions (maps, license) become
//! verifier options.

use kbpf_kfunc::{ArgKind, FuncKind, Registry, RetKind};
use kbpf_verifier::{
    KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, MapDef, MapKind, VerifyOptions, VerifyOutcome,
};

use crate::source::Module;

/// The program type an ELF section name implies (libbpf's section conventions), for the types
/// the verifier models: `tc`, `classifier`, `tc/*`, `tcx/*` = sched_cls, `xdp*`, `socket*`,
/// `syscall`.
pub fn prog_type_for_section(section: &str) -> Option<kbpf_verifier::ProgType> {
    use kbpf_verifier::ProgType;
    let head = section.split('/').next().unwrap_or(section);
    Some(match head {
        "tc" | "classifier" | "tcx" => ProgType::SchedCls,
        "xdp" | "xdp.frags" => ProgType::Xdp,
        "socket" => ProgType::SocketFilter,
        "syscall" => ProgType::Syscall,
        _ => return None,
    })
}

/// The verifier's view of the kfuncs of `registry` (prototype kinds, BTF ids).
pub fn kfunc_table(registry: &Registry) -> Vec<KfuncDecl> {
    let mut v: Vec<KfuncDecl> = registry
        .iter()
        .filter(|d| d.kind == FuncKind::Kfunc)
        .map(|d| KfuncDecl {
            btf_id: d.id,
            name: d.name.clone(),
            args: d
                .proto
                .args
                .iter()
                .map(|a| KfuncArg {
                    name: a.name.clone(),
                    kind: match &a.kind {
                        ArgKind::Scalar => KfuncArgKind::Scalar,
                        ArgKind::Const => KfuncArgKind::Const,
                        ArgKind::MemSize { constant } => KfuncArgKind::MemSize { constant: *constant },
                        ArgKind::Mem { size, .. } => KfuncArgKind::Mem { size: *size },
                        ArgKind::Ctx => KfuncArgKind::Ctx,
                        ArgKind::BtfId(_) => KfuncArgKind::StructPtr,
                        ArgKind::Arena => KfuncArgKind::Arena,
                        ArgKind::ProgAux => KfuncArgKind::ProgAux,
                        ArgKind::Ignored => KfuncArgKind::Ignored,
                        other => KfuncArgKind::Unmodelled(format!("{other:?}")),
                    },
                    nullable: a.nullable,
                })
                .collect(),
            ret: match &d.proto.ret {
                None | Some(RetKind::Void) => KfuncRet::Void,
                Some(RetKind::Scalar) => KfuncRet::Scalar,
                Some(RetKind::Mem(n)) => KfuncRet::Mem(*n),
                Some(RetKind::BtfId(t)) => KfuncRet::Object(t.clone()),
                Some(RetKind::MapValue) => KfuncRet::Object("map value".into()),
            },
            ret_null: d.proto.flags.contains(kbpf_kfunc::KfuncFlags::RET_NULL),
        })
        .collect();
    v.sort_by_key(|k| k.btf_id);
    v
}

/// Verifies `module` with `opts`, adding the module's maps (by index, as the ELF loader numbers
/// them), its license, its function prototypes (`.func` / BTF func_info) and, when `opts`
/// names no kfuncs, the prototypes of the test kfunc set (`profiles::testmod()`), which is
/// what the CLI and the scenario suite register.
pub fn verify_module(module: &Module, mut opts: VerifyOptions) -> VerifyOutcome {
    if opts.funcs.is_empty() {
        opts.funcs = module.funcs.clone();
    }
    if opts.kfuncs.is_empty() {
        opts.kfuncs = kfunc_table(&kbpf_kfunc::profiles::testmod());
    }
    for (i, m) in module.maps.iter().enumerate() {
        // Map types the verifier does not model are verified with hash-map rules.
        let kind = MapKind::from_raw(m.map_type).unwrap_or(MapKind::Hash);
        opts.maps.push(MapDef {
            fd: i as i32,
            name: m.name.clone(),
            kind,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
        });
    }
    if let Some(l) = &module.license {
        opts.gpl =
            ["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"]
                .contains(&l.as_str());
    }
    kbpf_verifier::verify(&module.program.to_slots(), &opts)
}

#[cfg(test)]
mod section_tests {
    use super::prog_type_for_section;
    use kbpf_verifier::ProgType;

    #[test]
    fn tc_sections() {
        for s in ["tc", "classifier", "tc/ingress", "tcx/egress", "tcx/ingress"] {
            assert_eq!(prog_type_for_section(s), Some(ProgType::SchedCls), "{s}");
        }
        assert_eq!(prog_type_for_section("xdp"), Some(ProgType::Xdp));
        assert_eq!(prog_type_for_section("kprobe/foo"), None);
        assert_eq!(prog_type_for_section("tcp"), None);
    }
}
