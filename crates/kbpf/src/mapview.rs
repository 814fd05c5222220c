//! Typed host access to a run's maps: keys and values as Rust values of the map's sizes
//! ([`MapData`]), with the kernel's errnos ([`MapError`]) for what the kernel would refuse.

use kbpf_kfunc::maps::{Map, MapError};

/// A plain value a map holds: little-endian bytes of exactly the map's key or value size.
pub trait MapData: Sized {
    /// The value's bytes.
    fn to_bytes(&self) -> Vec<u8>;
    /// The value from exactly its size in bytes, `None` for another size.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}

macro_rules! int_data {
    ($($t:ty)*) => {$(
        impl MapData for $t {
            fn to_bytes(&self) -> Vec<u8> {
                self.to_le_bytes().to_vec()
            }
            fn from_bytes(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_le_bytes(bytes.try_into().ok()?))
            }
        }
    )*};
}
int_data!(u8 u16 u32 u64 i8 i16 i32 i64);

impl<T: MapData, const N: usize> MapData for [T; N] {
    fn to_bytes(&self) -> Vec<u8> {
        self.iter().flat_map(MapData::to_bytes).collect()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if N == 0 {
            return bytes.is_empty().then(|| std::array::from_fn(|_| unreachable!()));
        }
        if !bytes.len().is_multiple_of(N) {
            return None;
        }
        let each = bytes.len() / N;
        let v: Vec<T> = bytes.chunks(each).map(T::from_bytes).collect::<Option<_>>()?;
        v.try_into().ok()
    }
}

impl MapData for Vec<u8> {
    fn to_bytes(&self) -> Vec<u8> {
        self.clone()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(bytes.to_vec())
    }
}

/// One map of a [`crate::Handle`], by name.
#[derive(Clone, Copy, Debug)]
pub struct MapView<'a> {
    map: &'a Map,
}

impl<'a> MapView<'a> {
    pub(crate) fn new(map: &'a Map) -> MapView<'a> {
        MapView { map }
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.map.spec().name
    }

    /// The untyped map (byte keys and values, its spec).
    pub fn raw(&self) -> &'a Map {
        self.map
    }

    fn sized<T: MapData>(&self, v: &T, want: u32, what: &str) -> Result<Vec<u8>, MapError> {
        let b = v.to_bytes();
        if b.len() != want as usize {
            return Err(MapError::Invalid(format!(
                "map {}: {what} of {} bytes, the map's are {want}",
                self.name(),
                b.len()
            )));
        }
        Ok(b)
    }

    fn decode<T: MapData>(&self, b: &[u8], what: &str) -> Result<T, MapError> {
        T::from_bytes(b).ok_or_else(|| {
            MapError::Invalid(format!(
                "map {}: a {what} of {} bytes does not fit the type asked for",
                self.name(),
                b.len()
            ))
        })
    }

    /// The value under `key`, if any.
    pub fn get<K: MapData, V: MapData>(&self, key: &K) -> Result<Option<V>, MapError> {
        let k = self.sized(key, self.map.spec().key_size, "key")?;
        self.map.lookup(&k).map(|v| self.decode(&v, "value")).transpose()
    }

    /// Sets `key` to `value` (`BPF_ANY`).
    pub fn update<K: MapData, V: MapData>(&self, key: &K, value: &V) -> Result<(), MapError> {
        let spec = self.map.spec();
        let k = self.sized(key, spec.key_size, "key")?;
        let v = self.sized(value, spec.value_size, "value")?;
        self.map.update(&k, &v, 0)
    }

    /// Removes `key` (arrays: `EINVAL`, as in the kernel).
    pub fn delete<K: MapData>(&self, key: &K) -> Result<(), MapError> {
        let k = self.sized(key, self.map.spec().key_size, "key")?;
        self.map.delete(&k)
    }

    /// A ring buffer's committed records, oldest first, consumed (what a `ring_buffer__consume`
    /// callback would get); `EINVAL` for another map type.
    pub fn ringbuf_drain(&self) -> Result<Vec<Vec<u8>>, MapError> {
        self.map.ringbuf_drain()
    }

    /// Every entry, in the map's iteration order.
    pub fn iter<K: MapData, V: MapData>(&self) -> Result<Vec<(K, V)>, MapError> {
        self.map
            .entries()
            .iter()
            .map(|(k, v)| Ok((self.decode(k, "key")?, self.decode(v, "value")?)))
            .collect()
    }
}
