//! `BPF_MAP_TYPE_RINGBUF`: the producer side the helpers drive (`bpf_ringbuf_output` 130,
//! `bpf_ringbuf_reserve` 131, `bpf_ringbuf_submit` 132, `bpf_ringbuf_discard` 133,
//! `bpf_ringbuf_query` 134) with the kernel's space accounting and return codes, and the
//! consumer side for the host ([`Map::ringbuf_drain`]).
//!
//! Positions count bytes as the kernel's do: a record takes its 8-byte header plus its data,
//! rounded up to 8, and a reservation fails when the producer would get `size` or more bytes
//! ahead of the consumer. The data of a record at position `p` lives at `p % size` in a block
//! of twice the ring's size, so a record is contiguous even across the ring's end (the kernel
//! maps the data pages twice for the same reason). Headers are kept beside the data, not in it:
//! programs never see them.
//!
//! JIT code and the interpreter both call the natives; `submit`/`discard` get only the record's
//! address, so they find its ring through the maps active for the run ([`MapSet::activate`]).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use kbpf_isa::BpfFunc as F;

use super::{Kind, Map, MapError, MapSet};
use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};

/// `BPF_RINGBUF_HDR_SZ`.
const HDR: u64 = 8;
/// `RINGBUF_MAX_RECORD_SZ` (`UINT_MAX / 4`).
const MAX_RECORD: u64 = u32::MAX as u64 / 4;
/// `BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP`: the only flags output and commit know.
const WAKEUP_FLAGS: u64 = 3;
/// Page size the kernel requires the ring's size to be a multiple of.
const PAGE: u32 = 4096;

const EINVAL: u64 = -22i64 as u64;
const EAGAIN: u64 = -11i64 as u64;

/// Where a record is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reserved, not yet submitted or discarded (`BPF_RINGBUF_BUSY_BIT`).
    Busy,
    Committed,
    Discarded,
}

#[derive(Clone, Copy, Debug)]
struct Record {
    /// Producer position of its header.
    pos: u64,
    /// Data bytes (the header's length).
    len: u64,
    state: State,
}

/// The producer and consumer positions and the records between them.
#[derive(Debug)]
pub(super) struct Ring {
    /// Bytes of data (`max_entries`, a power of two).
    size: u64,
    prod: Cell<u64>,
    cons: Cell<u64>,
    records: RefCell<VecDeque<Record>>,
}

impl Ring {
    /// Checks a ring buffer's spec (`ringbuf_map_alloc`'s rules) and makes its state; the data
    /// block is `2 * size` bytes.
    pub(super) fn new(spec: &kbpf_isa::MapSpec) -> Result<Ring, MapError> {
        let n = spec.max_entries;
        if spec.key_size != 0 || spec.value_size != 0 || !n.is_power_of_two() || !n.is_multiple_of(PAGE) {
            return Err(MapError::Invalid(format!(
                "map `{}`: a ring buffer has key and value size 0 and a power-of-two, page-aligned size",
                spec.name
            )));
        }
        Ok(Ring { size: n as u64, prod: Cell::new(0), cons: Cell::new(0), records: RefCell::default() })
    }

    fn offset(&self, pos: u64) -> u64 {
        pos & (self.size - 1)
    }
}

/// What `bpf_ringbuf_query` reports, by its flags value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RingQuery {
    /// `BPF_RB_AVAIL_DATA` (0): bytes between consumer and producer.
    AvailData,
    /// `BPF_RB_RING_SIZE` (1).
    RingSize,
    /// `BPF_RB_CONS_POS` (2).
    ConsPos,
    /// `BPF_RB_PROD_POS` (3).
    ProdPos,
}

impl RingQuery {
    fn from_flags(flags: u64) -> Option<RingQuery> {
        [RingQuery::AvailData, RingQuery::RingSize, RingQuery::ConsPos, RingQuery::ProdPos]
            .get(usize::try_from(flags).ok()?)
            .copied()
    }
}

impl Map {
    fn ring(&self) -> Option<&Ring> {
        match &self.kind {
            Kind::Ringbuf(r) => Some(r),
            _ => None,
        }
    }

