//! Verification of a [`Module`]: the facts beside the instructions (maps, license) become
//! verifier options.

use kbpf_kfunc::{ArgKind, FuncKind, KfuncFlags, Registry, RetKind};
use std::sync::LazyLock;

use kbpf_verifier::{
    IterRole, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTable, KfuncTraits, MapDef, MapKind,
    VerifyOptions, VerifyOutcome,
};

use crate::source::Module;
use kbpf_verifier::messages::Unsupported;

/// The verifier's view of the kfuncs of `registry` (prototype kinds, BTF ids), indexed by BTF
/// id. Built once per registry (cached in it until a function is registered); clones share the
/// table.
pub fn kfunc_table(registry: &Registry) -> KfuncTable {
    registry.derived(build_kfunc_table)
}

fn build_kfunc_table(registry: &Registry) -> KfuncTable {
    let mut v: Vec<KfuncDecl> = registry
        .iter()
        .filter(|d| d.kind == FuncKind::Kfunc)
        .map(|d| decl_of(d.id, &d.name, &d.proto))
        .collect();
    v.sort_by_key(|k| k.btf_id);
    KfuncTable::new(v)
}

/// The verifier's view of one kfunc prototype.
pub(crate) fn decl_of(id: i32, name: &str, proto: &kbpf_kfunc::Proto) -> KfuncDecl {
    let flag = |f| proto.flags.contains(f);
    KfuncDecl {
        btf_id: id,
        name: name.to_string(),
        args: proto
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
                    ArgKind::Dynptr => KfuncArgKind::Dynptr,
                    ArgKind::Iter(n) => {
                        KfuncArgKind::Iter { name: n.clone(), size: kbpf_kfunc::iter_state_size(n) }
                    }
                    ArgKind::ConstStr => KfuncArgKind::ConstStr,
                    ArgKind::Timer => KfuncArgKind::Timer,
                    other => KfuncArgKind::Unmodelled(format!("{other:?}")),
                },
                nullable: a.nullable,
            })
            .collect(),
        ret: match &proto.ret {
            None | Some(RetKind::Void) => KfuncRet::Void,
            Some(RetKind::Scalar) => KfuncRet::Scalar,
            Some(RetKind::Mem(n)) => KfuncRet::Mem(*n),
            Some(RetKind::BtfId(t)) => KfuncRet::Object(t.clone()),
            Some(RetKind::MapValue) => KfuncRet::Object("map value".into()),
        },
        ret_null: flag(KfuncFlags::RET_NULL),
        iter: [
            (KfuncFlags::ITER_NEW, IterRole::New),
            (KfuncFlags::ITER_NEXT, IterRole::Next),
            (KfuncFlags::ITER_DESTROY, IterRole::Destroy),
        ]
        .into_iter()
        .find(|(f, _)| flag(*f))
        .map(|(_, r)| r),
        prog_types: proto.prog_types.clone(),
        traits: KfuncTraits {
            acquire: flag(KfuncFlags::ACQUIRE),
            release: flag(KfuncFlags::RELEASE),
            trusted_args: flag(KfuncFlags::TRUSTED_ARGS),
            rcu: flag(KfuncFlags::RCU),
            sleepable: flag(KfuncFlags::SLEEPABLE),
            rcu_protected: flag(KfuncFlags::RCU_PROTECTED),
            refused_after_args: false,
        },
        unmodelled: None,
    }
}

/// `opts.kfuncs` plus the target kernel's kfuncs that `slots` call, typed from `opts.btf` (what
/// [`verify_module`] adds for a module), for callers that verify raw slots; `opts.kfuncs`
/// unchanged without a target BTF.
pub fn with_target_kfuncs(opts: &VerifyOptions, slots: &[kbpf_isa::RawInsn]) -> KfuncTable {
    match &opts.btf {
        Some(btf) => {
            let prog = opts.prog_type.ops_with(opts.expected_attach_type).kernel_type();
            crate::target_kfuncs::with_target_kfuncs(
                &opts.kfuncs,
                slots,
                &btf.0,
                prog,
                opts.expected_attach_type,
            )
        }
        None => opts.kfuncs.clone(),
    }
}

