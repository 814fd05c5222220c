//! The dynptr and iterator natives follow the kernel's data layouts and return conventions
//! (`struct bpf_dynptr_kern`, `struct bpf_iter_num_kern`, bpf_testmod's `bpf_iter_testmod_seq`).

use kbpf_kfunc::{FuncKind, Registry, profiles};

/// Calls a native with pointers to this test's live buffers, of the sizes the prototypes ask.
fn call(r: &Registry, kind: FuncKind, name: &str, args: &[u64]) -> u64 {
    let d = match kind {
        FuncKind::Helper => r.helper_by_name(name),
        FuncKind::Kfunc => r.kfunc_by_name(name),
    }
    .unwrap_or_else(|| panic!("{name} registered"));
    let mut a = [0u64; 12];
    a[..args.len()].copy_from_slice(args);
    let f = d.native.unwrap_or_else(|| panic!("{name} has a native"));
    // SAFETY: every caller below passes addresses of live local buffers (dynptrs of 16 bytes,
    // iterators of their state size, memory for its size argument), as the contract asks.
    #[allow(unsafe_code)]
    unsafe {
        f.call(&a)
    }
}

const EINVAL: u64 = (-22i64) as u64;
const E2BIG: u64 = (-7i64) as u64;

#[test]
fn local_dynptr_over_host_memory() {
    let r = profiles::testmod();
    let mut data: Vec<u8> = (0u8..54).collect();
    let mut dynptr = [0u8; 16];
    let (d, p) = (data.as_mut_ptr() as u64, dynptr.as_mut_ptr() as u64);
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_from_mem", &[d, 54, 0, p]), 0);
    // data pointer, then size | LOCAL << 28, then offset 0
    assert_eq!(u64::from_le_bytes(dynptr[..8].try_into().unwrap()), d);
    assert_eq!(u32::from_le_bytes(dynptr[8..12].try_into().unwrap()), 54 | (1 << 28));
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_size", &[p]), 54);
    let mut out = [0u8; 4];
    let o = out.as_mut_ptr() as u64;
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_read", &[o, 4, p, 50, 0]), 0);
    assert_eq!(out, [50, 51, 52, 53]);
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_read", &[o, 4, p, 51, 0]), E2BIG);
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_read", &[o, 4, p, 0, 1]), EINVAL);
    let src = [9u8, 9];
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_write", &[p, 1, src.as_ptr() as u64, 2, 0]), 0);
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_data", &[p, 1, 2]), d + 1);
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_data", &[p, 53, 2]), 0);
    assert_eq!(&data[..4], &[0, 9, 9, 3]);
    // a clone narrowed by adjust; the parent keeps its size
    let mut clone = [0u8; 16];
    let c = clone.as_mut_ptr() as u64;
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_clone", &[p, c]), 0);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_adjust", &[c, 2, 10]), 0);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_size", &[c]), 8);
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_data", &[c, 0, 1]), d + 2);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_adjust", &[c, 9, 9]), (-34i64) as u32 as u64);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_size", &[p]), 54);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_is_null", &[p]), 0);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_is_rdonly", &[p]), 0);
    // flags make a NULL dynptr, whose size is -EINVAL as u32
    assert_eq!(call(&r, FuncKind::Helper, "bpf_dynptr_from_mem", &[d, 54, 1, p]), EINVAL);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_size", &[p]), EINVAL as u32 as u64);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_dynptr_is_null", &[p]), 1);
}

#[test]
fn iter_num_counts_like_bpf_for() {
    let r = profiles::testmod();
    let mut it = [0u8; 8];
    let p = it.as_mut_ptr() as u64;
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_num_new", &[p, 2, 5]), 0);
    let mut seen = Vec::new();
    loop {
        let e = call(&r, FuncKind::Kfunc, "bpf_iter_num_next", &[p]);
        if e == 0 {
            break;
        }
        assert_eq!(e, p, "the element is the iterator's `cur`");
        seen.push(i32::from_le_bytes(it[..4].try_into().unwrap()));
    }
    assert_eq!(seen, [2, 3, 4]);
    call(&r, FuncKind::Kfunc, "bpf_iter_num_destroy", &[p]);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_num_new", &[p, 5, 2]), EINVAL as u32 as u64);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_num_next", &[p]), 0);
}