    /// `__bpf_ringbuf_reserve`: the host address of a new busy record of `size` bytes, or
    /// `None` when it does not fit (or this is not a ring buffer).
    pub fn ringbuf_reserve(&self, size: u64) -> Option<u64> {
        let r = self.ring()?;
        if size > MAX_RECORD {
            return None;
        }
        let len = (size + HDR).div_ceil(8) * 8;
        let (prod, cons) = (r.prod.get(), r.cons.get());
        if len > r.size || prod + len - cons > r.size - 1 {
            return None;
        }
        r.records.borrow_mut().push_back(Record { pos: prod, len: size, state: State::Busy });
        r.prod.set(prod + len);
        Some(self.values.addr() + r.offset(prod) + HDR)
    }

    /// `bpf_ringbuf_output`'s copy: a committed record holding `data`; `-EAGAIN` when it does
    /// not fit, `-EINVAL` for unknown flags.
    pub fn ringbuf_output(&self, data: &[u8], flags: u64) -> u64 {
        if flags & !WAKEUP_FLAGS != 0 {
            return EINVAL;
        }
        let Some(addr) = self.ringbuf_reserve(data.len() as u64) else { return EAGAIN };
        self.values.write((addr - self.values.addr()) as usize, data);
        self.ringbuf_commit(addr, false);
        0
    }

    /// Submits (or discards) the busy record whose data starts at `addr`; `false` if there is
    /// none there.
    pub fn ringbuf_commit(&self, addr: u64, discard: bool) -> bool {
        let Some(r) = self.ring() else { return false };
        let Some(rel) = addr.checked_sub(self.values.addr() + HDR) else { return false };
        let mut recs = r.records.borrow_mut();
        let Some(rec) = recs.iter_mut().find(|x| x.state == State::Busy && r.offset(x.pos) == rel) else {
            return false;
        };
        rec.state = if discard { State::Discarded } else { State::Committed };
        true
    }

    /// `bpf_ringbuf_query(map, flags)`: 0 for an unknown flag, as the kernel answers.
    pub fn ringbuf_query(&self, flags: u64) -> u64 {
        let Some(r) = self.ring() else { return 0 };
        match RingQuery::from_flags(flags) {
            Some(RingQuery::AvailData) => r.prod.get() - r.cons.get(),
            Some(RingQuery::RingSize) => r.size,
            Some(RingQuery::ConsPos) => r.cons.get(),
            Some(RingQuery::ProdPos) => r.prod.get(),
            None => 0,
        }
    }

    /// The committed records a consumer would read now, oldest first, without consuming them
    /// (reading stops at the first busy record; discarded ones are skipped).
    pub fn ringbuf_records(&self) -> Result<Vec<Vec<u8>>, MapError> {
        let r = self.ring().ok_or_else(|| self.not_ringbuf())?;
        let recs = r.records.borrow();
        Ok(recs
            .iter()
            .take_while(|x| x.state != State::Busy)
            .filter(|x| x.state == State::Committed)
            .map(|x| self.values.read((r.offset(x.pos) + HDR) as usize, x.len as usize))
            .collect())
    }

    /// Consumes what [`Map::ringbuf_records`] lists (the consumer position moves past it and
    /// past discarded records), like libbpf's `ring_buffer__consume`.
    pub fn ringbuf_drain(&self) -> Result<Vec<Vec<u8>>, MapError> {
        let out = self.ringbuf_records()?;
        let r = self.ring().ok_or_else(|| self.not_ringbuf())?;
        let mut recs = r.records.borrow_mut();
        while let Some(x) = recs.front().copied().filter(|x| x.state != State::Busy) {
            recs.pop_front();
            r.cons.set(x.pos + (x.len + HDR).div_ceil(8) * 8);
        }
        Ok(out)
    }

    fn not_ringbuf(&self) -> MapError {
        MapError::Invalid(format!("map `{}` is not a ring buffer", self.spec.name))
    }

    /// Whether `[addr, addr + len)` lies inside the ring's data block.
    pub(super) fn ring_region(&self, addr: u64, len: u64) -> bool {
        addr.checked_sub(self.values.addr())
            .and_then(|rel| rel.checked_add(len))
            .is_some_and(|end| end <= self.values.len() as u64)
    }
}

