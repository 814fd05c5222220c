//! The element walk of `bpf_for_each_map_elem` (the kernel's `map_for_each_callback` of the
//! array and hash kinds), through `kbpf_map_next_elem` (`crate::callbacks`).

use super::{Kind, Map};

impl Map {
    /// The first element at or after slot `cursor`: `(slot, key, value address)`. Arrays have
    /// every index; hash maps their occupied slots, in slot order (the kernel walks buckets of
    /// a randomly seeded hash, an order no user can rely on). Other kinds have no walk.
    pub fn elem_from(&self, cursor: u64) -> Option<(usize, Vec<u8>, u64)> {
        let n = self.spec.max_entries as usize;
        let start = usize::try_from(cursor).ok()?;
        let slot = match self.kind {
            Kind::Array => (start < n).then_some(start)?,
            Kind::Hash { .. } => {
                let ix = self.index.borrow();
                let s = (start..n).find(|&s| ix.key_of.get(s).is_some_and(Option::is_some))?;
                let key = ix.key_of[s].clone()?;
                // the walk reads, it does not use: no LRU touch (like the kernel's walk)
                return Some((s, key, self.slot_addr(s)));
            }
            _ => return None,
        };
        Some((slot, (slot as u32).to_le_bytes().to_vec(), self.slot_addr(slot)))
    }

    /// Address of the value in slot `s` (this CPU's copy for a per-CPU map), as
    /// [`Map::lookup_addr`] gives it.
    fn slot_addr(&self, s: usize) -> u64 {
        self.values.addr() + (s * self.stride) as u64
    }
}

#[cfg(test)]
mod tests {
    use kbpf_isa::{MapSpec, MapType};

    use super::Map;

    fn spec(map_type: MapType, key_size: u32, max_entries: u32) -> MapSpec {
        MapSpec { map_type, key_size, value_size: 8, max_entries, ..MapSpec::default() }
    }

    #[test]
    fn arrays_walk_every_index_and_hashes_their_elements() {
        let a = Map::new(&spec(MapType::Array, 4, 3)).unwrap();
        let keys: Vec<_> = (0..5).filter_map(|c| a.elem_from(c)).map(|(s, k, _)| (s, k)).collect();
        assert_eq!(keys, vec![(0, vec![0, 0, 0, 0]), (1, vec![1, 0, 0, 0]), (2, vec![2, 0, 0, 0])]);
        assert_eq!(a.elem_from(1).unwrap().2, a.lookup_addr(&1u32.to_le_bytes()).unwrap());
        let h = Map::new(&spec(MapType::Hash, 2, 4)).unwrap();
        assert_eq!(h.elem_from(0), None);
        for k in [7u16, 9, 11] {
            h.update(&k.to_le_bytes(), &[1; 8], 0).unwrap();
        }
        h.delete(&9u16.to_le_bytes()).unwrap();
        let (s, k, v) = h.elem_from(0).unwrap();
        assert_eq!((k.as_slice(), v), (&7u16.to_le_bytes()[..], h.lookup_addr(&k).unwrap()));
        let (s2, k2, _) = h.elem_from(s as u64 + 1).unwrap();
        assert_eq!(k2, 11u16.to_le_bytes());
        assert_eq!(h.elem_from(s2 as u64 + 1), None);
    }
}