#[test]
fn testmod_seq_iterator() {
    let r = profiles::testmod();
    let mut it = [0u8; 16];
    let p = it.as_mut_ptr() as u64;
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_testmod_seq_new", &[p, 100, 2]), 0);
    let args: Vec<u64> = (1..=9).chain([p]).collect();
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_kfunc_call_stack_arg_iter", &args), 145);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_testmod_seq_value", &[5, p]), 105);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_testmod_seq_next", &[p]), p);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_testmod_seq_next", &[p]), p);
    assert_eq!(call(&r, FuncKind::Kfunc, "bpf_iter_testmod_seq_next", &[p]), 0);
    call(&r, FuncKind::Kfunc, "bpf_iter_testmod_seq_destroy", &[p]);
    assert_eq!(
        call(&r, FuncKind::Kfunc, "bpf_iter_testmod_seq_new", &[p, 1, u32::MAX as u64]),
        EINVAL as u32 as u64
    );
}

#[test]
fn dynptr_and_iter_kfuncs_carry_their_flags() {
    use kbpf_kfunc::KfuncFlags;
    let r = profiles::testmod();
    let flags = |n: &str| r.kfunc_by_name(n).unwrap().proto.flags;
    assert!(flags("bpf_iter_num_new").contains(KfuncFlags::ITER_NEW));
    assert!(flags("bpf_iter_num_next").contains(KfuncFlags::ITER_NEXT | KfuncFlags::RET_NULL));
    assert!(flags("bpf_iter_testmod_seq_destroy").contains(KfuncFlags::ITER_DESTROY));
    let skb = r.kfunc_by_name("bpf_dynptr_from_skb").unwrap();
    assert!(skb.native.is_some(), "runs on kbpf::test_run contexts");
    assert!(skb.proto.prog_types.as_ref().unwrap().contains(&kbpf_isa::KernelProgType::SocketFilter));
    assert_eq!(kbpf_kfunc::iter_state_size("testmod_seq"), 16);
}

#[test]
fn natives_carry_the_contracts_their_prototypes_imply() {
    use kbpf_kfunc::{MemLen, NativeArg};
    let r = profiles::testmod();
    let contract = |kind, n: &str| {
        let d = match kind {
            FuncKind::Helper => r.helper_by_name(n),
            FuncKind::Kfunc => r.kfunc_by_name(n),
        };
        d.unwrap().native.unwrap().contract()
    };
    assert_eq!(
        contract(FuncKind::Helper, "bpf_dynptr_from_mem").unwrap(),
        [
            NativeArg::Mem { len: MemLen::Arg(1), write: true, nullable: false },
            NativeArg::Value,
            NativeArg::Value,
            NativeArg::Dynptr { init: false },
        ]
    );
    assert_eq!(
        contract(FuncKind::Kfunc, "bpf_dynptr_from_skb").unwrap()[0],
        NativeArg::Ctx { packet_at: Some(192) }
    );
    assert_eq!(
        contract(FuncKind::Kfunc, "bpf_dynptr_from_xdp").unwrap()[0],
        NativeArg::Ctx { packet_at: Some(24) }
    );
    assert_eq!(
        contract(FuncKind::Kfunc, "bpf_iter_testmod_seq_next").unwrap(),
        [NativeArg::Iter { size: 16 }]
    );
    assert_eq!(contract(FuncKind::Kfunc, "bpf_kfunc_call_stack_arg_const_str").unwrap()[9], NativeArg::Str);
    assert!(matches!(
        contract(FuncKind::Kfunc, "bpf_kfunc_arena_stack_arg_test").unwrap()[5],
        NativeArg::Unchecked(_)
    ));
    // safe natives: any values will do
    for n in ["bpf_ktime_get_ns", "bpf_timer_start"] {
        assert_eq!(contract(FuncKind::Helper, n), None, "{n}");
    }
    assert_eq!(contract(FuncKind::Kfunc, "bpf_kfunc_call_test_release"), None);
    // every contract is what the registered prototype implies (with the packet layouts)
    for reg in [profiles::conformance(), profiles::kernel(), profiles::testmod()] {
        for d in reg.iter() {
            if let Some(c) = d.native.and_then(|f| f.contract()) {
                assert_eq!(c, d.native_args(), "{}", d.name);
            }
        }
    }
}

#[test]
fn unsafe_natives_cannot_be_wrapped_as_safe_ones() {
    // `NativeFn::A1` takes a safe fn; only `with_contract` (unsafe) takes an unsafe one, and the
    // contract must cover every parameter
    extern "C" fn id(x: u64) -> u64 {
        x
    }
    assert_eq!(kbpf_kfunc::NativeFn::A1(id).contract(), None);
    #[allow(unsafe_code)]
    // SAFETY: `id` dereferences nothing.
    let short = unsafe { kbpf_kfunc::NativeFn::with_contract(kbpf_kfunc::RawNative::A1(id), &[]) };
    assert!(short.is_none());
}