/// The test kfunc set's table, built on first use: the default of every `verify_module` call.
static TESTMOD_KFUNCS: LazyLock<KfuncTable> = LazyLock::new(|| kfunc_table(&kbpf_kfunc::profiles::testmod()));

/// Verifies `module` with `opts`, adding the module's maps (by index, as the ELF loader numbers
/// them), its license, its function prototypes (`.func` / BTF func_info), its line info and, when `opts`
/// names no kfuncs, the prototypes of the test kfunc set (`profiles::testmod()`), which is
/// what the CLI and the scenario suite register.
pub fn verify_module(module: &Module, mut opts: VerifyOptions) -> VerifyOutcome {
    if opts.funcs.is_empty() {
        opts.funcs = module.funcs.clone();
        opts.btf_func_info = module.btf_func_info;
    }
    if opts.line_info.is_empty() {
        opts.line_info = module.line_info.clone();
    }
    if opts.kfuncs.is_empty() {
        opts.kfuncs = TESTMOD_KFUNCS.clone();
    }
    if opts.literal_fds.is_empty() {
        opts.literal_fds = module.literal_fds.clone();
    }
    // an ELF program loads with its section's expected attach type (and attach BTF id)
    if let Some(elf) = &module.elf {
        if opts.expected_attach_type.is_none() {
            opts.expected_attach_type = elf.expected_attach_type;
        }
        if opts.attach_btf_id == 0 {
            opts.attach_btf_id = elf.attach_btf.as_ref().map_or(0, |(id, _)| *id);
        }
        // a struct_ops program loads its member's index as expected attach type
        if opts.prog_type == kbpf_verifier::ProgType::StructOps {
            if opts.struct_ops_member == 0 {
                opts.struct_ops_member = elf.expected_attach_number;
            }
            // the struct is a module's: kbpf types programs by vmlinux alone
            if let Some((_, Some(module))) = &elf.attach_btf {
                let _ = module;
                return unsupported(Unsupported::Feature("a struct_ops struct of a kernel module's BTF"));
            }
        }
        // refused by the verifier before the walk (EEXIST)
        opts.several_exception_cbs = elf.several_exception_cbs;
        // BPF_F_SLEEPABLE (`.s` sections), and the target BTF the loader resolved against
        opts.sleepable |= elf.prog_flags & kbpf_elf::sections::BPF_F_SLEEPABLE != 0;
        if opts.btf.is_none() {
            opts.btf = elf.target_btf.clone().map(kbpf_verifier::KernelBtf);
        }
        if opts.prog_btf.is_none() {
            opts.prog_btf = elf.prog_btf.clone().map(kbpf_verifier::KernelBtf);
        }
    }
    // the target kernel's kfuncs the program calls, typed from its BTF
    if let Some(btf) = &opts.btf {
        let prog = opts.prog_type.ops_with(opts.expected_attach_type).kernel_type();
        opts.kfuncs = crate::target_kfuncs::with_target_kfuncs(
            &opts.kfuncs,
            &module.slots,
            &btf.0,
            prog,
            opts.expected_attach_type,
        );
    }
    // a refused attach target (or a kernel that cannot load trampoline programs at all)
    // refuses the program whatever its maps are: their types do not matter then
    let refused = kbpf_verifier::btf::attach::refused_whatever_the_body(&opts);
    // a kprobe's link flavour follows its expected attach type (`--attach-type` included)
    opts.prog_type = opts.prog_type.with_expected_attach(opts.expected_attach_type);
    // inner map templates follow the module's maps: the fds stay the module's indices
    let mut templates = Vec::new();
    for (i, m) in module.maps.iter().enumerate() {
        // the value's special fields: from the object's BTF, else a bare timer offset
        let (record, inner_record) = match module.elf.as_ref().and_then(|e| e.map_records.get(i)) {
            Some(r) => (r.value.clone(), r.inner.clone()),
            None => (
                Ok(MapDef::timer_record(m.timer_off)),
                Ok(MapDef::timer_record(m.inner.as_ref().and_then(|i| i.timer_off))),
            ),
        };
        // map creation fails (libbpf would retry without BTF): not modelled
        let (record, inner_record) = match (record, inner_record) {
            (Ok(r), Ok(i)) => (r, i),
            (Err(e), _) | (_, Err(e)) => {
                return unsupported(Unsupported::MapRecord { map: m.name.clone(), why: e.to_string() });
            }
        };
        let Some(mut def) = map_def(m, refused) else {
            return unsupported_map(&m.name, m.map_type.number());
        };
        def.record = record;
        def.fd = i as i32;
        // the name the kernel prints: libbpf's, cut to 15 bytes, global data after the object
        if let Some(elf) = &module.elf {
            def.name = kbpf_elf::map_names::kernel_map_name(&elf.object_name, &m.name);
        }
        if matches!(def.kind, MapKind::ArrayOfMaps | MapKind::HashOfMaps) && !refused {
            // the kernel types lookups by the template user space created the outer map with
            let Some(inner) = m.inner.as_deref() else {
                return unsupported(Unsupported::Feature(
                    "a map-in-map without an inner map template in the object",
                ));
            };
            let Some(mut t) = map_def(inner, false) else {
                return unsupported_map(&inner.name, inner.map_type.number());
            };
            t.record = inner_record;
            if t.timer_off().is_some() {
                // lookups then need the kernel's map_uid, which kbpf does not track
                return unsupported(Unsupported::Feature("an inner map whose value holds a bpf_timer"));
            }
            // bpf_map_meta_alloc copies the type, sizes, flags and fields, not the name
            t.name.clear();
            t.fd = -1;
            t.template = true;
            t.frozen = false;
            t.initial = None;
            def.inner = Some((module.maps.len() + templates.len()) as u32);
            templates.push(t);
        }
        opts.maps.push(def);
    }
    opts.maps.extend(templates);
    if let Some(l) = &module.license {
        opts.gpl =
            ["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"]
                .contains(&l.as_str());
    }
    let mut out = kbpf_verifier::verify(&module.slots, &opts);
    // an ELF object is a libbpf load: its failed load's log carries libbpf's rewrite
    if let (Some(elf), Some(err)) = (&module.elf, &out.error) {
        elf.poisons.fixup_log(err, &mut out.log);
    }
    out
}

