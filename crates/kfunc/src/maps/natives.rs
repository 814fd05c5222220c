//! Natives of the map helpers, called by JIT code with the arguments the verifier checked.
//!
//! `r1` is the host address of a [`Map`] (the engine resolved the program's `ld_imm64` to it),
//! `r2`/`r3` point to `key_size`/`value_size` readable bytes. Those facts come from the
//! verifier (`ARG_CONST_MAP_PTR`, `ARG_PTR_TO_MAP_KEY`, `ARG_PTR_TO_MAP_VALUE`); an unverified
//! program that breaks them can crash the process, exactly as JIT code itself can.

use crate::native::NativeFn;
use crate::proto::{Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};

use super::Map;

/// Turns `r1` back into the map.
#[allow(unsafe_code)]
fn map_of<'a>(addr: u64) -> Option<&'a Map> {
    // SAFETY: the verifier proved r1 is CONST_PTR_TO_MAP, which the engine resolved to a `Map`
    // boxed inside the run's `MapSet`; the set outlives the run (the engine borrows it), and
    // `Map` is only used through shared references (its mutable state is in cells).
    unsafe { (addr as *const Map).as_ref() }
}

/// Copies `len` bytes the program handed over.
#[allow(unsafe_code)]
fn bytes_at(addr: u64, len: u32) -> Vec<u8> {
    if addr == 0 {
        return Vec::new();
    }
    // SAFETY: the verifier checked that `addr` points to `len` initialized readable bytes
    // (stack, map value or packet) for the duration of the helper call.
    unsafe { std::slice::from_raw_parts(addr as *const u8, len as usize).to_vec() }
}

extern "C" fn map_lookup_elem(map: u64, key: u64) -> u64 {
    let Some(m) = map_of(map) else { return 0 };
    m.lookup_addr(&bytes_at(key, m.spec().key_size)).unwrap_or(0)
}

extern "C" fn map_update_elem(map: u64, key: u64, value: u64, flags: u64) -> u64 {
    let Some(m) = map_of(map) else { return -22i64 as u64 };
    let (k, v) = (bytes_at(key, m.spec().key_size), bytes_at(value, m.spec().value_size));
    m.update(&k, &v, flags).map_or_else(|e| e.errno() as u64, |()| 0)
}

extern "C" fn map_delete_elem(map: u64, key: u64) -> u64 {
    let Some(m) = map_of(map) else { return -22i64 as u64 };
    m.delete(&bytes_at(key, m.spec().key_size)).map_or_else(|e| e.errno() as u64, |()| 0)
}

/// Registers helpers 1 (`bpf_map_lookup_elem`), 2 (`bpf_map_update_elem`), 3
/// (`bpf_map_delete_elem`) and 12 (`bpf_tail_call`, prototype only).
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let lookup = Proto { ret: Some(RetKind::MapValue), ..Proto::scalars(2) };
    r.register(FuncKind::Helper, 1, "bpf_map_lookup_elem", lookup, Some(NativeFn::A2(map_lookup_elem)))?;
    r.add_helper(2, "bpf_map_update_elem", NativeFn::A4(map_update_elem))?;
    r.add_helper(3, "bpf_map_delete_elem", NativeFn::A2(map_delete_elem))?;
    // No native: a tail call replaces the running program, which only an engine can do.
    r.register(FuncKind::Helper, 12, "bpf_tail_call", Proto::scalars(3), None)?;
    Ok(())
}

/// What the interpreter does for helpers 1..3 against a checked environment (no raw pointers):
/// `key`/`value` are the bytes it read through its own bounds checks.
pub fn call_map_helper(set_map: &Map, id: i32, key: &[u8], value: &[u8], flags: u64) -> u64 {
    match id {
        1 => set_map.lookup_addr(key).unwrap_or(0),
        2 => set_map.update(key, value, flags).map_or_else(|e| e.errno() as u64, |()| 0),
        3 => set_map.delete(key).map_or_else(|e| e.errno() as u64, |()| 0),
        _ => -22i64 as u64,
    }
}
