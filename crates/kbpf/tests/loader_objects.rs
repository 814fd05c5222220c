//! The libbpf-like loader on real clang objects: the C programs of `tests/loader/` are compiled
//! with clang-19 (into this test's target directory) and opened against a hand-built target BTF
//! and kernel config, so every extern kind, map definition, section type and link order is
//! checked against what libbpf would submit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kbpf::elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Linkage, Member, TargetBtf, VarLinkage};
use kbpf::elf::kconfig::Kconfig;
use kbpf::elf::sections::{AttachType, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, KernelProgType};
use kbpf::elf::{MapDef, POISON_CALL_KFUNC_BASE};
use kbpf::isa::{CallKind, RawInsn};
use kbpf::{KconfigSource, LoadOptions, LoadedObject, ProgError};
use kbpf_oracle::objects::compile_c;

fn object(name: &str) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/loader/{name}.c"));
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("loader");
    let obj = compile_c(&src, &out).unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(obj).expect("object")
}

/// The ids the target BTF gives each name.
struct Ids {
    fentry_test1: u32,
    trace_sys_enter: u32,
    lsm_file_open: u32,
    iter_task: u32,
    prog_active: u32,
    task_acquire: u32,
}

/// A small vmlinux: just the names the test objects reach.
fn target() -> (TargetBtf, Ids) {
    target_with(true)
}

/// [`target`], with `bpf_task_acquire` taking an `int` when not `compatible`.
fn target_with(compatible: bool) -> (TargetBtf, Ids) {
    let mut b = BtfBuilder::new();
    let int = b.add(BtfType::Int {
        name: "int".into(),
        size: 4,
        encoding: IntEncoding::Signed,
        offset: 0,
        bits: 32,
    });
    let param = |t| Member { name: "x".into(), type_id: t, offset: 0, bitfield_size: 0 };
    let proto = b.add(BtfType::FuncProto { ret: int, params: vec![param(int)], variadic: false });
    let func = |b: &mut BtfBuilder, name: &str| {
        b.add(BtfType::Func { name: name.into(), proto, linkage: Linkage::Global })
    };
    let fentry_test1 = func(&mut b, "bpf_fentry_test1");
    let ptr = b.add(BtfType::Ptr { type_id: proto });
    let trace_sys_enter = b.add(BtfType::Typedef { name: "btf_trace_sys_enter".into(), type_id: ptr });
    let lsm_file_open = func(&mut b, "bpf_lsm_file_open");
    let iter_task = func(&mut b, "bpf_iter_task");
    let prog_active =
        b.add(BtfType::Var { name: "bpf_prog_active".into(), type_id: int, linkage: VarLinkage::Global });
    // struct task_struct *bpf_task_acquire(struct task_struct *p): compatible with the object's
    let task =
        b.add(BtfType::Struct { name: "task_struct".into(), size: 8, members: vec![], kind_flag: false });
    let task_ptr = b.add(BtfType::Ptr { type_id: task });
    let acquire = match compatible {
        true => b.add(BtfType::FuncProto { ret: task_ptr, params: vec![param(task_ptr)], variadic: false }),
        false => proto,
    };
    let task_acquire =
        b.add(BtfType::Func { name: "bpf_task_acquire".into(), proto: acquire, linkage: Linkage::Global });
    let btf = Btf::parse(&b.build()).expect("built BTF parses");
    let ids = Ids { fentry_test1, trace_sys_enter, lsm_file_open, iter_task, prog_active, task_acquire };
    (TargetBtf::new(btf), ids)
}

fn options() -> (LoadOptions, Ids) {
    let (t, ids) = target();
    let config = "CONFIG_BPF_SYSCALL=y\nCONFIG_TRI=m\nCONFIG_CHR=m\nCONFIG_HZ=250\n\
                  CONFIG_BIG=0x123456789\nCONFIG_STR=\"abcdefghij\"\n# CONFIG_MISSING is not set\n";
    let opts = LoadOptions {
        target_btf: Some(Arc::new(t)),
        target_btf_missing: None,
        kconfig: KconfigSource::Given(Kconfig::parse("test", config).unwrap()),
        kernel_release: Some("6.18.3-test".into()),
        kallsyms: false,
        nr_cpus: 4,
        ..LoadOptions::default()
    };
    (opts, ids)
}

fn map<'o>(obj: &'o LoadedObject, name: &str) -> (usize, &'o MapDef) {
    obj.maps.iter().enumerate().find(|(_, m)| m.name == name).unwrap_or_else(|| panic!("no map {name}"))
}

