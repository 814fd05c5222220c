//! `BPF_MAP_TYPE_QUEUE` (22) and `BPF_MAP_TYPE_STACK` (23): values without keys, pushed with
//! `bpf_map_push_elem` 87, taken with `bpf_map_pop_elem` 88, read with `bpf_map_peek_elem` 89
//! (the kernel's `queue_stack_maps.c` semantics: a full map refuses a push unless `BPF_EXIST`
//! makes room by dropping the oldest value; popping an empty one zeroes the value and fails).
//!
//! Values are copied in and out, never lent to the program, so they live in plain Rust
//! memory. The interpreter runs the helpers itself on bytes it checked ([`call_queue_helper`]);
//! JIT code calls the natives, which trust the verifier (`ARG_PTR_TO_MAP_VALUE` of the map's
//! value size).

use std::cell::RefCell;
use std::collections::VecDeque;

use kbpf_isa::{BpfFunc as F, MapSpec, MapType};

use super::{Kind, Map, MapError};
use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind, UNSIZED_MEM};
use crate::registry::{FuncKind, Registry, RegistryError};

const EINVAL: u64 = -22i64 as u64;
const ENOENT: u64 = -2i64 as u64;
const E2BIG: u64 = -7i64 as u64;
/// `BPF_NOEXIST`, `BPF_EXIST`.
const BPF_NOEXIST: u64 = 1;
const BPF_EXIST: u64 = 2;

/// A queue's or stack's values, oldest first.
#[derive(Debug)]
pub(super) struct Queue {
    stack: bool,
    items: RefCell<VecDeque<Vec<u8>>>,
}

/// The kind of a queue or stack spec (`queue_stack_map_alloc_check`: no key, a value).
pub(super) fn kind_of(spec: &MapSpec) -> Result<Option<Kind>, MapError> {
    let stack = match spec.map_type {
        MapType::Other(22) => false,
        MapType::Other(23) => true,
        _ => return Ok(None),
    };
    if spec.key_size != 0 || spec.value_size == 0 || spec.max_entries == 0 {
        return Err(MapError::Invalid(format!(
            "map `{}`: a queue or stack has key size 0, a value and max_entries",
            spec.name
        )));
    }
    Ok(Some(Kind::Queue(Queue { stack, items: RefCell::default() })))
}

impl Map {
    fn queue(&self) -> Option<&Queue> {
        match &self.kind {
            Kind::Queue(q) => Some(q),
            _ => None,
        }
    }

    /// `bpf_map_push_elem` / `BPF_MAP_UPDATE_ELEM` without a key: 0, `-E2BIG` when full
    /// (without `BPF_EXIST`), `-EINVAL` for bad flags or another map type.
    pub fn push(&self, value: &[u8], flags: u64) -> u64 {
        let Some(q) = self.queue() else { return EINVAL };
        if flags & BPF_NOEXIST != 0 || flags > BPF_EXIST || value.len() != self.spec.value_size as usize {
            return EINVAL;
        }
        let mut items = q.items.borrow_mut();
        if items.len() >= self.spec.max_entries as usize {
            if flags & BPF_EXIST == 0 {
                return E2BIG;
            }
            items.pop_front();
        }
        items.push_back(value.to_vec());
        0
    }

    /// `bpf_map_pop_elem` (`take`) or `bpf_map_peek_elem`: the return code and the value bytes
    /// the program gets (zeros with `-ENOENT` when empty).
    pub fn pop_or_peek(&self, take: bool) -> (u64, Vec<u8>) {
        let zero = vec![0; self.spec.value_size as usize];
        let Some(q) = self.queue() else { return (EINVAL, zero) };
        let mut items = q.items.borrow_mut();
        let v = match (q.stack, take) {
            (false, true) => items.pop_front(),
            (true, true) => items.pop_back(),
            (false, false) => items.front().cloned(),
            (true, false) => items.back().cloned(),
        };
        v.map_or((ENOENT, zero), |v| (0, v))
    }
}

/// The interpreter's push/pop/peek: `value` is what it read at r2 (push); the bytes to write
/// back at r2 come with the result (pop, peek).
pub fn call_queue_helper(map: &Map, id: i32, value: &[u8], flags: u64) -> (u64, Option<Vec<u8>>) {
    let take = match F::from_id(id) {
        Some(F::MapPushElem) => return (map.push(value, flags), None),
        Some(F::MapPopElem) => true,
        Some(F::MapPeekElem) => false,
        _ => return (EINVAL, None),
    };
    let (r, bytes) = map.pop_or_peek(take);
    (r, Some(bytes))
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

// Contract of the three: `map` is a map of the run, `value` readable (push) or writable (pop,
// peek) for the map's value size (what the verifier proves of ARG_PTR_TO_MAP_VALUE).
#[allow(unsafe_code)]
unsafe extern "C" fn push_elem(map: u64, value: u64, flags: u64) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return EINVAL };
    let n = m.spec().value_size as usize;
    // SAFETY: as above.
    let v = unsafe { std::slice::from_raw_parts(value as *const u8, n) }.to_vec();
    m.push(&v, flags)
}

#[allow(unsafe_code)]
unsafe fn take(map: u64, value: u64, take: bool) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return EINVAL };
    let (r, bytes) = m.pop_or_peek(take);
    // SAFETY: `value` is writable for the value size, which `bytes` has.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), value as *mut u8, bytes.len()) };
    r
}

#[allow(unsafe_code)]
unsafe extern "C" fn pop_elem(map: u64, value: u64) -> u64 {
    // SAFETY: the contract above.
    unsafe { take(map, value, true) }
}

#[allow(unsafe_code)]
unsafe extern "C" fn peek_elem(map: u64, value: u64) -> u64 {
    // SAFETY: the contract above.
    unsafe { take(map, value, false) }
}

// the value's size comes from the map: only an engine that trusts the verifier (JIT code) may
// call these; the interpreter runs them itself
static PUSH: [NativeArg; 3] = [NativeArg::Map, NativeArg::Unchecked(UNSIZED_MEM), NativeArg::V];
static TAKE: [NativeArg; 2] = [NativeArg::Map, NativeArg::Unchecked(UNSIZED_MEM)];

/// Registers push, pop and peek.
pub(super) fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind: ArgKind| ArgProto { name: name.to_string(), kind, nullable: false };
    let value = || arg("value", ArgKind::Mem { size: None, uninit: false });
    let proto = |args: Vec<ArgProto>| Proto { args, ret: Some(RetKind::Scalar), ..Proto::default() };
    // SAFETY (the three): each dereferences the map and the value of its size, which the
    // contracts leave unchecked, so no engine calls them with unchecked values.
    #[allow(unsafe_code)]
    let natives = unsafe {
        [
            NativeFn::with_contract(RawNative::A3(push_elem), &PUSH),
            NativeFn::with_contract(RawNative::A2(pop_elem), &TAKE),
            NativeFn::with_contract(RawNative::A2(peek_elem), &TAKE),
        ]
    };
    let protos = [
        (F::MapPushElem, proto(vec![arg("map", ArgKind::Map), value(), ArgProto::scalar("flags")])),
        (F::MapPopElem, proto(vec![arg("map", ArgKind::Map), value()])),
        (F::MapPeekElem, proto(vec![arg("map", ArgKind::Map), value()])),
    ];
    for ((f, p), native) in protos.into_iter().zip(natives) {
        let native = native.expect("one contract entry per parameter");
        r.register(FuncKind::Helper, f.id(), f.name(), p, Some(native))?;
    }
    Ok(())
}
