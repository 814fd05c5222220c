//! Kernel (vmlinux) dynptr and iterator functions with natives that follow the kernel's data
//! layouts, so that engines run programs using them: the helpers `bpf_dynptr_from_mem` (197),
//! `bpf_dynptr_read` (201), `bpf_dynptr_write` (202), `bpf_dynptr_data` (203), and the kfuncs `bpf_dynptr_size`,
//! `bpf_dynptr_slice{,_rdwr}`, `bpf_iter_num_{new,next,destroy}`, and `bpf_dynptr_from_skb` /
//! `bpf_dynptr_from_xdp` on kbpf's run-time contexts ([`RUNTIME_SKB_DATA_OFF`]: the packet is
//! one linear buffer, so skb and xdp dynptrs read, write and slice it directly).
//!
//! kfunc ids are kbpf's own (`VMLINUX_BASE_ID + n`); a real kernel's ids come from its BTF
//! (`btf_import`).

use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, KfuncFlags, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry};
use kbpf_isa::{BpfFunc, KernelProgType};

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
/// The same for a flow dissector's run-time `__sk_buff`: past the two slots where an skb's
/// `data`/`data_end` are, which a flow dissector's test run leaves describing an empty packet
/// (it has no skb, so `bpf_skb_load_bytes` finds no byte).
pub const RUNTIME_FLOW_DATA_OFF: u64 = 208;
const EINVAL: i64 = 22;
const E2BIG: i64 = 7;
const ERANGE: i64 = 34;
/// `BPF_MAX_LOOPS`.
const MAX_LOOPS: i64 = 8 * 1024 * 1024;

fn err(e: i64) -> u64 {
    (-e) as u64
}

/// Where `bpf_dynptr_from_skb` / `_xdp` and `bpf_skb_load_bytes` read the packet pointers of their context, by name.
pub fn packet_ctx_off(name: &str) -> Option<u64> {
    match name {
        "bpf_dynptr_from_skb" | "bpf_skb_load_bytes" => Some(RUNTIME_SKB_DATA_OFF),
        "bpf_dynptr_from_xdp" => Some(RUNTIME_XDP_DATA_OFF),
        _ => None,
    }
}

// Every native below is an `unsafe extern "C" fn` whose contract is `NativeFn::call`'s: its
// pointer arguments are what the prototype registered with it says (`Proto::native_args`).

/// # Safety
/// `addr` is valid for reading `size_of::<T>()` bytes.
#[allow(unsafe_code)]
unsafe fn read<T: Copy>(addr: u64) -> T {
    // SAFETY: the caller's contract; the read tolerates any alignment.
    unsafe { std::ptr::read_unaligned(addr as *const T) }
}

/// # Safety
/// `addr` is valid for writing `size_of::<T>()` bytes.
#[allow(unsafe_code)]
unsafe fn write<T: Copy>(addr: u64, v: T) {
    // SAFETY: the caller's contract; the write tolerates any alignment.
    unsafe { std::ptr::write_unaligned(addr as *mut T, v) }
}

/// # Safety
/// `src` is readable and `dst` writable for `len` bytes (they may overlap), both non-null.
#[allow(unsafe_code)]
unsafe fn copy(dst: u64, src: u64, len: u64) {
    // SAFETY: the caller's contract; `ptr::copy` tolerates overlap.
    unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, len as usize) }
}

struct Dynptr {
    data: u64,
    size: u32,
    offset: u32,
}

/// # Safety
/// `p` is a readable 16-byte `struct bpf_dynptr`.
#[allow(unsafe_code)]
unsafe fn dynptr_get(p: u64) -> Dynptr {
    // SAFETY: the caller's contract covers the 16 bytes.
    unsafe {
        Dynptr {
            data: read::<u64>(p),
            size: read::<u32>(p.wrapping_add(8)),
            offset: read::<u32>(p.wrapping_add(12)),
        }
    }
}

