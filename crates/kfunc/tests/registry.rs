//! Registry as data: registration rules, the test kfunc set, BTF import.

use kbpf_kfunc::{
    ArgKind, FuncKind, KfuncFlags, NativeFn, Proto, Registry, RegistryError, RetKind, profiles,
};

extern "C" fn twelve(
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    e: u64,
    f: u64,
    g: u64,
    h: u64,
    i: u64,
    j: u64,
    k: u64,
    l: u64,
) -> u64 {
    [a, b, c, d, e, f, g, h, i, j, k, l].iter().enumerate().map(|(n, x)| x << (4 * (11 - n))).sum()
}

/// Calls a native whose arguments here are all plain values (or NULL where it is nullable).
fn call(f: NativeFn, a: &[u64; 12]) -> u64 {
    // SAFETY: the callers pass scalars only, and 0 for the one nullable object pointer, which
    // the native does not dereference: nothing for the contract to require.
    #[allow(unsafe_code)]
    unsafe {
        f.call(a)
    }
}

#[test]
fn a_twelve_argument_rust_function_is_one_call() {
    let mut r = Registry::new();
    r.add_kfunc(7, "twelve", NativeFn::A12(twelve)).unwrap();
    let d = r.kfunc(7).unwrap();
    assert_eq!(d.proto.args.len(), 12);
    let args: [u64; 12] = std::array::from_fn(|i| i as u64 + 1);
    assert_eq!(call(d.native.unwrap(), &args), 0x123456789abc);
    assert_eq!(r.kfunc_by_name("twelve").unwrap().id, 7);
}

#[test]
fn registration_rules() {
    let mut r = Registry::new();
    assert!(matches!(
        r.register(FuncKind::Helper, 1, "h", Proto::scalars(6), None),
        Err(RegistryError::TooManyHelperArgs(_, 6))
    ));
    let e =
        r.register(FuncKind::Kfunc, 1, "k13", Proto::scalars(13), Some(NativeFn::A12(twelve))).unwrap_err();
    assert_eq!(e.to_string(), "Function k13 has 13 > 12 args");
    // a prototype alone may be longer, as BTF can be; the verifier refuses calls to it
    r.register(FuncKind::Kfunc, 99, "k13", Proto::scalars(13), None).unwrap();
    assert!(matches!(
        r.register(FuncKind::Kfunc, 1, "k", Proto::scalars(3), Some(NativeFn::A12(twelve))),
        Err(RegistryError::ArityMismatch(..))
    ));
    r.register(FuncKind::Kfunc, 1, "k", Proto::scalars(3), None).unwrap();
    assert!(matches!(
        r.register(FuncKind::Kfunc, 1, "k2", Proto::scalars(3), None),
        Err(RegistryError::Duplicate { .. })
    ));
}

#[test]
fn test_kfunc_set() {
    let r = profiles::testmod();
    let sa = r.kfunc_by_name("bpf_kfunc_call_stack_arg").unwrap();
    assert_eq!(call(sa.native.unwrap(), &std::array::from_fn(|i| i as u64 + 1)), 55);
    let w = r.kfunc_by_name("kbpf_test_weighted12").unwrap();
    assert_eq!(call(w.native.unwrap(), &[1; 12]), 78);
    let mem = r.kfunc_by_name("bpf_kfunc_call_stack_arg_mem").unwrap();
    assert_eq!(mem.proto.args[5].kind, ArgKind::Mem { size: None, uninit: false });
    assert_eq!(mem.proto.args[6].kind, ArgKind::MemSize { constant: false });
    let acq = r.kfunc_by_name("bpf_kfunc_call_test_acquire").unwrap();
    assert!(acq.proto.flags.contains(KfuncFlags::ACQUIRE | KfuncFlags::RET_NULL));
    assert_eq!(acq.proto.flags.names(), ["KF_ACQUIRE", "KF_RET_NULL"]);
    let nul = r.kfunc_by_name("kbpf_test_nullable7").unwrap();
    assert!(nul.proto.args[6].nullable);
    assert_eq!(call(nul.native.unwrap(), &[0; 12]), 0);
    assert_eq!(r.helper(7).unwrap().name, "bpf_get_prandom_u32");
}

#[test]
#[ignore = "needs /sys/kernel/btf/vmlinux (a kernel with CONFIG_DEBUG_INFO_BTF; cargo xtask test runs it there)"]
fn btf_import_from_vmlinux_when_present() {
    let data = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let btf = kbpf_elf::btf::Btf::parse(&data).unwrap();
    let (_, p) = kbpf_kfunc::btf_import::import(&btf, "bpf_iter_num_new").unwrap();
    let kinds: Vec<&ArgKind> = p.args.iter().map(|a| &a.kind).collect();
    assert_eq!(kinds, [&ArgKind::Iter("num".into()), &ArgKind::Scalar, &ArgKind::Scalar]);
    assert_eq!(p.flags, KfuncFlags::ITER_NEW);
    let (_, p) = kbpf_kfunc::btf_import::import(&btf, "bpf_iter_num_next").unwrap();
    assert_eq!(p.flags, KfuncFlags::ITER_NEXT | KfuncFlags::RET_NULL);
    assert_eq!(p.ret, Some(RetKind::Mem(4)));
    let (_, p) = kbpf_kfunc::btf_import::import(&btf, "bpf_iter_num_destroy").unwrap();
    assert_eq!(p.flags, KfuncFlags::ITER_DESTROY);
    let (_, p) = kbpf_kfunc::btf_import::import(&btf, "bpf_dynptr_slice").unwrap();
    let kinds: Vec<&ArgKind> = p.args.iter().map(|a| &a.kind).collect();
    assert_eq!(
        kinds,
        [
            &ArgKind::Dynptr,
            &ArgKind::Scalar,
            &ArgKind::Mem { size: None, uninit: false },
            &ArgKind::MemSize { constant: true }
        ]
    );
    assert!(p.args[2].nullable);
    let (_, p) = kbpf_kfunc::btf_import::import(&btf, "bpf_task_acquire").unwrap();
    assert_eq!(p.args[0].kind, ArgKind::BtfId("task_struct".into()));
    assert_eq!(p.ret, Some(RetKind::BtfId("task_struct".into())));
    assert!(kbpf_kfunc::btf_import::import(&btf, "no_such_kfunc_xyz").is_err());
}