impl MapSet {
    /// Submits or discards the reserved record at `addr`, in whichever ring buffer holds it.
    pub fn ringbuf_commit(&self, addr: u64, discard: bool) -> bool {
        self.iter().any(|m| m.ringbuf_commit(addr, discard))
    }
}

/// Turns `r1` back into the map.
///
/// # Safety
/// `addr` is the address of a [`Map`] that outlives `'a`.
#[allow(unsafe_code)]
unsafe fn map_of<'a>(addr: u64) -> Option<&'a Map> {
    // SAFETY: the caller's contract; `Map` is only used through `&` (its state is in cells).
    unsafe { (addr as *const Map).as_ref() }
}

// Contract: `map` is a map of the run, `data` readable for `size` bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn ringbuf_output(map: u64, data: u64, size: u64, flags: u64) -> u64 {
    // SAFETY: the contract above (the verifier's ARG_CONST_MAP_PTR, ARG_PTR_TO_MEM and
    // ARG_CONST_SIZE_OR_ZERO; the interpreter checks the same before calling).
    let Some(m) = (unsafe { map_of(map) }) else { return EINVAL };
    let bytes = if size == 0 {
        Vec::new()
    } else {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(data as *const u8, size as usize).to_vec() }
    };
    m.ringbuf_output(&bytes, flags)
}

// Contract: `map` is a map of the run.
#[allow(unsafe_code)]
unsafe extern "C" fn ringbuf_reserve(map: u64, size: u64, flags: u64) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return 0 };
    if flags != 0 {
        return 0;
    }
    m.ringbuf_reserve(size).unwrap_or(0)
}

// Contract: `map` is a map of the run.
#[allow(unsafe_code)]
unsafe extern "C" fn ringbuf_query(map: u64, flags: u64) -> u64 {
    // SAFETY: the contract above.
    unsafe { map_of(map) }.map_or(0, |m| m.ringbuf_query(flags))
}

/// Safe: the record is looked up among the active maps' reservations, never dereferenced.
extern "C" fn ringbuf_submit(sample: u64, _flags: u64) -> u64 {
    super::timers::with_active_set(|s| s.ringbuf_commit(sample, false));
    0
}

extern "C" fn ringbuf_discard(sample: u64, _flags: u64) -> u64 {
    super::timers::with_active_set(|s| s.ringbuf_commit(sample, true));
    0
}

/// `bpf_dynptr_check_size`'s limit.
const DYNPTR_MAX_SIZE: u64 = 0x00ff_ffff;
const E2BIG: u64 = -7i64 as u64;

// Contract: `map` is a map of the run, `ptr` a writable dynptr.
#[allow(unsafe_code)]
unsafe extern "C" fn ringbuf_reserve_dynptr(map: u64, size: u64, flags: u64, ptr: u64) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return EINVAL };
    let size = size as u32 as u64;
    let (addr, ret) = match (flags, size) {
        (0, s) if s > DYNPTR_MAX_SIZE => (0, E2BIG),
        (0, _) => m.ringbuf_reserve(size).map_or((0, EAGAIN), |a| (a, 0)),
        _ => (0, EINVAL),
    };
    // SAFETY: the contract above.
    unsafe { crate::vmlinux::set_ringbuf_dynptr(ptr, addr, size as u32) };
    ret
}

/// Submits or discards the record of an initialized dynptr, which becomes NULL.
///
/// # Safety
/// `ptr` is an initialized, writable dynptr.
#[allow(unsafe_code)]
unsafe fn commit_dynptr(ptr: u64, discard: bool) -> u64 {
    // SAFETY: the caller's contract.
    let data = unsafe { crate::vmlinux::dynptr_data_ptr(ptr) };
    if data != 0 {
        super::timers::with_active_set(|s| s.ringbuf_commit(data, discard));
        // SAFETY: as above.
        unsafe { crate::vmlinux::set_ringbuf_dynptr(ptr, 0, 0) };
    }
    0
}

#[allow(unsafe_code)]
unsafe extern "C" fn ringbuf_submit_dynptr(ptr: u64, _flags: u64) -> u64 {
    // SAFETY: `ptr` is an initialized dynptr (the contract).
    unsafe { commit_dynptr(ptr, false) }
}

#[allow(unsafe_code)]
unsafe extern "C" fn ringbuf_discard_dynptr(ptr: u64, _flags: u64) -> u64 {
    // SAFETY: `ptr` is an initialized dynptr (the contract).
    unsafe { commit_dynptr(ptr, true) }
}