/// # Safety
/// `p` is a writable 16-byte `struct bpf_dynptr`.
#[allow(unsafe_code)]
unsafe fn dynptr_set(p: u64, d: &Dynptr) {
    // SAFETY: the caller's contract covers the 16 bytes.
    unsafe {
        write(p, d.data);
        write(p.wrapping_add(8), d.size);
        write(p.wrapping_add(12), d.offset);
    }
}

/// Sets the dynptr at `p` to a ring-buffer record of `len` bytes at `data` (0: the NULL dynptr,
/// what a failed reservation leaves).
///
/// # Safety
/// `p` is a writable 16-byte `struct bpf_dynptr`.
#[allow(unsafe_code)]
pub(crate) unsafe fn set_ringbuf_dynptr(p: u64, data: u64, len: u32) {
    let d = match data {
        0 => NULL_DYNPTR,
        _ => Dynptr {
            data,
            size: (len & DYNPTR_SIZE_MASK) | (DYNPTR_TYPE_RINGBUF << DYNPTR_TYPE_SHIFT),
            offset: 0,
        },
    };
    // SAFETY: the caller's contract.
    unsafe { dynptr_set(p, &d) }
}

/// The data pointer of the dynptr at `p` (a ring-buffer record's start whatever its offset).
///
/// # Safety
/// `p` is a readable 16-byte `struct bpf_dynptr`.
#[allow(unsafe_code)]
pub(crate) unsafe fn dynptr_data_ptr(p: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { dynptr_get(p) }.data
}

impl Dynptr {
    fn len(&self) -> u64 {
        (self.size & DYNPTR_SIZE_MASK) as u64
    }
    /// `bpf_dynptr_check_off_len`.
    fn check_off_len(&self, off: u64, len: u64) -> bool {
        off <= self.len() && len <= self.len() - off
    }
    /// Address of byte `off` of the dynptr's view (in range when `check_off_len` held: the
    /// contract says `data + offset .. + len` is memory).
    fn at(&self, off: u64) -> u64 {
        self.data.wrapping_add(self.offset as u64).wrapping_add(off)
    }
}

/// The memory a `struct bpf_dynptr` describes, as the natives compute it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynptrView {
    /// Address of its first byte (`data + offset`, wrapping as the natives compute it).
    pub addr: u64,
    /// Bytes it covers.
    pub len: u64,
    /// Marked read-only (the natives never write through it).
    pub rdonly: bool,
}

/// What the natives would touch through a dynptr with these 16 bytes; `None` for a null
/// dynptr (`data` 0), which they never dereference.
pub fn dynptr_view(raw: [u8; 16]) -> Option<DynptrView> {
    let [a, b, c, d, e, f, g, h, s0, s1, s2, s3, o0, o1, o2, o3] = raw;
    let d = Dynptr {
        data: u64::from_ne_bytes([a, b, c, d, e, f, g, h]),
        size: u32::from_ne_bytes([s0, s1, s2, s3]),
        offset: u32::from_ne_bytes([o0, o1, o2, o3]),
    };
    (d.data != 0).then(|| DynptrView { addr: d.at(0), len: d.len(), rdonly: d.size & DYNPTR_RDONLY_BIT != 0 })
}

const NULL_DYNPTR: Dynptr = Dynptr { data: 0, size: 0, offset: 0 };

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_from_mem(data: u64, size: u64, flags: u64, ptr: u64) -> u64 {
    // SAFETY (all writes): `ptr` is a writable 16-byte dynptr (`ptr__uninit`).
    if flags != 0 {
        unsafe { dynptr_set(ptr, &NULL_DYNPTR) };
        return err(EINVAL);
    }
    let size = size as u32;
    if size > DYNPTR_SIZE_MASK {
        unsafe { dynptr_set(ptr, &NULL_DYNPTR) };
        return err(E2BIG);
    }
    let d = Dynptr { data, size: size | (DYNPTR_TYPE_LOCAL << DYNPTR_TYPE_SHIFT), offset: 0 };
    unsafe { dynptr_set(ptr, &d) };
    0
}

