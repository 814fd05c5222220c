//! Maps of maps (`ARRAY_OF_MAPS` 12, `HASH_OF_MAPS` 13): each element is another map of the
//! run, which a program's lookup returns (the kernel's `*_of_map_lookup_elem` returns the inner
//! map itself, not a value). The elements are the object's initial ones (libbpf's `.values`,
//! put in by [`super::MapSet::new`]); a program cannot change them (the verifier allows only
//! lookups) and kbpf's host API does not either.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::{Kind, Map, MapError};

/// The inner maps' addresses by key.
#[derive(Debug, Default)]
pub(super) struct Inner(RefCell<BTreeMap<Vec<u8>, u64>>);

/// The kind of a map-in-map type, checked as the kernel's `fd_*_map_alloc_check` does.
pub(super) fn kind_of(spec: &kbpf_isa::MapSpec) -> Result<Option<Kind>, MapError> {
    let kbpf_isa::MapType::Other(n @ (12 | 13)) = spec.map_type else { return Ok(None) };
    let array = n == 12;
    if spec.value_size != 4 || spec.max_entries == 0 || (array && spec.key_size != 4) || spec.key_size == 0 {
        return Err(MapError::Invalid(format!(
            "map `{}`: a map of maps has 4-byte values (map fds), a key and entries",
            spec.name
        )));
    }
    Ok(Some(Kind::MapInMap(Inner::default())))
}

impl Map {
    /// Puts the map at `addr` (a map of the same run) at `slot` (an array index, or for a hash
    /// of maps the slot number as its key's first bytes, as libbpf's `.values` does).
    pub(super) fn set_inner(&self, slot: u32, addr: u64) -> Result<(), MapError> {
        let Kind::MapInMap(Inner(m)) = &self.kind else {
            return Err(MapError::Invalid(format!("map `{}` is not a map of maps", self.spec.name)));
        };
        if slot >= self.spec.max_entries {
            return Err(MapError::TooBig);
        }
        let mut key = vec![0u8; self.spec.key_size as usize];
        let n = key.len().min(4);
        key[..n].copy_from_slice(&slot.to_le_bytes()[..n]);
        m.borrow_mut().insert(key, addr);
        Ok(())
    }

    /// The inner map under `key` (a program's lookup), if this is a map of maps holding one.
    pub(super) fn inner_addr(&self, key: &[u8]) -> Option<Option<u64>> {
        let Kind::MapInMap(Inner(m)) = &self.kind else { return None };
        Some(m.borrow().get(key).copied())
    }
}