fn ldimm64s(insns: &[RawInsn]) -> Vec<(u8, i32, i32)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < insns.len() {
        if insns[i].is_ldimm64() {
            out.push((insns[i].src, insns[i].imm, insns.get(i + 1).map_or(0, |n| n.imm)));
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn kconfig_externs_of_every_type() {
    let (opts, _) = options();
    let obj = kbpf::open_object(&object("externs"), &opts).unwrap();
    let (kmap, k) = map(&obj, ".kconfig");
    // libbpf's layout: alignment descending, then size, then name
    let mut want = [0u8; 33];
    want[0..8].copy_from_slice(&0x1_2345_6789u64.to_le_bytes()); // CONFIG_BIG
    want[8..12].copy_from_slice(&250u32.to_le_bytes()); // CONFIG_HZ
    want[12..16].copy_from_slice(&2u32.to_le_bytes()); // CONFIG_TRI = m (TRI_MODULE)
    want[16..20].copy_from_slice(&((6u32 << 16) + (18 << 8) + 3).to_le_bytes()); // LINUX_KERNEL_VERSION
    want[20] = 1; // CONFIG_BPF_SYSCALL
    want[21] = b'm'; // CONFIG_CHR
    want[22] = 0; // CONFIG_MISSING (weak, unset)
    want[23] = 1; // LINUX_HAS_BPF_COOKIE
    want[24] = 1; // LINUX_HAS_SYSCALL_WRAPPER
    want[25..33].copy_from_slice(b"abcdefg\0"); // CONFIG_STR, truncated like libbpf
    assert_eq!(k.data.as_deref(), Some(&want[..]));
    assert_eq!((k.map_type, k.key_size, k.value_size, k.max_entries), (2, 4, 33, 1));
    let p = obj.program("p_kcfg").unwrap();
    let offs: Vec<i32> = ldimm64s(&p.insns)
        .into_iter()
        .filter(|&(src, imm, _)| src == 2 && imm == kmap as i32)
        .map(|(_, _, off)| off)
        .collect();
    assert_eq!(offs.len(), 10, "{offs:?}");
    for off in [0, 8, 12, 16, 20, 21, 22, 23, 24, 25] {
        assert!(offs.contains(&off), "{off} in {offs:?}");
    }
    assert_eq!((p.prog_type, p.expected_attach_type), (Some(KernelProgType::Xdp), Some(AttachType::Xdp)));
    // a strong CONFIG_ extern the config lacks is an error naming it
    let bare = LoadOptions { kconfig: KconfigSource::Given(Kconfig::default()), ..options().0 };
    let e = kbpf::open_object(&object("externs"), &bare).unwrap_err().to_string();
    // (the first in libbpf's extern order: CONFIG_HZ's 4-byte alignment sorts first)
    assert_eq!(e, "extern 'CONFIG_HZ' (strong): not resolved");
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn ksyms_and_kfuncs() {
    let (opts, ids) = options();
    let obj = kbpf::open_object(&object("externs"), &opts).unwrap();
    let p = obj.program("p_ksyms").unwrap();
    let lds = ldimm64s(&p.insns);
    // typed ksym: BPF_PSEUDO_BTF_ID with the target's VAR id; unresolved weak ones: 0
    assert!(lds.contains(&(3, ids.prog_active as i32, 0)), "{lds:?}");
    assert_eq!(lds.iter().filter(|l| **l == (0, 0, 0)).count(), 2, "{lds:?}");
    let calls: Vec<(Option<CallKind>, i32, i16)> =
        p.insns.iter().filter(|i| i.call_kind().is_some()).map(|i| (i.call_kind(), i.imm, i.off)).collect();
    assert!(calls.contains(&(Some(CallKind::Kfunc), ids.task_acquire as i32, 0)), "{calls:?}");
    // the weak kfunc the target lacks: libbpf's poisoned helper call, base + extern index
    let idx = obj.externs.iter().position(|e| e.name == "bpf_no_such_kfunc").unwrap() as i32;
    assert!(calls.contains(&(Some(CallKind::Helper), POISON_CALL_KFUNC_BASE + idx, 0)), "{calls:?}");
    // when the kernel refuses that call, the log reads as libbpf rewrites it, naming the kfunc
    let poisoned = POISON_CALL_KFUNC_BASE + idx;
    let at =
        p.insns.iter().position(|i| i.call_kind() == Some(CallKind::Helper) && i.imm == poisoned).unwrap();
    let m = kbpf::module_from_object(&obj, p).unwrap();
    let lines = m.elf.as_ref().unwrap().poisons.rewrite(at, poisoned).unwrap();
    assert_eq!(
        lines,
        [
            format!("{at}: <invalid kfunc call>"),
            "kfunc 'bpf_no_such_kfunc' is referenced but wasn't resolved".into()
        ]
    );
    assert_eq!(p.attach_btf, Some((ids.trace_sys_enter, None)));
    // a kernel prototype the declaration does not match: libbpf's compatibility refusal
    let other = LoadOptions { target_btf: Some(Arc::new(target_with(false).0)), ..options().0 };
    let e = kbpf::open_object(&object("externs"), &other).unwrap_err().to_string();
    assert!(e.starts_with("extern 'bpf_task_acquire' (func ksym) func_proto ["), "{e}");
    // without target BTF a strong kfunc is an error naming it
    let none = LoadOptions { target_btf: None, target_btf_missing: Some("test".into()), ..options().0 };
    let e = kbpf::open_object(&object("externs"), &none).unwrap_err().to_string();
    assert!(e.starts_with("extern 'bpf_prog_active' (var ksym) needs target BTF"), "{e}");
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn sections_and_attach_targets() {
    let (opts, ids) = options();
    let obj = kbpf::open_object(&object("externs"), &opts).unwrap();
    let get = |n: &str| obj.program(n).unwrap_or_else(|| panic!("{n}"));
    let fentry = get("p_fentry");
    assert_eq!(
        (fentry.prog_type, fentry.expected_attach_type, fentry.attach_btf.clone()),
        (Some(KernelProgType::Tracing), Some(AttachType::TraceFentry), Some((ids.fentry_test1, None)))
    );
    let m = get("p_modret");
    assert_eq!((m.expected_attach_type, m.prog_flags), (Some(AttachType::ModifyReturn), BPF_F_SLEEPABLE));
    assert_eq!(get("p_lsm").attach_btf, Some((ids.lsm_file_open, None)));
    assert_eq!(get("p_iter").attach_btf, Some((ids.iter_task, None)));
    assert_eq!(get("p_frags").prog_flags, BPF_F_XDP_HAS_FRAGS);
    assert_eq!(get("p_usdt").expected_attach_type, Some(AttachType::TraceUprobeMulti));
    let missing = get("p_missing").error.clone().unwrap().to_string();
    assert_eq!(
        missing,
        "prog 'p_missing': failed to find kernel BTF type ID of 'no_such_function' (func no_such_function)"
    );
    assert!(matches!(get("p_untargeted").error, Some(ProgError::NoAttachTarget { .. })));
    assert!(matches!(get("p_legacy").error, Some(ProgError::UnknownSection { .. })));
    // --prog-type types a section libbpf cannot
    let forced = LoadOptions { prog_type: Some(KernelProgType::Xdp), ..options().0 };
    let obj = kbpf::open_object(&object("externs"), &forced).unwrap();
    let legacy = obj.program("p_legacy").unwrap();
    assert_eq!((legacy.prog_type, legacy.error.clone()), (Some(KernelProgType::Xdp), None));
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn map_definitions_defaults_and_overrides() {
    let (mut opts, _) = options();
    opts.map_overrides = vec!["hash.max_entries=99".parse().unwrap()];
    let obj = kbpf::open_object(&object("maps"), &opts).unwrap();
    let shape = |n: &str| {
        let (_, m) = map(&obj, n);
        (m.map_type, m.key_size, m.value_size, m.max_entries, m.flags)
    };
    assert_eq!(shape("hash"), (1, 4, 8, 99, 1));
    assert_eq!(map(&obj, "hash").1.pinning, 1);
    assert_eq!(shape("sized"), (2, 4, 24, 4, 0));
    assert_eq!(shape("rb"), (27, 0, 0, 262_144, 0));
    assert_eq!(shape("events"), (4, 4, 4, 4, 0));
    assert_eq!(shape("stacks"), (7, 4, 1016, 1024, 0));
    assert_eq!(shape("bloom"), (30, 0, 8, 64, 0));
    assert_eq!(map(&obj, "bloom").1.map_extra, 3);
    assert_eq!(shape("sk"), (24, 4, 8, 0, 1)); // local storage: no default
    let outer = map(&obj, "outer").1;
    assert_eq!(
        (outer.map_type, outer.value_size, outer.inner_maps.clone()),
        (12, 4, vec![(1, "inner_a".into())])
    );
    let inner = outer.inner.as_deref().unwrap();
    assert_eq!((inner.name.as_str(), inner.map_type, inner.value_size), ("outer.inner", 2, 4));
    let jumps = map(&obj, "jumps").1;
    assert_eq!((jumps.map_type, jumps.progs.clone()), (3, vec![(2, "tail_a".into())]));
    assert_eq!(map(&obj, "hash").1.defaults, ["max_entries 16 -> 99 (--map)"]);
    assert_eq!(map(&obj, "rb").1.defaults.len(), 3);
    for (name, size) in [(".rodata", 4), (".bss", 36), (".data.custom", 4), (".rodata.cfg", 4)] {
        let m = map(&obj, name).1;
        assert_eq!((m.map_type, m.key_size, m.max_entries), (2, 4, 1), "{name}");
        assert!(m.value_size >= size, "{name}: {}", m.value_size);
    }
    assert_eq!(map(&obj, ".rodata.cfg").1.data.as_deref(), Some(&b"abc\0"[..]));
    // every global-data reference is BPF_PSEUDO_MAP_VALUE of its section's map
    let p = obj.program("user").unwrap();
    let lds = ldimm64s(&p.insns);
    for name in [".data.custom", ".rodata.cfg", ".bss"] {
        let idx = map(&obj, name).0 as i32;
        assert!(lds.iter().any(|&(src, imm, _)| src == 2 && imm == idx), "{name}: {lds:?}");
    }
    let idx = map(&obj, "hash").0 as i32;
    assert!(lds.contains(&(1, idx, 0)), "{lds:?}");
    // relocated references are map indices, never literal fds; the prog array's initial value
    // is the module's one tail-call target
    assert!(obj.programs.iter().all(|p| p.literal_fds.is_empty()));
    let m = kbpf::module_from_object(&obj, p).unwrap();
    assert_eq!(m.progs.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["tail_a"]);
    assert!(m.unusable_progs.is_empty() && m.literal_fds.is_empty());
    let e = kbpf::open_object(
        &object("maps"),
        &LoadOptions { map_overrides: vec!["nope.type=1".parse().unwrap()], ..options().0 },
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("ELF: map nope: --map names no map of the object"), "{e}");
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn subprograms_appended_in_libbpf_order() {
    let obj = kbpf::open_object(&object("calls"), &LoadOptions::offline()).unwrap();
    let names: Vec<&str> = obj.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
    for p in &obj.programs {
        // every call and function reference lands on a function start of this program
        let starts: Vec<usize> = p.layout.iter().map(|(_, at)| *at).collect();
        for (i, insn) in p.insns.iter().enumerate() {
            let local = insn.call_kind() == Some(CallKind::Local) || (insn.is_ldimm64() && insn.src == 4);
            if local {
                let target = (i as i64 + insn.imm as i64 + 1) as usize;
                assert!(starts.contains(&target), "{}: insn {i} -> {target} not in {starts:?}", p.name);
            }
        }
        // func_info: one record per placed function, at its start, in order
        let fi: Vec<usize> = p.func_info.iter().map(|f| f.insn as usize).collect();
        assert_eq!(fi, starts, "{}", p.name);
        assert_eq!(p.funcs.len(), p.layout.len());
        assert!(!p.line_info.is_empty());
        assert!(p.line_info.windows(2).all(|w| w[0].insn <= w[1].insn), "{}", p.name);
    }
    let layout =
        |n: &str| -> Vec<String> { obj.program(n).unwrap().layout.iter().map(|(f, _)| f.clone()).collect() };
    // `second` reaches only what it calls, in the order it calls them
    assert_eq!(layout("second"), ["second", "glob", "sub_a"]);
    let first = layout("first");
    assert_eq!(first[0], "first");
    assert_eq!(first.len(), 6, "{first:?}"); // first, cb, sub_b, sub_a, glob, hid in call order
    // a hidden global is verified like a static function (libbpf marks its BTF FUNC static)
    let f = obj.program("first").unwrap();
    let globals: Vec<(&str, bool)> = f.funcs.iter().map(|d| (d.name.as_str(), d.global)).collect();
    assert!(globals.contains(&("glob", true)) && globals.contains(&("hid", false)), "{globals:?}");
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn dead_arguments_of_a_static_function_per_target_kernel() {
    use kbpf::verifier::{ProgType, VerifyOptions};
    let obj = kbpf::open_object(&object("dead_args"), &LoadOptions::offline()).unwrap();
    let p = obj.program("dead_args").unwrap();
    let many = p.funcs.iter().find(|f| f.name == "many").unwrap();
    assert_eq!(many.nargs, 7); // BTF keeps the source prototype
    let m = kbpf::module_from_object(&obj, p).unwrap();
    let verify = |stack_args| {
        let opts = VerifyOptions {
            prog_type: ProgType::SocketFilter,
            log_level: 1,
            stack_args,
            ..Default::default()
        };
        kbpf::verify_module(&m, opts)
    };
    // Linux 6.18 (`--kernel 6.18`): unreliable BTF, the body verified as called; the running
    // kernel says the same (processed 19 insns, stack depth 0+0)
    let old = verify(false);
    assert!(old.accepted, "{}", old.log);
    assert_eq!(old.stats.processed_insns, 19);
    // the stack-arguments series: two stack arguments expected and never stored
    let new = verify(true);
    assert_eq!(new.error.unwrap().message(), "callee expects 7 args, stack arg1 is not initialized");
}

/// The kernel side of `tests/loader/struct_ops.c`: `tcp_congestion_ops` with `ssthresh` first
/// and its map value wrapper.
fn struct_ops_target(with_wrapper: bool) -> (TargetBtf, u32) {
    let mut b = BtfBuilder::new();
    let int = b.add(BtfType::Int {
        name: "int".into(),
        size: 4,
        encoding: IntEncoding::Signed,
        offset: 0,
        bits: 32,
    });
    let proto = b.add(BtfType::FuncProto { ret: int, params: vec![], variadic: false });
    let fptr = b.add(BtfType::Ptr { type_id: proto });
    let m = |name: &str, bits| Member { name: name.into(), type_id: fptr, offset: bits, bitfield_size: 0 };
    let ops = b.add(BtfType::Struct {
        name: "tcp_congestion_ops".into(),
        size: 16,
        members: vec![m("ssthresh", 0), m("cong_avoid", 64)],
        kind_flag: false,
    });
    if with_wrapper {
        let data = Member { name: "data".into(), type_id: ops, offset: 0, bitfield_size: 0 };
        b.add(BtfType::Struct {
            name: "bpf_struct_ops_tcp_congestion_ops".into(),
            size: 16,
            members: vec![data],
            kind_flag: false,
        });
    }
    (TargetBtf::new(Btf::parse(&b.build()).unwrap()), ops)
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn struct_ops_members_and_exception_callbacks() {
    let (t, ops) = struct_ops_target(true);
    let opts =
        LoadOptions { target_btf: Some(Arc::new(t)), target_btf_missing: None, ..LoadOptions::offline() };
    let obj = kbpf::open_object(&object("struct_ops"), &opts).unwrap();
    let member = |n: &str| {
        let p = obj.program(n).unwrap();
        (p.prog_type, p.attach_btf.clone(), p.expected_attach_number())
    };
    // the kernel's member order, not the object's
    assert_eq!(member("my_ssthresh"), (Some(KernelProgType::StructOps), Some((ops, None)), 0));
    assert_eq!(member("my_cong_avoid"), (Some(KernelProgType::StructOps), Some((ops, None)), 1));
    // a struct_ops program no member names: libbpf's refusal
    let lonely = obj.program("lonely").unwrap().error.as_ref().map(ToString::to_string);
    assert_eq!(
        lonely.as_deref(),
        Some(
            "prog 'lonely': SEC(\"struct_ops\") program isn't referenced anywhere, did you forget to use it?"
        )
    );
    // nothing calls exc_cb, yet it follows its program (libbpf's exception callback)
    let p = obj.program("with_cb").unwrap();
    let names: Vec<&str> = p.layout.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["with_cb", "exc_cb"]);
    // a kernel without the struct_ops wrapper: the object does not load, as with libbpf
    let (t, _) = struct_ops_target(false);
    let opts =
        LoadOptions { target_btf: Some(Arc::new(t)), target_btf_missing: None, ..LoadOptions::offline() };
    let e = kbpf::open_object(&object("struct_ops"), &opts).unwrap_err().to_string();
    assert_eq!(
        e,
        "ELF: map my_ops: struct_ops init_kern: struct bpf_struct_ops_tcp_congestion_ops is not found in kernel BTF"
    );
}
