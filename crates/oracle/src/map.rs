//! Maps for test programs: a [`MapSpec`] shared by a case and its kernel run.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use serde::{Deserialize, Serialize};

use crate::errno::Errno;
use crate::sys::{self, Attr, Cmd};

/// Map kinds used by the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapKind {
    /// `BPF_MAP_TYPE_HASH`.
    Hash,
    /// `BPF_MAP_TYPE_ARRAY` (key must be 4 bytes).
    Array,
    /// `BPF_MAP_TYPE_PROG_ARRAY` (4-byte keys and values: program fds).
    ProgArray,
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY` (4-byte keys and values).
    PerfEventArray,
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    PercpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY` (4-byte keys).
    PercpuArray,
    /// `BPF_MAP_TYPE_RINGBUF` (no key or value; `max_entries` = buffer bytes, a power of 2
    /// multiple of the page size).
    RingBuf,
}

impl MapKind {
    /// The kernel's `enum bpf_map_type` value.
    pub fn raw(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array => 2,
            MapKind::ProgArray => 3,
            MapKind::PerfEventArray => 4,
            MapKind::PercpuHash => 5,
            MapKind::PercpuArray => 6,
            MapKind::RingBuf => 27,
        }
    }
}

/// A map a case refers to. Programs name map `i` of their case with
/// `ld_imm64 rX, src=BPF_PSEUDO_MAP_FD, imm=i`; [`crate::load`] substitutes the real fd.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MapSpec {
    /// Kind.
    pub kind: MapKind,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// Name (shown by the verifier log as `map=NAME`; at most 15 bytes).
    pub name: String,
    /// `map_flags` (`BPF_F_RDONLY_PROG` 0x80, `BPF_F_WRONLY_PROG` 0x100); absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flags: u32,
    /// Element 0's value (hex, `value_size` bytes) written after creation; absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// `BPF_MAP_FREEZE` applied after `data` (with `BPF_F_RDONLY_PROG`: the verifier reads
    /// constant offsets of the value as constants).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub frozen: bool,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl MapSpec {
    const EMPTY: MapSpec = MapSpec {
        kind: MapKind::Array,
        key_size: 0,
        value_size: 0,
        max_entries: 0,
        name: String::new(),
        flags: 0,
        data: None,
        frozen: false,
    };

    /// The same map with `map_flags`.
    pub fn with_flags(mut self, flags: u32) -> MapSpec {
        self.flags = flags;
        self
    }

    /// The same map with element 0 set to `value` (padded or cut to `value_size`) and then,
    /// if `frozen`, frozen.
    pub fn with_data(mut self, value: &[u8], frozen: bool) -> MapSpec {
        let mut v = value.to_vec();
        v.resize(self.value_size as usize, 0);
        self.data = Some(v.iter().map(|b| format!("{b:02x}")).collect());
        self.frozen = frozen;
        self
    }

    /// Element 0's bytes, when the case sets them.
    pub fn data_bytes(&self) -> Option<Vec<u8>> {
        let h = self.data.as_deref()?;
        (0..h.len() / 2).map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()).collect()
    }

    /// An array map with 4-byte keys.
    pub fn array(value_size: u32, max_entries: u32, name: &str) -> MapSpec {
        MapSpec {
            kind: MapKind::Array,
            key_size: 4,
            value_size,
            max_entries,
            name: name.to_string(),
            ..MapSpec::EMPTY
        }
    }

    /// A program array (the `bpf_tail_call` table).
    pub fn prog_array(max_entries: u32, name: &str) -> MapSpec {
        MapSpec {
            kind: MapKind::ProgArray,
            key_size: 4,
            value_size: 4,
            max_entries,
            name: name.to_string(),
            ..MapSpec::EMPTY
        }
    }

    /// A map of `kind` with 4-byte keys (perf event arrays, per-CPU arrays and hashes).
    pub fn keyed(kind: MapKind, value_size: u32, max_entries: u32, name: &str) -> MapSpec {
        MapSpec { kind, key_size: 4, value_size, max_entries, name: name.to_string(), ..MapSpec::EMPTY }
    }

    /// A ring buffer of `bytes` bytes.
    pub fn ringbuf(bytes: u32, name: &str) -> MapSpec {
        MapSpec {
            kind: MapKind::RingBuf,
            key_size: 0,
            value_size: 0,
            max_entries: bytes,
            name: name.to_string(),
            ..MapSpec::EMPTY
        }
    }

    /// A hash map.
    pub fn hash(key_size: u32, value_size: u32, max_entries: u32, name: &str) -> MapSpec {
        MapSpec {
            kind: MapKind::Hash,
            key_size,
            value_size,
            max_entries,
            name: name.to_string(),
            ..MapSpec::EMPTY
        }
    }
}

/// An open kernel map.
#[derive(Debug)]
pub struct MapFd(OwnedFd);

impl MapFd {
    /// The raw descriptor (valid while `self` lives).
    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Creates a kernel map for `spec`.
pub fn create_map(spec: &MapSpec) -> Result<MapFd, Errno> {
    let mut a = Attr::new();
    a.put_u32(0, spec.kind.raw());
    a.put_u32(4, spec.key_size);
    a.put_u32(8, spec.value_size);
    a.put_u32(12, spec.max_entries);
    let name: Vec<u8> = spec
        .name
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
        .take(15)
        .collect();
    a.put_u32(16, spec.flags);
    a.put_bytes(28, &name);
    let fd = sys::bpf(Cmd::MapCreate, &mut a)?;
    let map = sys::own_fd(fd).map(MapFd).ok_or(Errno::EBADF)?;
    if let Some(value) = spec.data_bytes() {
        map_update(&map, &vec![0u8; spec.key_size as usize], &value)?;
    }
    if spec.frozen {
        let mut a = Attr::new();
        a.put_u32(0, map.raw() as u32);
        sys::bpf(Cmd::MapFreeze, &mut a)?;
    }
    Ok(map)
}

/// Creates every map of a case, in order.
pub fn create_maps(specs: &[MapSpec]) -> Result<Vec<MapFd>, Errno> {
    specs.iter().map(create_map).collect()
}

/// `BPF_MAP_UPDATE_ELEM` with flags `BPF_ANY`; `key`/`value` must have the map's sizes.
pub fn map_update(map: &MapFd, key: &[u8], value: &[u8]) -> Result<(), Errno> {
    let mut a = Attr::new();
    a.put_u32(0, map.raw() as u32);
    // The kernel reads key_size/value_size bytes from these; callers pass exact sizes.
    a.put_u64(8, sys::addr(key.as_ptr()));
    a.put_u64(16, sys::addr(value.as_ptr()));
    sys::bpf(Cmd::MapUpdateElem, &mut a).map(|_| ())
}
