//! Map descriptions that travel beside the instructions: what an assembly `.map` directive or an
//! ELF `.maps`/global-data section declares. The ISA only describes maps; the verifier models
//! them (`kbpf_verifier::MapDef`) and `kbpf_kfunc::maps` creates them.
//!
//! `ld_imm64` instructions name a map by its index in the module's map table (the pseudo "fd"):
//! `src = 1` (`BPF_PSEUDO_MAP_FD`) loads the map, `src = 2` (`BPF_PSEUDO_MAP_VALUE`) the address
//! of byte `imm_hi` of its first value.

use std::fmt;

/// `enum bpf_map_type`: the map types kbpf knows by name. Others keep their number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MapType {
    /// `BPF_MAP_TYPE_HASH` (1).
    #[default]
    Hash,
    /// `BPF_MAP_TYPE_ARRAY` (2).
    Array,
    /// `BPF_MAP_TYPE_PROG_ARRAY` (3): tail-call targets.
    ProgArray,
    /// `BPF_MAP_TYPE_PERCPU_HASH` (5).
    PercpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY` (6).
    PercpuArray,
    /// `BPF_MAP_TYPE_LRU_HASH` (9).
    LruHash,
    /// `BPF_MAP_TYPE_RINGBUF` (27).
    Ringbuf,
    /// Any other type, by number.
    Other(u32),
}

impl MapType {
    /// Every named type with its assembly keyword.
    pub const NAMED: [(MapType, &'static str); 7] = [
        (MapType::Hash, "hash"),
        (MapType::Array, "array"),
        (MapType::ProgArray, "prog_array"),
        (MapType::PercpuHash, "percpu_hash"),
        (MapType::PercpuArray, "percpu_array"),
        (MapType::LruHash, "lru_hash"),
        (MapType::Ringbuf, "ringbuf"),
    ];

    /// The kernel's number.
    pub fn number(self) -> u32 {
        match self {
            MapType::Hash => 1,
            MapType::Array => 2,
            MapType::ProgArray => 3,
            MapType::PercpuHash => 5,
            MapType::PercpuArray => 6,
            MapType::LruHash => 9,
            MapType::Ringbuf => 27,
            MapType::Other(n) => n,
        }
    }

    /// From the kernel's number.
    pub fn from_number(n: u32) -> MapType {
        MapType::NAMED.iter().map(|(t, _)| *t).find(|t| t.number() == n).unwrap_or(MapType::Other(n))
    }

    /// From the assembly keyword (`hash`, `array`, ... or a number).
    pub fn from_keyword(s: &str) -> Option<MapType> {
        MapType::NAMED.iter().find(|(_, k)| *k == s).map(|(t, _)| *t)
    }

    /// Array-like: the key is a `u32` index below `max_entries` and every value always exists.
    pub fn is_array(self) -> bool {
        matches!(self, MapType::Array | MapType::PercpuArray | MapType::ProgArray)
    }
}

impl fmt::Display for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match MapType::NAMED.iter().find(|(t, _)| t == self) {
            Some((_, k)) => f.write_str(k),
            None => write!(f, "{}", self.number()),
        }
    }
}

/// `map_flags` bits (`BPF_F_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MapFlags(pub u32);

impl MapFlags {
    /// `BPF_F_NO_PREALLOC`.
    pub const NO_PREALLOC: MapFlags = MapFlags(1 << 0);
    /// `BPF_F_RDONLY`: user space may not write.
    pub const RDONLY: MapFlags = MapFlags(1 << 3);
    /// `BPF_F_WRONLY`: user space may not read.
    pub const WRONLY: MapFlags = MapFlags(1 << 4);
    /// `BPF_F_RDONLY_PROG`: programs may only read (libbpf's `.rodata`).
    pub const RDONLY_PROG: MapFlags = MapFlags(1 << 7);
    /// `BPF_F_WRONLY_PROG`: programs may only write.
    pub const WRONLY_PROG: MapFlags = MapFlags(1 << 8);
    /// `BPF_F_MMAPABLE`.
    pub const MMAPABLE: MapFlags = MapFlags(1 << 10);

    /// Flags with their assembly keywords.
    pub const NAMED: [(MapFlags, &'static str); 6] = [
        (MapFlags::NO_PREALLOC, "no_prealloc"),
        (MapFlags::RDONLY, "rdonly"),
        (MapFlags::WRONLY, "wronly"),
        (MapFlags::RDONLY_PROG, "rdonly_prog"),
        (MapFlags::WRONLY_PROG, "wronly_prog"),
        (MapFlags::MMAPABLE, "mmapable"),
    ];

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: MapFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One map of a module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapSpec {
    /// Name (`.rodata` etc. for global data).
    pub name: String,
    /// Type.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: MapFlags,
    /// Frozen after creation (`BPF_MAP_FREEZE`, as libbpf does for `.rodata`): user space can no
    /// longer change it, so the verifier may treat read-only contents as known.
    pub frozen: bool,
    /// Initial contents of an array map: value `i` is `data[i * value_size ..][.. value_size]`;
    /// bytes beyond `data` are zero.
    pub data: Vec<u8>,
    /// Initial slots of a prog array: `(index, program name)`.
    pub progs: Vec<(u32, String)>,
    /// Initial slots of a map-in-map (libbpf's `.values`): `(index, inner map name)`.
    pub inner_maps: Vec<(u32, String)>,
    /// Offset of a `struct bpf_timer` field in the value (what the value's BTF would record).
    pub timer_off: Option<u32>,
    /// A map-in-map's inner map template (libbpf's `__array(values, struct inner)`): what
    /// the kernel keeps as `inner_map_meta` and the verifier types lookups with.
    pub inner: Option<Box<MapSpec>>,
}

impl MapSpec {
    /// The `.map` / `.mapdata` directives that declare this map (assembly syntax; accepted back
    /// by the assembler).
    pub fn directives(&self) -> String {
        let mut s = format!(
            ".map {}, {}, {}, {}, {}",
            self.name, self.map_type, self.key_size, self.value_size, self.max_entries
        );
        let mut rest = self.flags.0;
        for (f, k) in MapFlags::NAMED {
            if self.flags.contains(f) {
                s += &format!(", {k}");
                rest &= !f.0;
            }
        }
        if rest != 0 {
            s += &format!(", flags=0x{rest:x}");
        }
        if self.frozen {
            s += ", frozen";
        }
        if let Some(off) = self.timer_off {
            s += &format!(", timer={off}");
        }
        s.push('\n');
        let vs = self.value_size.max(1) as usize;
        for (i, chunk) in self.data.chunks(vs).enumerate() {
            let end = chunk.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            if end > 0 {
                s += &format!(".mapdata {}, {i}, {}\n", self.name, quote(&chunk[..end]));
            }
        }
        for (i, p) in &self.progs {
            s += &format!(".mapdata {}, {i}, {p}\n", self.name);
        }
        s
    }
}

/// A C string literal for `bytes` (printable ASCII as is, the rest as escapes).
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s += "\\\"",
            b'\\' => s += "\\\\",
            b'\n' => s += "\\n",
            b'\t' => s += "\\t",
            0 => s += "\\0",
            0x20..=0x7e => s.push(b as char),
            _ => s += &format!("\\x{b:02x}"),
        }
    }
    s.push('"');
    s
}