/// One map as the verifier sees it (fd 0: the caller numbers it); `None` for a map type
/// the verifier does not model (any type passes as a hash when `refused`: the program is
/// refused whatever its maps are).
fn map_def(m: &kbpf_isa::MapSpec, refused: bool) -> Option<MapDef> {
    // libbpf loads `.rodata` read-only for programs and freezes it after writing its data
    let rodata = m.name == ".rodata" || m.name.starts_with(".rodata.");
    // a map type the verifier does not model is no guess at its rules
    let kind = MapKind::from_raw(m.map_type.number()).or(refused.then_some(MapKind::Hash))?;
    Some(MapDef {
        fd: 0,
        name: m.name.clone(),
        kind,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.flags.0 | if rodata { kbpf_verifier::BPF_F_RDONLY_PROG } else { 0 },
        frozen: rodata || m.frozen,
        // element 0 as the program sees it: the data is stored without trailing zeros,
        // which the verifier reads as zero (never padded here: value_size is untrusted)
        initial: (rodata || m.frozen || !m.data.is_empty()).then(|| m.data.clone()),
        record: None,
        inner: None,
        template: false,
    })
}

/// The outcome for a module with a map type the verifier does not model: refused before any
/// instruction is examined, as unsupported (never as a kernel verdict).
fn unsupported_map(map: &str, map_type: u32) -> VerifyOutcome {
    unsupported(Unsupported::MapType { map: map.to_string(), map_type })
}