/// `bpf_dynptr_from_skb` / `_xdp`: a dynptr over the packet of a run-time context whose
/// `data`/`data_end` pointers are at `data_off`.
///
/// # Safety
/// `ctx + data_off` holds 16 readable bytes and `ptr` is a writable 16-byte dynptr.
#[allow(unsafe_code)]
unsafe fn dynptr_from_pkt(ctx: u64, flags: u64, ptr: u64, data_off: u64, ty: u32) -> u64 {
    // a type that may not write its packet gets a read-only one (`bpf_dynptr_from_skb_rdonly`)
    let rdonly = if crate::run_prog::current().packet_write { 0 } else { DYNPTR_RDONLY_BIT };
    // SAFETY (all accesses): the function's contract.
    if flags != 0 {
        unsafe { dynptr_set(ptr, &NULL_DYNPTR) };
        return err(EINVAL);
    }
    let data = unsafe { read::<u64>(ctx.wrapping_add(data_off)) };
    let end = unsafe { read::<u64>(ctx.wrapping_add(data_off + 8)) };
    let len = end.saturating_sub(data).min(DYNPTR_SIZE_MASK as u64) as u32;
    unsafe { dynptr_set(ptr, &Dynptr { data, size: len | (ty << DYNPTR_TYPE_SHIFT) | rdonly, offset: 0 }) };
    0
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_from_skb(ctx: u64, flags: u64, ptr: u64) -> u64 {
    // SAFETY: `ctx` is a run-time skb context, `ptr` a writable dynptr (the contract).
    unsafe { dynptr_from_pkt(ctx, flags, ptr, RUNTIME_SKB_DATA_OFF, DYNPTR_TYPE_SKB) }
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_from_xdp(ctx: u64, flags: u64, ptr: u64) -> u64 {
    // SAFETY: `ctx` is a run-time xdp context, `ptr` a writable dynptr (the contract).
    unsafe { dynptr_from_pkt(ctx, flags, ptr, RUNTIME_XDP_DATA_OFF, DYNPTR_TYPE_XDP) }
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_read(dst: u64, len: u64, src: u64, offset: u64, flags: u64) -> u64 {
    // SAFETY: `src` is an initialized dynptr whose view is memory (the contract).
    let d = unsafe { dynptr_get(src) };
    let (len, offset) = (len as u32 as u64, offset as u32 as u64);
    if d.data == 0 || flags != 0 {
        return err(EINVAL);
    }
    if !d.check_off_len(offset, len) {
        return err(E2BIG);
    }
    // SAFETY: `dst` is writable for `len` bytes (its size argument); the source is inside the
    // dynptr's view (checked just above).
    unsafe { copy(dst, d.at(offset), len) };
    0
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_write(dst: u64, offset: u64, src: u64, len: u64, flags: u64) -> u64 {
    // SAFETY: `dst` is an initialized dynptr whose view is memory, writable unless read-only.
    let d = unsafe { dynptr_get(dst) };
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
    // SAFETY: `src` is readable for `len` bytes (its size argument); the destination is inside
    // the writable view (checked above).
    unsafe { copy(d.at(offset), src, len) };
    0
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_data(p: u64, offset: u64, len: u64) -> u64 {
    // SAFETY: `p` is an initialized dynptr (the contract).
    let d = unsafe { dynptr_get(p) };
    let (len, offset) = (len as u32 as u64, offset as u32 as u64);
    if d.data == 0 || !d.check_off_len(offset, len) || d.size & DYNPTR_RDONLY_BIT != 0 {
        return 0;
    }
    // only local and ring-buffer dynptrs hand out direct pointers
    match (d.size >> DYNPTR_TYPE_SHIFT) & 7 {
        DYNPTR_TYPE_LOCAL | DYNPTR_TYPE_RINGBUF => d.at(offset),
        _ => 0,
    }
}

/// `bpf_dynptr_slice` / `_rdwr`: a direct pointer when in range (kbpf's packets are linear,
/// so skb and xdp slices never need the copy buffer).
#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_slice(p: u64, offset: u64, _buffer: u64, len: u64) -> u64 {
    // SAFETY: `p` is an initialized dynptr (the contract).
    let d = unsafe { dynptr_get(p) };
    let (len, offset) = (len as u32 as u64, offset as u32 as u64);
    if d.data == 0 || !d.check_off_len(offset, len) {
        return 0;
    }
    match (d.size >> DYNPTR_TYPE_SHIFT) & 7 {
        DYNPTR_TYPE_LOCAL | DYNPTR_TYPE_RINGBUF | DYNPTR_TYPE_SKB | DYNPTR_TYPE_XDP => d.at(offset),
        _ => 0,
    }
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_clone(p: u64, clone: u64) -> u64 {
    // SAFETY: `p` is an initialized dynptr, `clone` a writable one (the contract).
    let d = unsafe { dynptr_get(p) };
    if d.data == 0 {
        unsafe { dynptr_set(clone, &NULL_DYNPTR) };
        return err(EINVAL) as u32 as u64;
    }
    unsafe { dynptr_set(clone, &d) };
    0
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_adjust(p: u64, start: u64, end: u64) -> u64 {
    // SAFETY: `p` is an initialized, writable dynptr (the contract).
    let mut d = unsafe { dynptr_get(p) };
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
    // start <= len, and data + offset + len is memory, so this cannot wrap for a valid dynptr
    d.offset = d.offset.wrapping_add(start);
    d.size = (d.size & !DYNPTR_SIZE_MASK) | (end - start);
    unsafe { dynptr_set(p, &d) };
    0
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_is_null(p: u64) -> u64 {
    // SAFETY: `p` is a readable dynptr (the contract).
    (unsafe { dynptr_get(p) }.data == 0) as u64
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_is_rdonly(p: u64) -> u64 {
    // SAFETY: `p` is a readable dynptr (the contract).
    let d = unsafe { dynptr_get(p) };
    (d.data != 0 && d.size & DYNPTR_RDONLY_BIT != 0) as u64
}

#[allow(unsafe_code)]
unsafe extern "C" fn dynptr_size(p: u64) -> u64 {
    // SAFETY: `p` is a readable dynptr (the contract).
    let d = unsafe { dynptr_get(p) };
    if d.data == 0 {
        return err(EINVAL) as u32 as u64;
    }
    d.len()
}

// struct bpf_iter_num_kern { int cur; int end; }; every native below gets 8 writable bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn iter_num_new(it: u64, start: u64, end: u64) -> u64 {
    let (start, end) = (start as i32, end as i32);
    // SAFETY (all writes): `it` is 8 writable bytes of iterator state (the contract).
    unsafe {
        write(it, 0i32);
        write(it.wrapping_add(4), 0i32);
    }
    if start > end {
        return err(EINVAL) as u32 as u64;
    }
    if end as i64 - start as i64 > MAX_LOOPS {
        return err(E2BIG) as u32 as u64;
    }
    unsafe {
        write(it, start.wrapping_sub(1));
        write(it.wrapping_add(4), end);
    }
    0
}

#[allow(unsafe_code)]
unsafe extern "C" fn iter_num_next(it: u64) -> u64 {
    // SAFETY (all accesses): `it` is 8 readable and writable bytes (the contract).
    let (cur, end) = unsafe { (read::<i32>(it), read::<i32>(it.wrapping_add(4))) };
    if cur as i64 + 1 >= end as i64 {
        unsafe {
            write(it, 0i32);
            write(it.wrapping_add(4), 0i32);
        }
        return 0;
    }
    unsafe { write(it, cur.wrapping_add(1)) };
    it
}

#[allow(unsafe_code)]
unsafe extern "C" fn iter_num_destroy(it: u64) -> u64 {
    // SAFETY: `it` is 8 writable bytes (the contract).
    unsafe { write(it.wrapping_add(4), 0i32) };
    0
}

mod register;
pub use register::{register_helpers, register_kfuncs};
