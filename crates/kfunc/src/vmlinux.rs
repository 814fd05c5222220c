//! Kernel (vmlinux) dynptr and iterator functions with natives that follow the kernel's data
//! layouts, so that engines run programs using them: the helpers `bpf_dynptr_from_mem` (197),
//! `bpf_dynptr_read` (201), `bpf_dynptr_write` (202), `bpf_dynptr_data` (203), and the kfuncs `bpf_dynptr_size`,
//! `bpf_dynptr_slice{,_rdwr}`, `bpf_iter_num_{new,next,destroy}`, and `bpf_dynptr_from_skb` /
//! `bpf_dynptr_from_xdp` on kbpf's run-time contexts ([`RUNTIME_SKB_DATA_OFF`]: the packet is
//! one linear buffer, so skb and xdp dynptrs read, write and slice it directly).
//!
//! kfunc ids are kbpf's own (`VMLINUX_BASE_ID + n`); a real kernel's ids come from its BTF
//! (`btf_import`).

use crate::native::NativeFn;
use crate::proto::{ArgKind, ArgProto, KfuncFlags, Proto, RetKind};
use crate::registry::{FuncKind, Registry};

/// First id of kbpf's vmlinux kfunc set.
pub const VMLINUX_BASE_ID: i32 = 0x2000_0000;

/// `sizeof(struct bpf_iter_<name>)` of the kernel's open-coded iterators (8 when unknown: one
/// slot, the smallest iterator).
pub fn iter_state_size(name: &str) -> u32 {
    match name {
        "num" | "css_task" | "task_vma" | "kmem_cache" | "dmabuf" => 8,
        "testmod_seq" | "bits" => 16,
        "task" | "css" => 24,
        _ => 8,
    }
}

// struct bpf_dynptr_kern { void *data; u32 size; u32 offset; }: the top bits of `size` hold
// the read-only bit (31) and the type (28..30), the low 24 bits the length.
const DYNPTR_SIZE_MASK: u32 = 0x00ff_ffff;
const DYNPTR_TYPE_SHIFT: u32 = 28;
const DYNPTR_RDONLY_BIT: u32 = 1 << 31;
const DYNPTR_TYPE_LOCAL: u32 = 1;
const DYNPTR_TYPE_RINGBUF: u32 = 2;
const DYNPTR_TYPE_SKB: u32 = 3;
const DYNPTR_TYPE_XDP: u32 = 4;

/// kbpf's run-time `__sk_buff` (what `kbpf::test_run` builds): the 192-byte uapi structure,
/// then the host pointers `data`, `data_end`, `data_meta` at this offset.
pub const RUNTIME_SKB_DATA_OFF: u64 = 192;
/// The same for the run-time `xdp_md` (24-byte uapi structure).
pub const RUNTIME_XDP_DATA_OFF: u64 = 24;
const EINVAL: i64 = 22;
const E2BIG: i64 = 7;
const ERANGE: i64 = 34;
/// `BPF_MAX_LOOPS`.
const MAX_LOOPS: i64 = 8 * 1024 * 1024;

fn err(e: i64) -> u64 {
    (-e) as u64
}

#[allow(unsafe_code)]
fn read<T: Copy>(addr: u64) -> T {
    // SAFETY: callers pass addresses of objects the verifier proved live and large enough for
    // `T` (a dynptr or iterator on the BPF stack, or memory + size pairs it checked).
    unsafe { std::ptr::read_unaligned(addr as *const T) }
}

#[allow(unsafe_code)]
fn write<T: Copy>(addr: u64, v: T) {
    // SAFETY: as for `read`: the verifier proved the destination writable for `size_of::<T>()`
    // bytes (an uninitialized dynptr or iterator slot, or a checked writable buffer).
    unsafe { std::ptr::write_unaligned(addr as *mut T, v) }
}

#[allow(unsafe_code)]
fn copy(dst: u64, src: u64, len: u64) {
    // SAFETY: `dst`/`src` cover `len` bytes: the verifier checked the buffer argument against
    // its size argument, and the dynptr side was bounds-checked against the dynptr's length
    // just before; `copy` tolerates overlap.
    unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, len as usize) }
}

