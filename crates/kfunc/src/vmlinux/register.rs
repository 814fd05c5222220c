//! The vmlinux natives' registrations: their kernel prototypes and, per native, the contract
//! of what it dereferences (the natives themselves are the parent module's).

use super::*;

fn arg(name: &str, kind: ArgKind) -> ArgProto {
    ArgProto { name: name.to_string(), kind, nullable: false }
}

// What each native dereferences (the contracts the natives above are written against).
const V: NativeArg = NativeArg::V;
const DYN: NativeArg = NativeArg::DYNPTR;
static FROM_MEM: [NativeArg; 4] = [NativeArg::mem(1, true, false), V, V, NativeArg::DYNPTR_OUT];
static READ: [NativeArg; 5] = [NativeArg::mem(1, true, false), V, DYN, V, V];
static WRITE: [NativeArg; 5] = [DYN, V, NativeArg::mem(3, false, false), V, V];
static DATA: [NativeArg; 3] = [DYN, V, V];
static ONE_DYNPTR: [NativeArg; 1] = [DYN];
static CLONE: [NativeArg; 2] = [DYN, NativeArg::DYNPTR_OUT];
static ADJUST: [NativeArg; 3] = [DYN, V, V];
static FROM_SKB: [NativeArg; 3] =
    [NativeArg::Ctx { packet_at: Some(RUNTIME_SKB_DATA_OFF) }, V, NativeArg::DYNPTR_OUT];
static FROM_XDP: [NativeArg; 3] =
    [NativeArg::Ctx { packet_at: Some(RUNTIME_XDP_DATA_OFF) }, V, NativeArg::DYNPTR_OUT];
static SLICE: [NativeArg; 4] = [DYN, V, NativeArg::mem(3, false, true), V];
static ITER_NUM_NEW: [NativeArg; 3] = [NativeArg::Iter { size: 8 }, V, V];
static ITER_NUM: [NativeArg; 1] = [NativeArg::Iter { size: 8 }];

/// A native of this module with its contract.
fn native(raw: RawNative, contract: &'static [NativeArg]) -> NativeFn {
    // SAFETY: every native of this module dereferences exactly what the contract it is paired
    // with below lists (16-byte dynptrs and their views, memory for its size argument, the
    // packet pointers of a run-time context, 8 bytes of iterator state), as its body shows.
    #[allow(unsafe_code)]
    unsafe { NativeFn::with_contract(raw, contract) }.expect("one contract entry per parameter")
}

/// Adds the dynptr helpers (by kernel helper id) to `r`, with their kernel prototypes (the
/// verifier has its own helper table; these say what the natives touch).
pub fn register_helpers(r: &mut Registry) -> Result<(), crate::RegistryError> {
    let mem = |name: &str, uninit: bool| arg(name, ArgKind::Mem { size: None, uninit });
    let size = |name: &str| arg(name, ArgKind::MemSize { constant: false });
    let scalar = ArgProto::scalar;
    let entries: [(BpfFunc, Vec<ArgProto>, RetKind, NativeFn); 4] = [
        (
            BpfFunc::DynptrFromMem,
            vec![mem("data", true), size("size"), scalar("flags"), arg("ptr__uninit", ArgKind::Dynptr)],
            RetKind::Scalar,
            native(RawNative::A4(dynptr_from_mem), &FROM_MEM),
        ),
        (
            BpfFunc::DynptrRead,
            vec![
                mem("dst", true),
                size("len"),
                arg("src", ArgKind::Dynptr),
                scalar("offset"),
                scalar("flags"),
            ],
            RetKind::Scalar,
            native(RawNative::A5(dynptr_read), &READ),
        ),
        (
            BpfFunc::DynptrWrite,
            vec![
                arg("dst", ArgKind::Dynptr),
                scalar("offset"),
                mem("src", false),
                size("len"),
                scalar("flags"),
            ],
            RetKind::Scalar,
            native(RawNative::A5(dynptr_write), &WRITE),
        ),
        (
            BpfFunc::DynptrData,
            vec![arg("ptr", ArgKind::Dynptr), scalar("offset"), arg("len", ArgKind::Const)],
            RetKind::Mem(0),
            native(RawNative::A3(dynptr_data), &DATA),
        ),
    ];
    for (func, args, ret, f) in entries {
        let proto = Proto { args, ret: Some(ret), ..Proto::default() };
        r.register(FuncKind::Helper, func.id(), func.name(), proto, Some(f))?;
    }
    Ok(())
}