static RESERVE_DYNPTR: [NativeArg; 4] = [NativeArg::Map, NativeArg::V, NativeArg::V, NativeArg::DYNPTR_OUT];
static COMMIT_DYNPTR: [NativeArg; 2] = [NativeArg::DYNPTR, NativeArg::V];

static OUTPUT: [NativeArg; 4] = [NativeArg::Map, NativeArg::mem(2, false, false), NativeArg::V, NativeArg::V];
static RESERVE: [NativeArg; 3] = [NativeArg::Map, NativeArg::V, NativeArg::V];
static QUERY: [NativeArg; 2] = [NativeArg::Map, NativeArg::V];

/// Registers the ring-buffer helpers.
pub(super) fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind: ArgKind| ArgProto { name: name.to_string(), kind, nullable: false };
    let map = || arg("ringbuf", ArgKind::Map);
    let proto = |args: Vec<ArgProto>| Proto { args, ret: Some(RetKind::Scalar), ..Proto::default() };
    // SAFETY (the three `with_contract`s): each native dereferences only the map (a `Map` of
    // the run) and, for output, `data` for `size` bytes: exactly its contract.
    #[allow(unsafe_code)]
    let (output, reserve, query) = unsafe {
        (
            NativeFn::with_contract(RawNative::A4(ringbuf_output), &OUTPUT),
            NativeFn::with_contract(RawNative::A3(ringbuf_reserve), &RESERVE),
            NativeFn::with_contract(RawNative::A2(ringbuf_query), &QUERY),
        )
    };
    let entries = [
        (
            F::RingbufOutput,
            proto(vec![
                map(),
                arg("data", ArgKind::Mem { size: None, uninit: false }),
                arg("size", ArgKind::MemSize { constant: false }),
                ArgProto::scalar("flags"),
            ]),
            output,
        ),
        (F::RingbufReserve, proto(vec![map(), ArgProto::scalar("size"), ArgProto::scalar("flags")]), reserve),
        (F::RingbufQuery, proto(vec![map(), ArgProto::scalar("flags")]), query),
        (
            F::RingbufSubmit,
            proto(vec![ArgProto::scalar("sample"), ArgProto::scalar("flags")]),
            Some(NativeFn::A2(ringbuf_submit)),
        ),
        (
            F::RingbufDiscard,
            proto(vec![ArgProto::scalar("sample"), ArgProto::scalar("flags")]),
            Some(NativeFn::A2(ringbuf_discard)),
        ),
    ];
    for (f, p, native) in entries {
        let native = native.expect("one contract entry per parameter");
        r.register(FuncKind::Helper, f.id(), f.name(), p, Some(native))?;
    }
    // SAFETY (the three `with_contract`s): reserve dereferences the map and writes the dynptr;
    // submit and discard read and write the dynptr, and commit its record among the active
    // maps' reservations without dereferencing it: exactly their contracts.
    #[allow(unsafe_code)]
    let (reserve, submit, discard) = unsafe {
        (
            NativeFn::with_contract(RawNative::A4(ringbuf_reserve_dynptr), &RESERVE_DYNPTR),
            NativeFn::with_contract(RawNative::A2(ringbuf_submit_dynptr), &COMMIT_DYNPTR),
            NativeFn::with_contract(RawNative::A2(ringbuf_discard_dynptr), &COMMIT_DYNPTR),
        )
    };
    let dynptr = |name: &str| arg(name, ArgKind::Dynptr);
    let flags = || ArgProto::scalar("flags");
    let dynptr_entries = [
        (
            F::RingbufReserveDynptr,
            vec![map(), ArgProto::scalar("size"), flags(), dynptr("ptr__uninit")],
            reserve,
        ),
        (F::RingbufSubmitDynptr, vec![dynptr("ptr"), flags()], submit),
        (F::RingbufDiscardDynptr, vec![dynptr("ptr"), flags()], discard),
    ];
    for (f, args, native) in dynptr_entries {
        let native = native.expect("one contract entry per parameter");
        r.register(FuncKind::Helper, f.id(), f.name(), proto(args), Some(native))?;
    }
    Ok(())
}