struct Dynptr {
    data: u64,
    size: u32,
    offset: u32,
}

fn dynptr_get(p: u64) -> Dynptr {
    Dynptr { data: read::<u64>(p), size: read::<u32>(p + 8), offset: read::<u32>(p + 12) }
}

fn dynptr_set(p: u64, d: &Dynptr) {
    write(p, d.data);
    write(p + 8, d.size);
    write(p + 12, d.offset);
}

impl Dynptr {
    fn len(&self) -> u64 {
        (self.size & DYNPTR_SIZE_MASK) as u64
    }
    /// `bpf_dynptr_check_off_len`.
    fn check_off_len(&self, off: u64, len: u64) -> bool {
        off <= self.len() && len <= self.len() - off
    }
}

extern "C" fn dynptr_from_mem(data: u64, size: u64, flags: u64, ptr: u64) -> u64 {
    let null = Dynptr { data: 0, size: 0, offset: 0 };
    if flags != 0 {
        dynptr_set(ptr, &null);
        return err(EINVAL);
    }
    let size = size as u32;
    if size > DYNPTR_SIZE_MASK {
        dynptr_set(ptr, &null);
        return err(E2BIG);
    }
    dynptr_set(ptr, &Dynptr { data, size: size | (DYNPTR_TYPE_LOCAL << DYNPTR_TYPE_SHIFT), offset: 0 });
    0
}

/// `bpf_dynptr_from_skb` / `_xdp`: a dynptr over the packet of a run-time context whose
/// `data`/`data_end` pointers are at `data_off`.
fn dynptr_from_pkt(ctx: u64, flags: u64, ptr: u64, data_off: u64, ty: u32) -> u64 {
    if flags != 0 {
        dynptr_set(ptr, &Dynptr { data: 0, size: 0, offset: 0 });
        return err(EINVAL);
    }
    let data = read::<u64>(ctx + data_off);
    let end = read::<u64>(ctx + data_off + 8);
    let len = end.saturating_sub(data).min(DYNPTR_SIZE_MASK as u64) as u32;
    dynptr_set(ptr, &Dynptr { data, size: len | (ty << DYNPTR_TYPE_SHIFT), offset: 0 });
    0
}

extern "C" fn dynptr_from_skb(ctx: u64, flags: u64, ptr: u64) -> u64 {
    dynptr_from_pkt(ctx, flags, ptr, RUNTIME_SKB_DATA_OFF, DYNPTR_TYPE_SKB)
}

extern "C" fn dynptr_from_xdp(ctx: u64, flags: u64, ptr: u64) -> u64 {
    dynptr_from_pkt(ctx, flags, ptr, RUNTIME_XDP_DATA_OFF, DYNPTR_TYPE_XDP)
}

extern "C" fn dynptr_read(dst: u64, len: u64, src: u64, offset: u64, flags: u64) -> u64 {
    let d = dynptr_get(src);
    let (len, offset) = (len as u32 as u64, offset as u32 as u64);
    if d.data == 0 || flags != 0 {
        return err(EINVAL);
    }
    if !d.check_off_len(offset, len) {
        return err(E2BIG);
    }
    copy(dst, d.data + d.offset as u64 + offset, len);
    0
}

extern "C" fn dynptr_write(dst: u64, offset: u64, src: u64, len: u64, flags: u64) -> u64 {
    let d = dynptr_get(dst);
    let (len, offset) = (len as u32 as u64, offset as u32 as u64);
    if d.data == 0 || d.size & DYNPTR_RDONLY_BIT != 0 {
        return err(EINVAL);
    }
    if !d.check_off_len(offset, len) {
        return err(E2BIG);
    }
    if flags != 0 {
        return err(EINVAL);
    }
    copy(d.data + d.offset as u64 + offset, src, len);
    0
}