/// Adds the vmlinux dynptr and iterator kfuncs to `r`.
pub fn register_kfuncs(r: &mut Registry) -> Result<(), crate::RegistryError> {
    let num = || arg("it", ArgKind::Iter("num".into()));
    let slice_args = || {
        vec![
            arg("p", ArgKind::Dynptr),
            ArgProto::scalar("offset"),
            ArgProto {
                name: "buffer__opt".into(),
                kind: ArgKind::Mem { size: None, uninit: false },
                nullable: true,
            },
            arg("buffer__szk", ArgKind::MemSize { constant: true }),
        ]
    };
    let skb_types = {
        use KernelProgType::*;
        [SocketFilter, SchedCls, SchedAct, SkSkb, CgroupSkb, LwtIn, LwtOut, LwtXmit, LwtSeg6local, Netfilter]
    };
    type Entry =
        (&'static str, Vec<ArgProto>, RetKind, KfuncFlags, Option<Vec<KernelProgType>>, Option<NativeFn>);
    let entries: Vec<Entry> = vec![
        (
            "bpf_dynptr_size",
            vec![arg("p", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(native(RawNative::A1(dynptr_size), &ONE_DYNPTR)),
        ),
        (
            "bpf_dynptr_clone",
            vec![arg("p", ArgKind::Dynptr), arg("clone__uninit", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(native(RawNative::A2(dynptr_clone), &CLONE)),
        ),
        (
            "bpf_dynptr_adjust",
            vec![arg("p", ArgKind::Dynptr), ArgProto::scalar("start"), ArgProto::scalar("end")],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(native(RawNative::A3(dynptr_adjust), &ADJUST)),
        ),
        (
            "bpf_dynptr_is_null",
            vec![arg("p", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(native(RawNative::A1(dynptr_is_null), &ONE_DYNPTR)),
        ),
        (
            "bpf_dynptr_is_rdonly",
            vec![arg("p", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(native(RawNative::A1(dynptr_is_rdonly), &ONE_DYNPTR)),
        ),
        (
            "bpf_dynptr_from_skb",
            vec![arg("s", ArgKind::Ctx), ArgProto::scalar("flags"), arg("ptr__uninit", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            Some(skb_types.to_vec()),
            Some(native(RawNative::A3(dynptr_from_skb), &FROM_SKB)),
        ),
        (
            "bpf_dynptr_from_xdp",
            vec![arg("x", ArgKind::Ctx), ArgProto::scalar("flags"), arg("ptr__uninit", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            Some(vec![KernelProgType::Xdp]),
            Some(native(RawNative::A3(dynptr_from_xdp), &FROM_XDP)),
        ),
        (
            "bpf_dynptr_slice",
            slice_args(),
            RetKind::Mem(0),
            KfuncFlags::RET_NULL,
            None,
            Some(native(RawNative::A4(dynptr_slice), &SLICE)),
        ),
        (
            "bpf_dynptr_slice_rdwr",
            slice_args(),
            RetKind::Mem(0),
            KfuncFlags::RET_NULL,
            None,
            Some(native(RawNative::A4(dynptr_slice), &SLICE)),
        ),
        (
            "bpf_iter_num_new",
            vec![num(), ArgProto::scalar("start"), ArgProto::scalar("end")],
            RetKind::Scalar,
            KfuncFlags::ITER_NEW,
            None,
            Some(native(RawNative::A3(iter_num_new), &ITER_NUM_NEW)),
        ),
        (
            "bpf_iter_num_next",
            vec![num()],
            RetKind::Mem(4),
            KfuncFlags::ITER_NEXT | KfuncFlags::RET_NULL,
            None,
            Some(native(RawNative::A1(iter_num_next), &ITER_NUM)),
        ),
        (
            "bpf_iter_num_destroy",
            vec![num()],
            RetKind::Void,
            KfuncFlags::ITER_DESTROY,
            None,
            Some(native(RawNative::A1(iter_num_destroy), &ITER_NUM)),
        ),
    ];
    for (i, (name, args, ret, flags, prog_types, native)) in entries.into_iter().enumerate() {
        let proto = Proto { args, ret: Some(ret), flags, prog_types };
        r.register(FuncKind::Kfunc, VMLINUX_BASE_ID + i as i32, name, proto, native)?;
    }
    Ok(())
}
