//! Natives of the map helpers, called by JIT code with the arguments the verifier checked.
//!
//! `r1` is the host address of a [`Map`] (the engine resolved the program's `ld_imm64` to it),
//! `r2`/`r3` point to `key_size`/`value_size` readable bytes. Those facts come from the
//! verifier (`ARG_CONST_MAP_PTR`, `ARG_PTR_TO_MAP_KEY`, `ARG_PTR_TO_MAP_VALUE`), so the natives
//! are `unsafe extern "C" fn`s with that contract. The interpreter never calls them: it runs
//! these helpers through [`call_map_helper`] on bytes it read through its own checks.

use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind, UNSIZED_MEM};
use crate::registry::{FuncKind, Registry, RegistryError};
use kbpf_isa::BpfFunc as F;

use super::Map;

/// Turns `r1` back into the map.
///
/// # Safety
/// `addr` is 0 or the address of a [`Map`] that outlives `'a`.
#[allow(unsafe_code)]
unsafe fn map_of<'a>(addr: u64) -> Option<&'a Map> {
    // SAFETY: the caller's contract (the verifier proved r1 is CONST_PTR_TO_MAP, which the
    // engine resolved to a `Map` of the run's `MapSet`, borrowed for the run); `Map` is only
    // used through shared references (its mutable state is in cells).
    unsafe { (addr as *const Map).as_ref() }
}

/// Copies `len` bytes the program handed over.
///
/// # Safety
/// `addr` is 0 or readable for `len` bytes.
#[allow(unsafe_code)]
unsafe fn bytes_at(addr: u64, len: u32) -> Vec<u8> {
    if addr == 0 {
        return Vec::new();
    }
    // SAFETY: the caller's contract (the verifier checked the key or value memory).
    unsafe { std::slice::from_raw_parts(addr as *const u8, len as usize).to_vec() }
}

// Contract of the three natives: `map` is a map of the run, `key`/`value` are readable for the
// map's key/value size.
#[allow(unsafe_code)]
unsafe extern "C" fn map_lookup_elem(map: u64, key: u64) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return 0 };
    m.lookup_addr(&unsafe { bytes_at(key, m.spec().key_size) }).unwrap_or(0)
}

#[allow(unsafe_code)]
unsafe extern "C" fn map_update_elem(map: u64, key: u64, value: u64, flags: u64) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return -22i64 as u64 };
    let (k, v) = unsafe { (bytes_at(key, m.spec().key_size), bytes_at(value, m.spec().value_size)) };
    m.update(&k, &v, flags).map_or_else(|e| e.errno() as u64, |()| 0)
}

#[allow(unsafe_code)]
unsafe extern "C" fn map_delete_elem(map: u64, key: u64) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return -22i64 as u64 };
    m.delete(&unsafe { bytes_at(key, m.spec().key_size) }).map_or_else(|e| e.errno() as u64, |()| 0)
}

/// Registers helpers 1 (`bpf_map_lookup_elem`), 2 (`bpf_map_update_elem`), 3
/// (`bpf_map_delete_elem`), 12 (`bpf_tail_call`, prototype only), the ring-buffer helpers,
/// those of the special kinds (`special`) and the timer helpers 169..172.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind: ArgKind| ArgProto { name: name.to_string(), kind, nullable: false };
    // key and value sizes come from the map, which the interpreter knows (it runs these
    // helpers itself); `Mem` without a size here only documents the prototype
    let key = || arg("key", ArgKind::Mem { size: None, uninit: false });
    let value = arg("value", ArgKind::Mem { size: None, uninit: false });
    let proto = |args: Vec<ArgProto>, ret: RetKind| Proto { args, ret: Some(ret), ..Proto::default() };
    let entries = [
        (F::MapLookupElem, proto(vec![arg("map", ArgKind::Map), key()], RetKind::MapValue)),
        (
            F::MapUpdateElem,
            proto(vec![arg("map", ArgKind::Map), key(), value, ArgProto::scalar("flags")], RetKind::Scalar),
        ),
        (F::MapDeleteElem, proto(vec![arg("map", ArgKind::Map), key()], RetKind::Scalar)),
    ];
    // key and value sizes come from the map: an engine that does not trust the program cannot
    // check them from the arguments (the interpreter runs these helpers itself)
    static KEY: [NativeArg; 2] = [NativeArg::Map, NativeArg::Unchecked(UNSIZED_MEM)];
    static UPDATE: [NativeArg; 4] =
        [NativeArg::Map, NativeArg::Unchecked(UNSIZED_MEM), NativeArg::Unchecked(UNSIZED_MEM), NativeArg::V];
    let native = |raw, contract| {
        // SAFETY: the map natives dereference the map and the key and value of its sizes, which
        // the contracts leave unchecked: an engine can never call them with unchecked values.
        #[allow(unsafe_code)]
        unsafe { NativeFn::with_contract(raw, contract) }.expect("one contract entry per parameter")
    };
    let natives = [
        native(RawNative::A2(map_lookup_elem), &KEY),
        native(RawNative::A4(map_update_elem), &UPDATE),
        native(RawNative::A2(map_delete_elem), &KEY),
    ];
    for ((func, p), f) in entries.into_iter().zip(natives) {
        r.register(FuncKind::Helper, func.id(), func.name(), p, Some(f))?;
    }
    // No native: a tail call replaces the running program, which only an engine can do.
    let tail = vec![arg("ctx", ArgKind::Ctx), arg("prog_array_map", ArgKind::Map), ArgProto::scalar("index")];
    let tc = F::TailCall;
    r.register(FuncKind::Helper, tc.id(), tc.name(), proto(tail, RetKind::Scalar), None)?;
    super::ringbuf::register(r)?;
    super::queue::register(r)?;
    super::special::register(r)?;
    crate::callbacks::register(r)?;
    super::sk_storage::register(r)?;
    super::timers::register(r)
}