extern "C" fn dynptr_data(p: u64, offset: u64, len: u64) -> u64 {
    let d = dynptr_get(p);
    let (len, offset) = (len as u32 as u64, offset as u32 as u64);
    if d.data == 0 || !d.check_off_len(offset, len) || d.size & DYNPTR_RDONLY_BIT != 0 {
        return 0;
    }
    // only local and ring-buffer dynptrs hand out direct pointers
    match (d.size >> DYNPTR_TYPE_SHIFT) & 7 {
        DYNPTR_TYPE_LOCAL | DYNPTR_TYPE_RINGBUF => d.data + d.offset as u64 + offset,
        _ => 0,
    }
}

/// `bpf_dynptr_slice` / `_rdwr`: a direct pointer when in range (kbpf's packets are linear,
/// so skb and xdp slices never need the copy buffer).
extern "C" fn dynptr_slice(p: u64, offset: u64, _buffer: u64, len: u64) -> u64 {
    let d = dynptr_get(p);
    let (len, offset) = (len as u32 as u64, offset as u32 as u64);
    if d.data == 0 || !d.check_off_len(offset, len) {
        return 0;
    }
    match (d.size >> DYNPTR_TYPE_SHIFT) & 7 {
        DYNPTR_TYPE_LOCAL | DYNPTR_TYPE_RINGBUF | DYNPTR_TYPE_SKB | DYNPTR_TYPE_XDP => {
            d.data + d.offset as u64 + offset
        }
        _ => 0,
    }
}

extern "C" fn dynptr_clone(p: u64, clone: u64) -> u64 {
    let d = dynptr_get(p);
    if d.data == 0 {
        dynptr_set(clone, &Dynptr { data: 0, size: 0, offset: 0 });
        return err(EINVAL) as u32 as u64;
    }
    dynptr_set(clone, &d);
    0
}

extern "C" fn dynptr_adjust(p: u64, start: u64, end: u64) -> u64 {
    let mut d = dynptr_get(p);
    let (start, end) = (start as u32, end as u32);
    if d.data == 0 {
        return err(EINVAL) as u32 as u64;
    }
    let len = d.len() as u32;
    if start > len || end > len {
        return err(ERANGE) as u32 as u64;
    }
    if start > end {
        return err(EINVAL) as u32 as u64;
    }
    d.offset += start;
    d.size = (d.size & !DYNPTR_SIZE_MASK) | (end - start);
    dynptr_set(p, &d);
    0
}

extern "C" fn dynptr_is_null(p: u64) -> u64 {
    (dynptr_get(p).data == 0) as u64
}

extern "C" fn dynptr_is_rdonly(p: u64) -> u64 {
    let d = dynptr_get(p);
    (d.data != 0 && d.size & DYNPTR_RDONLY_BIT != 0) as u64
}

extern "C" fn dynptr_size(p: u64) -> u64 {
    let d = dynptr_get(p);
    if d.data == 0 {
        return err(EINVAL) as u32 as u64;
    }
    d.len()
}

// struct bpf_iter_num_kern { int cur; int end; }
extern "C" fn iter_num_new(it: u64, start: u64, end: u64) -> u64 {
    let (start, end) = (start as i32, end as i32);
    write(it, 0i32);
    write(it + 4, 0i32);
    if start > end {
        return err(EINVAL) as u32 as u64;
    }
    if end as i64 - start as i64 > MAX_LOOPS {
        return err(E2BIG) as u32 as u64;
    }
    write(it, start.wrapping_sub(1));
    write(it + 4, end);
    0
}

extern "C" fn iter_num_next(it: u64) -> u64 {
    let (cur, end) = (read::<i32>(it), read::<i32>(it + 4));
    if cur as i64 + 1 >= end as i64 {
        write(it, 0i32);
        write(it + 4, 0i32);
        return 0;
    }
    write(it, cur + 1);
    it
}

extern "C" fn iter_num_destroy(it: u64) -> u64 {
    write(it + 4, 0i32);
    0
}

fn arg(name: &str, kind: ArgKind) -> ArgProto {
    ArgProto { name: name.to_string(), kind, nullable: false }
}