/// Refused before any instruction is examined, as unsupported.
fn unsupported(what: Unsupported) -> VerifyOutcome {
    let reject = kbpf_verifier::Reject::Unsupported(what);
    VerifyOutcome {
        accepted: false,
        error: Some(kbpf_verifier::VerifyError::new(None, reject)),
        log: String::new(),
        stats: Default::default(),
        insn_aux: Vec::new(),
        witness: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Module;

    /// `bpf_kfunc_call_stack_arg_const_str(1..9, "hello")` with the string in a global-data map.
    fn const_str_module(map_name: &str) -> Module {
        let registry = kbpf_kfunc::profiles::testmod();
        let src = "r6 = map_value(0, 0) ll\nr1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\n\
                   *(u64 *)(r11 -8) = 6\n*(u64 *)(r11 -16) = 7\n*(u64 *)(r11 -24) = 8\n\
                   *(u64 *)(r11 -32) = 9\n*(u64 *)(r11 -40) = r6\ncall bpf_kfunc_call_stack_arg_const_str\nexit\n";
        let kfuncs = |n: &str| registry.kfunc_by_name(n).map(|d| d.id);
        let m = kbpf_isa::asm::assemble_module(src, &kfuncs).expect("assembles");
        Module {
            slots: m.program.to_slots(),
            lines: None,
            funcs: m.funcs,
            maps: vec![kbpf_isa::MapSpec {
                name: map_name.into(),
                map_type: kbpf_isa::MapType::Array,
                key_size: 4,
                value_size: 8,
                max_entries: 1,
                data: b"hello".to_vec(),
                ..Default::default()
            }],
            name: String::new(),
            progs: Vec::new(),
            unusable_progs: Vec::new(),
            literal_fds: Vec::new(),
            section: None,
            license: Some("GPL".into()),
            input: None,
            line_info: Vec::new(),
            btf_func_info: false,
            elf: None,
        }
    }

    #[test]
    fn an_unmodelled_map_type_is_unsupported_not_guessed() {
        let mut m = const_str_module(".rodata");
        m.maps[0].map_type = kbpf_isa::MapType::Other(33); // BPF_MAP_TYPE_ARENA
        let out = verify_module(&m, VerifyOptions::default());
        let err = out.error.expect("refused");
        assert!(!out.accepted && out.witness.is_none());
        assert_eq!(err.kind(), kbpf_verifier::RejectKind::Unsupported);
        assert_eq!(err.message(), "kbpf: map .rodata has type 33 (enum bpf_map_type), which is not modelled");
    }

    #[test]
    fn a_map_in_map_needs_its_inner_template() {
        let mut m = const_str_module(".rodata");
        let outer = kbpf_isa::MapSpec {
            name: "outer".into(),
            map_type: kbpf_isa::MapType::Other(12), // BPF_MAP_TYPE_ARRAY_OF_MAPS
            key_size: 4,
            value_size: 4,
            max_entries: 2,
            ..Default::default()
        };
        m.maps.push(outer.clone());
        let err = verify_module(&m, VerifyOptions::default()).error.expect("refused");
        assert_eq!(err.kind(), kbpf_verifier::RejectKind::Unsupported);
        assert_eq!(
            err.message(),
            "kbpf: a map-in-map without an inner map template in the object is not modelled"
        );
        let inner = kbpf_isa::MapSpec { name: "outer.inner".into(), value_size: 8, ..outer.clone() };
        let inner = kbpf_isa::MapSpec { map_type: kbpf_isa::MapType::Array, ..inner };
        m.maps[1].inner = Some(Box::new(inner.clone()));
        let out = verify_module(&m, VerifyOptions::default());
        assert!(out.accepted, "{:?}", out.error);
        let nested = kbpf_isa::MapSpec { map_type: kbpf_isa::MapType::Other(33), ..inner };
        m.maps[1].inner = Some(Box::new(nested));
        let err = verify_module(&m, VerifyOptions::default()).error.expect("refused");
        assert_eq!(
            err.message(),
            "kbpf: map outer.inner has type 33 (enum bpf_map_type), which is not modelled"
        );
    }

    #[test]
    fn rodata_is_read_only_and_frozen_like_libbpf_loads_it() {
        let out = verify_module(&const_str_module(".rodata"), VerifyOptions::default());
        assert!(out.accepted, "{:?}", out.error);
        let out = verify_module(&const_str_module(".data"), VerifyOptions::default());
        assert_eq!(out.error.unwrap().message(), "*(R11-40) does not point to a readonly map'");
    }
}