/// What the interpreter does for helpers 1..3 against a checked environment (no raw pointers):
/// `key`/`value` are the bytes it read through its own bounds checks.
pub fn call_map_helper(set_map: &Map, id: i32, key: &[u8], value: &[u8], flags: u64) -> u64 {
    match F::from_id(id) {
        Some(F::MapLookupElem) => set_map.lookup_addr(key).unwrap_or(0),
        Some(F::MapUpdateElem) => set_map.update(key, value, flags).map_or_else(|e| e.errno() as u64, |()| 0),
        Some(F::MapDeleteElem) => set_map.delete(key).map_or_else(|e| e.errno() as u64, |()| 0),
        _ => -22i64 as u64,
    }
}

/// The tail-call state of one JIT run: the count so far and each program's entry address (by
/// program id). JIT code passes its address to [`tail_call_resolve`].
#[derive(Debug, Default)]
pub struct TailCalls {
    count: std::cell::Cell<u32>,
    entries: Vec<u64>,
}

impl TailCalls {
    /// State for programs whose main functions start at `entries` (indexed by program id).
    pub fn new(entries: Vec<u64>) -> TailCalls {
        TailCalls { count: std::cell::Cell::new(0), entries }
    }

    /// Sets the entry address of program `id` (programs are compiled after the state exists).
    pub fn set_entry(&mut self, id: usize, addr: u64) {
        if self.entries.len() <= id {
            self.entries.resize(id + 1, 0);
        }
        self.entries[id] = addr;
    }

    /// Starts a new run (`tail_call_cnt = 0`).
    pub fn reset(&self) {
        self.count.set(0);
    }

    /// Tail calls counted so far.
    pub fn count(&self) -> u32 {
        self.count.get()
    }

    /// The kernel's rules: an index beyond `max_entries` falls through uncounted; otherwise the
    /// attempt counts unless `MAX_TAIL_CALL_CNT` were counted already; an empty slot falls
    /// through. Returns the target's entry address, 0 to fall through.
    pub fn resolve(&self, map: &Map, index: u64) -> u64 {
        let t = map.tail_call_target(index);
        if t == super::TailCallTarget::OutOfRange || self.count.get() >= super::MAX_TAIL_CALL_CNT {
            return 0;
        }
        self.count.set(self.count.get() + 1);
        match t {
            super::TailCallTarget::Prog(id) => self.entries.get(id as usize).copied().unwrap_or(0),
            _ => 0,
        }
    }
}

/// `bpf_tail_call` for JIT code: `ctx` is a [`TailCalls`], `map` the prog array (r2), `index`
/// r3. Returns the address to jump to, or 0.
///
/// # Safety
///
/// `ctx` is 0 or the address of a live [`TailCalls`], and `map` is 0 or the address of a live
/// [`Map`] (what the verifier proves of r2 and what the engine bakes into the code).
#[allow(unsafe_code)]
pub unsafe extern "C" fn tail_call_resolve(ctx: u64, map: u64, index: u64) -> u64 {
    // SAFETY: the contract above; both objects are only used through `&`.
    let Some(tc) = (unsafe { (ctx as *const TailCalls).as_ref() }) else { return 0 };
    let Some(m) = (unsafe { map_of(map) }) else { return 0 };
    tc.resolve(m, index)
}