/// Adds the dynptr and iterator helpers (by kernel helper id) to `r`.
pub fn register_helpers(r: &mut Registry) -> Result<(), crate::RegistryError> {
    r.add_helper(197, "bpf_dynptr_from_mem", NativeFn::A4(dynptr_from_mem))?;
    r.add_helper(201, "bpf_dynptr_read", NativeFn::A5(dynptr_read))?;
    r.add_helper(202, "bpf_dynptr_write", NativeFn::A5(dynptr_write))?;
    r.add_helper(203, "bpf_dynptr_data", NativeFn::A3(dynptr_data))
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
    let skb_types = [
        "socket_filter",
        "sched_cls",
        "sched_act",
        "sk_skb",
        "cgroup_skb",
        "lwt_in",
        "lwt_out",
        "lwt_xmit",
        "lwt_seg6local",
        "netfilter",
    ];
    type Entry = (&'static str, Vec<ArgProto>, RetKind, KfuncFlags, Option<Vec<String>>, Option<NativeFn>);
    let entries: Vec<Entry> = vec![
        (
            "bpf_dynptr_size",
            vec![arg("p", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(NativeFn::A1(dynptr_size)),
        ),
        (
            "bpf_dynptr_clone",
            vec![arg("p", ArgKind::Dynptr), arg("clone__uninit", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(NativeFn::A2(dynptr_clone)),
        ),
        (
            "bpf_dynptr_adjust",
            vec![arg("p", ArgKind::Dynptr), ArgProto::scalar("start"), ArgProto::scalar("end")],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(NativeFn::A3(dynptr_adjust)),
        ),
        (
            "bpf_dynptr_is_null",
            vec![arg("p", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(NativeFn::A1(dynptr_is_null)),
        ),
        (
            "bpf_dynptr_is_rdonly",
            vec![arg("p", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            None,
            Some(NativeFn::A1(dynptr_is_rdonly)),
        ),
        (
            "bpf_dynptr_from_skb",
            vec![arg("s", ArgKind::Ctx), ArgProto::scalar("flags"), arg("ptr__uninit", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            Some(skb_types.iter().map(|s| s.to_string()).collect()),
            Some(NativeFn::A3(dynptr_from_skb)),
        ),
        (
            "bpf_dynptr_from_xdp",
            vec![arg("x", ArgKind::Ctx), ArgProto::scalar("flags"), arg("ptr__uninit", ArgKind::Dynptr)],
            RetKind::Scalar,
            KfuncFlags::NONE,
            Some(vec!["xdp".to_string()]),
            Some(NativeFn::A3(dynptr_from_xdp)),
        ),
        (
            "bpf_dynptr_slice",
            slice_args(),
            RetKind::Mem(0),
            KfuncFlags::RET_NULL,
            None,
            Some(NativeFn::A4(dynptr_slice)),
        ),
        (
            "bpf_dynptr_slice_rdwr",
            slice_args(),
            RetKind::Mem(0),
            KfuncFlags::RET_NULL,
            None,
            Some(NativeFn::A4(dynptr_slice)),
        ),
        (
            "bpf_iter_num_new",
            vec![num(), ArgProto::scalar("start"), ArgProto::scalar("end")],
            RetKind::Scalar,
            KfuncFlags::ITER_NEW,
            None,
            Some(NativeFn::A3(iter_num_new)),
        ),
        (
            "bpf_iter_num_next",
            vec![num()],
            RetKind::Mem(4),
            KfuncFlags::ITER_NEXT | KfuncFlags::RET_NULL,
            None,
            Some(NativeFn::A1(iter_num_next)),
        ),
        (
            "bpf_iter_num_destroy",
            vec![num()],
            RetKind::Void,
            KfuncFlags::ITER_DESTROY,
            None,
            Some(NativeFn::A1(iter_num_destroy)),
        ),
    ];
    for (i, (name, args, ret, flags, prog_types, native)) in entries.into_iter().enumerate() {
        let proto = Proto { args, ret: Some(ret), flags, prog_types };
        r.register(FuncKind::Kfunc, VMLINUX_BASE_ID + i as i32, name, proto, native)?;
    }
    Ok(())
}
