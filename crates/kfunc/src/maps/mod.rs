//! The map runtime: the maps of one run (array, per-CPU array, hash, per-CPU hash, LRU hash,
//! prog array, ring buffer (`ringbuf`), cgroup storage and the kinds kbpf keeps empty
//! (`special`)), their user-space operations (`BPF_MAP_*_ELEM` semantics and errnos) and the
//! natives of the map helpers (`bpf_map_lookup_elem` 1, `bpf_map_update_elem` 2,
//! `bpf_map_delete_elem` 3).
//!
//! A program reaches a map through `ld_imm64` (`BPF_PSEUDO_MAP_FD`), which engines resolve to
//! the host address of its [`Map`] ([`MapSet::map_addr`]); `BPF_PSEUDO_MAP_VALUE` resolves to
//! the address of a byte of its first value ([`MapSet::value_addr`]). Hash maps are
//! preallocated: every value's memory is fixed for the life of the [`MapSet`], so a pointer a
//! lookup returned stays valid (the kernel reuses such an element only after an RCU period).
//! Per-CPU maps hold one copy (kbpf runs on one CPU, `bpf_get_smp_processor_id` = 0).
//!
//! The interpreter never calls the natives: it goes through [`HostEnv`], which checks every
//! address. JIT code calls the natives, which trust the verifier (see their `SAFETY` notes).

mod error;
mod map_in_map;
mod natives;
mod queue;
mod ringbuf;
mod sk_storage;
mod special;
mod storage;
mod timers;
mod walk;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use kbpf_isa::{MapSpec, MapType};

pub use error::MapError;
pub use natives::{TailCalls, call_map_helper, register, tail_call_resolve};
pub use queue::call_queue_helper;
pub use special::holds_sockets;
use storage::Block;
pub use timers::{
    ActiveMaps, DueTimer, TIMER_CANCEL, TIMER_INIT, TIMER_SET_CALLBACK, TIMER_SIZE, TIMER_START,
};

/// `MAX_TAIL_CALL_CNT`: tail calls one invocation may make.
pub const MAX_TAIL_CALL_CNT: u32 = 33;

/// `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST` (and `BPF_F_LOCK`, accepted and ignored).
const BPF_NOEXIST: u64 = 1;
const BPF_EXIST: u64 = 2;
const BPF_F_LOCK: u64 = 4;

/// What `bpf_tail_call(ctx, map, index)` finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailCallTarget {
    /// `index >= max_entries` (or no prog array): falls through without counting.
    OutOfRange,
    /// The slot is empty: falls through (the attempt counts).
    Empty,
    /// Program id to continue in.
    Prog(u32),
}

/// The run-time environment an interpreter consults for memory beyond its input and stacks and
/// for the map helpers; every address is checked, nothing is trusted.
///
/// # Safety
///
/// An engine hands natives the memory [`HostEnv::region`] vouches for: an implementation must
/// answer `Some` only for memory that stays valid for reads (and for writes, when it says
/// `write`) while the environment is borrowed, and that no live Rust reference other than
/// interior-mutable cells covers.
#[allow(unsafe_code)]
pub unsafe trait HostEnv {
    /// Little-endian load of `size` bytes at `addr`, if the environment owns that memory.
    fn load(&self, addr: u64, size: u8) -> Option<u64>;
    /// Little-endian store, if the environment owns that memory.
    fn store(&self, addr: u64, size: u8, v: u64) -> Option<()>;
    /// The map at `addr` (what a `BPF_PSEUDO_MAP_FD` load gave the program).
    fn map(&self, addr: u64) -> Option<&Map>;
    /// Timer helper `id` (169..172) with r1..r3, r1 being a `struct bpf_timer` in a map value
    /// the environment owns; `None` if it is not one (or the environment has no timers).
    fn timer_helper(&self, id: i32, args: [u64; 3]) -> Option<u64> {
        let _ = (id, args);
        None
    }
    /// Whether `[addr, addr + len)` lies inside one piece of the environment's memory (one map
    /// value), and what a program may do there; `None` if it does not. What an engine checks
    /// before handing such an address to a native.
    fn region(&self, addr: u64, len: u64) -> Option<MemRights> {
        let _ = (addr, len);
        None
    }
    /// Whether `addr` is the `struct bpf_timer` field of an element of the environment's maps.
    fn is_timer(&self, addr: u64) -> bool {
        let _ = addr;
        false
    }
}

/// What a program may do with a piece of memory (`BPF_F_RDONLY_PROG` / `BPF_F_WRONLY_PROG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemRights {
    /// The program may read it.
    pub read: bool,
    /// The program may write it.
    pub write: bool,
}

/// Which storage a map has.
#[derive(Debug)]
enum Kind {
    Array,
    Hash {
        lru: bool,
    },
    ProgArray,
    /// Records in a data block of twice the ring's size.
    Ringbuf(ringbuf::Ring),
    /// A kind kbpf keeps empty.
    Empty(special::Empty),
    /// Values without keys, copied in and out.
    Queue(queue::Queue),
    /// One value, the run's (`bpf_get_local_storage`); invisible to user space like the
    /// kernel's storage of a cgroup the program is not attached to.
    CgroupStorage,
    /// At most one value, the run's socket's (`sk_storage`).
    SkStorage(sk_storage::Owner),
    /// Other maps of the run (`map_in_map`).
    MapInMap(map_in_map::Inner),
}

/// Per-element bookkeeping of a hash map.
#[derive(Debug, Default)]
struct HashIndex {
    by_key: HashMap<Vec<u8>, u32>,
    key_of: Vec<Option<Vec<u8>>>,
    free: Vec<u32>,
}

/// The most memory one map may take: a userspace runtime must not let an object's claimed
/// sizes exhaust the host, whatever the kernel would accept.
pub const MAX_MAP_BYTES: usize = 1 << 30;
/// Index bytes per hash element beyond its value: `key_of`, `free` and `used` entries.
const HASH_ENTRY_OVERHEAD: usize = std::mem::size_of::<Option<Vec<u8>>>() + 4 + 8;

/// One map.
#[derive(Debug)]
pub struct Map {
    spec: MapSpec,
    kind: Kind,
    /// Value `i` at `i * stride` (stride = value size rounded up to 8, like the kernel's
    /// `round_up(value_size, 8)` element size).
    values: Block,
    stride: usize,
    index: RefCell<HashIndex>,
    /// LRU clock and each element's last use.
    clock: Cell<u64>,
    used: Box<[Cell<u64>]>,
    progs: Box<[Cell<Option<u32>>]>,
    /// Initialized timers by the address of their `struct bpf_timer` field.
    timers: RefCell<BTreeMap<u64, timers::TimerState>>,
}

impl Map {
    /// Creates a map from its description (initial array data copied in; prog-array slots are
    /// filled by the caller, who knows program ids).
    pub fn new(spec: &MapSpec) -> Result<Map, MapError> {
        let bad = |m: &str| Err(MapError::Invalid(format!("map `{}`: {m}", spec.name)));
        let kind = match spec.map_type {
            MapType::Array | MapType::PercpuArray => Kind::Array,
            MapType::Hash | MapType::PercpuHash => Kind::Hash { lru: false },
            MapType::LruHash => Kind::Hash { lru: true },
            MapType::ProgArray => Kind::ProgArray,
            MapType::Ringbuf => Kind::Ringbuf(ringbuf::Ring::new(spec)?),
            t => match (special::kind_of(spec)?, map_in_map::kind_of(spec)?) {
                (Some(k), _) | (None, Some(k)) => k,
                _ => queue::kind_of(spec)?.ok_or_else(|| MapError::Unsupported(spec.name.clone(), t))?,
            },
        };
        if !matches!(
            kind,
            Kind::Ringbuf(_) | Kind::Empty(_) | Kind::CgroupStorage | Kind::SkStorage(_) | Kind::Queue(_)
        ) && (spec.max_entries == 0 || spec.value_size == 0 || spec.key_size == 0)
        {
            return bad("key_size, value_size and max_entries must be non-zero");
        }
        if matches!(kind, Kind::Array | Kind::ProgArray) && spec.key_size != 4 {
            return bad("array maps take 4-byte keys");
        }
        if matches!(kind, Kind::ProgArray) && spec.value_size != 4 {
            return bad("prog arrays take 4-byte values");
        }
        // map_check_btf: a bpf_timer only in hash, LRU hash and array values, 8-byte aligned
        if let Some(off) = spec.timer_off {
            if !matches!(spec.map_type, MapType::Hash | MapType::LruHash | MapType::Array) {
                return bad("a bpf_timer needs a hash, LRU hash or array map (EOPNOTSUPP)");
            }
            if off % 8 != 0 || off.checked_add(timers::TIMER_SIZE).is_none_or(|e| e > spec.value_size) {
                return bad("the bpf_timer does not fit the value at an 8-byte aligned offset");
            }
        }
        let stride = (spec.value_size as usize).div_ceil(8) * 8;
        let n = spec.max_entries as usize;
        // the budget counts the hash index too (a key slot, a free-list entry and an LRU
        // stamp per element), which is allocated up front like the values
        let per_entry = match kind {
            Kind::Hash { .. } => stride + HASH_ENTRY_OVERHEAD,
            Kind::ProgArray => std::mem::size_of::<Cell<Option<u32>>>(),
            Kind::Array | Kind::Queue(_) => stride,
            Kind::Ringbuf(_) => 2,
            Kind::Empty(_) | Kind::MapInMap(_) => 0,
            Kind::CgroupStorage | Kind::SkStorage(_) => 0,
        };
        if per_entry.checked_mul(n).is_none_or(|t| t > MAX_MAP_BYTES) {
            return bad("too large (kbpf caps a map at 1 GiB)");
        }
        let total = match kind {
            Kind::ProgArray | Kind::Empty(_) | Kind::Queue(_) | Kind::MapInMap(_) => 0,
            Kind::Ringbuf(_) => 2 * n,
            Kind::CgroupStorage | Kind::SkStorage(_) => stride,
            _ => stride * n,
        };
        let values = Block::new(total);
        if !spec.data.is_empty() {
            if !matches!(kind, Kind::Array) || spec.data.len() > spec.value_size as usize * n {
                return bad("initial data does not fit the map");
            }
            for (i, chunk) in spec.data.chunks(spec.value_size as usize).enumerate() {
                values.write(i * stride, chunk);
            }
        }
        let hash = matches!(kind, Kind::Hash { .. });
        let index = HashIndex {
            key_of: if hash { vec![None; n] } else { Vec::new() },
            free: if hash { (0..n as u32).rev().collect() } else { Vec::new() },
            ..HashIndex::default()
        };
        Ok(Map {
            spec: spec.clone(),
            values,
            stride,
            index: RefCell::new(index),
            clock: Cell::new(0),
            used: (0..if hash { n } else { 0 }).map(|_| Cell::new(0)).collect(),
            progs: (0..if matches!(kind, Kind::ProgArray) { n } else { 0 })
                .map(|_| Cell::new(None))
                .collect(),
            timers: RefCell::new(BTreeMap::new()),
            kind,
        })
    }

    /// The description it was created from.
    pub fn spec(&self) -> &MapSpec {
        &self.spec
    }

    /// Host address of the map object (what `ld_imm64` with `BPF_PSEUDO_MAP_FD` loads).
    pub fn addr(&self) -> u64 {
        self as *const Map as u64
    }

    fn array_index(&self, key: &[u8]) -> Option<usize> {
        let k = u32::from_le_bytes(key.get(..4)?.try_into().ok()?) as usize;
        (k < self.spec.max_entries as usize).then_some(k)
    }

    fn check_key(&self, key: &[u8]) -> Result<(), MapError> {
        if key.len() != self.spec.key_size as usize {
            return Err(MapError::Invalid(format!(
                "key of {} bytes, key_size {}",
                key.len(),
                self.spec.key_size
            )));
        }
        Ok(())
    }

    fn touch(&self, slot: u32) {
        if let Some(u) = self.used.get(slot as usize) {
            self.clock.set(self.clock.get() + 1);
            u.set(self.clock.get());
        }
    }

    fn slot_of(&self, key: &[u8]) -> Option<usize> {
        match self.kind {
            Kind::Array => self.array_index(key),
            Kind::Hash { .. } => {
                let s = *self.index.borrow().by_key.get(key)?;
                self.touch(s);
                Some(s as usize)
            }
            _ => None,
        }
    }

    /// Address of the value stored under `key` (`bpf_map_lookup_elem` from a program).
    pub fn lookup_addr(&self, key: &[u8]) -> Option<u64> {
        if let Some(inner) = self.inner_addr(key) {
            return inner;
        }
        self.slot_of(key).map(|s| self.values.addr() + (s * self.stride) as u64)
    }

    /// A copy of the value under `key` (`BPF_MAP_LOOKUP_ELEM` from user space).
    pub fn lookup(&self, key: &[u8]) -> Option<Vec<u8>> {
        if let Kind::ProgArray = self.kind {
            let id = self.progs.get(self.array_index(key)?)?.get()?;
            return Some(id.to_le_bytes().to_vec());
        }
        let mut v =
            self.slot_of(key).map(|s| self.values.read(s * self.stride, self.spec.value_size as usize))?;
        self.hide_timer(&mut v);
        Some(v)
    }

    /// `BPF_MAP_UPDATE_ELEM` / `bpf_map_update_elem` with the kernel's flag rules and errnos.
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.check_key(key)?;
        if value.len() != self.spec.value_size as usize {
            return Err(MapError::Invalid(format!("value of {} bytes", value.len())));
        }
        if flags & !BPF_F_LOCK > BPF_EXIST {
            return Err(MapError::Invalid(format!("flags {flags:#x}")));
        }
        let flags = flags & !BPF_F_LOCK;
        if let Some(e) = self.refuse_update() {
            return Err(e);
        }
        match self.kind {
            Kind::Array | Kind::ProgArray => {
                let i = self.array_index(key).ok_or(MapError::TooBig)?;
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                if let Kind::ProgArray = self.kind {
                    let id =
                        u32::from_le_bytes(value.try_into().map_err(|_| MapError::Invalid("value".into()))?);
                    self.progs[i].set(Some(id));
                } else {
                    self.values.write(i * self.stride, value);
                    self.free_timer(i);
                }
                Ok(())
            }
            Kind::Hash { lru } => {
                let mut ix = self.index.borrow_mut();
                let slot = match ix.by_key.get(key).copied() {
                    Some(_) if flags == BPF_NOEXIST => return Err(MapError::Exists),
                    Some(s) => s,
                    None if flags == BPF_EXIST => return Err(MapError::NoEntry),
                    None => {
                        let s = match ix.free.pop() {
                            Some(s) => s,
                            None if lru => self.evict(&mut ix),
                            None => return Err(MapError::TooBig),
                        };
                        ix.by_key.insert(key.to_vec(), s);
                        ix.key_of[s as usize] = Some(key.to_vec());
                        s
                    }
                };
                drop(ix);
                self.values.write(slot as usize * self.stride, value);
                self.free_timer(slot as usize);
                self.touch(slot);
                Ok(())
            }
            _ => Err(self.no_elements()),
        }
    }

    /// What user-space element operations get from a map without elements (ring buffers,
    /// cgroup storage: `-EINVAL` here, the kernel's `-ENOTSUPP`/`-ENOENT` by type).
    fn no_elements(&self) -> MapError {
        MapError::Invalid(format!("map `{}` has no elements user space can reach", self.spec.name))
    }

    /// Frees the least recently used element of a full LRU map and returns its slot.
    fn evict(&self, ix: &mut HashIndex) -> u32 {
        let victim = (0..self.used.len()).min_by_key(|&s| self.used[s].get()).unwrap_or(0);
        if let Some(k) = ix.key_of[victim].take() {
            ix.by_key.remove(&k);
        }
        self.free_timer(victim);
        victim as u32
    }

    /// `BPF_MAP_DELETE_ELEM` / `bpf_map_delete_elem`.
    pub fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.check_key(key)?;
        match self.kind {
            Kind::Array => Err(MapError::Invalid("array elements cannot be deleted".into())),
            Kind::ProgArray => {
                let i = self.array_index(key).ok_or(MapError::NoEntry)?;
                self.progs[i].take().map(|_| ()).ok_or(MapError::NoEntry)
            }
            Kind::Hash { .. } => {
                let mut ix = self.index.borrow_mut();
                let s = ix.by_key.remove(key).ok_or(MapError::NoEntry)?;
                ix.key_of[s as usize] = None;
                ix.free.push(s);
                drop(ix);
                self.free_timer(s as usize);
                Ok(())
            }
            // an empty sockhash has no such key; an empty sockmap slot is EINVAL
            Kind::Empty(_) if self.spec.map_type == MapType::Other(18) => Err(MapError::NoEntry),
            _ => Err(self.no_elements()),
        }
    }

    /// Every element as `(key, value)`: arrays in index order (all of them), hash maps sorted by
    /// key.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let n = self.spec.max_entries;
        match self.kind {
            Kind::Array | Kind::ProgArray => (0..n)
                .filter_map(|i| Some((i.to_le_bytes().to_vec(), self.lookup(&i.to_le_bytes())?)))
                .collect(),
            Kind::Hash { .. } => {
                let ix = self.index.borrow();
                let mut v: Vec<_> = ix
                    .by_key
                    .iter()
                    .map(|(k, &s)| {
                        let mut v = self.values.read(s as usize * self.stride, self.spec.value_size as usize);
                        self.hide_timer(&mut v);
                        (k.clone(), v)
                    })
                    .collect();
                v.sort();
                v
            }
            _ => Vec::new(),
        }
    }

    /// Puts program `id` in prog-array slot `index`.
    pub fn set_prog(&self, index: u32, id: u32) -> Result<(), MapError> {
        self.update(&index.to_le_bytes(), &id.to_le_bytes(), 0)
    }

    /// What a tail call through this map with `index` finds.
    pub fn tail_call_target(&self, index: u64) -> TailCallTarget {
        // The kernel compares the index as u32 (`BPF_W` load of r3).
        let Some(slot) = self.progs.get(index as u32 as usize) else { return TailCallTarget::OutOfRange };
        slot.get().map_or(TailCallTarget::Empty, TailCallTarget::Prog)
    }

    /// Address of byte `off` of the first value (`BPF_PSEUDO_MAP_VALUE`; arrays only).
    pub fn value_addr(&self, off: u32) -> Option<u64> {
        (matches!(self.kind, Kind::Array) && off < self.spec.value_size)
            .then(|| self.values.addr() + off as u64)
    }

    fn load(&self, addr: u64, size: u8) -> Option<u64> {
        self.values.load(addr, size)
    }

    fn store(&self, addr: u64, size: u8, v: u64) -> Option<()> {
        // A program may not write a `BPF_F_RDONLY_PROG` map (the verifier refuses it; the
        // interpreter's checked stores refuse it too).
        if self.spec.flags.contains(kbpf_isa::MapFlags::RDONLY_PROG) {
            return None;
        }
        self.values.store(addr, size, v)
    }

    /// Whether `[addr, addr + len)` lies inside one value of this map.
    fn region(&self, addr: u64, len: u64) -> Option<MemRights> {
        match self.kind {
            Kind::ProgArray | Kind::Empty(_) | Kind::Queue(_) | Kind::MapInMap(_) => return None,
            Kind::Ringbuf(_) => {
                return self.ring_region(addr, len).then_some(MemRights { read: true, write: true });
            }
            Kind::SkStorage(_) if !self.sk_storage_live() => return None,
            Kind::CgroupStorage | Kind::SkStorage(_) => {
                let end = addr.checked_sub(self.values.addr())?.checked_add(len)?;
                return (end <= self.spec.value_size as u64).then_some(MemRights { read: true, write: true });
            }
            _ => {}
        }
        let rel = addr.checked_sub(self.values.addr())?;
        let slot = rel / self.stride as u64;
        if slot >= self.spec.max_entries as u64 {
            return None;
        }
        let end = rel.checked_add(len)?;
        if end > slot * self.stride as u64 + self.spec.value_size as u64 {
            return None;
        }
        let f = self.spec.flags;
        Some(MemRights {
            read: !f.contains(kbpf_isa::MapFlags::WRONLY_PROG),
            write: !f.contains(kbpf_isa::MapFlags::RDONLY_PROG),
        })
    }

    /// Bytes of value memory (for diagnostics).
    pub fn memory_len(&self) -> usize {
        self.values.len()
    }
}

/// The maps of one run, indexed like the module's map table (the pseudo fd).
#[derive(Debug, Default)]
pub struct MapSet {
    // Built once and never resized, so each map's address (what programs hold) stays fixed.
    maps: Vec<Map>,
    /// The timers' virtual clock.
    clock: timers::Clock,
}

impl MapSet {
    /// Creates every map of `specs`; `prog_id` names the program id of a prog-array entry.
    pub fn new(specs: &[MapSpec], prog_id: impl Fn(&str) -> Option<u32>) -> Result<MapSet, MapError> {
        let mut maps = Vec::with_capacity(specs.len());
        for s in specs {
            let m = Map::new(s)?;
            for (i, name) in &s.progs {
                let id = prog_id(name).ok_or_else(|| MapError::Invalid(format!("no program `{name}`")))?;
                m.set_prog(*i, id)?;
            }
            maps.push(m);
        }
        // the inner maps once every map is at its final address
        for (m, s) in maps.iter().zip(specs) {
            for (i, name) in &s.inner_maps {
                let inner = maps.iter().find(|o| o.spec.name == *name);
                let inner = inner.ok_or_else(|| MapError::Invalid(format!("no map `{name}`")))?;
                m.set_inner(*i, inner.addr())?;
            }
        }
        Ok(MapSet { maps, clock: timers::Clock::default() })
    }

    /// Map `fd` (its index in the module's table).
    pub fn get(&self, fd: usize) -> Option<&Map> {
        self.maps.get(fd)
    }

    /// Every map in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Map> {
        self.maps.iter()
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// What `ld_imm64 rX, map_fd(fd)` loads.
    pub fn map_addr(&self, fd: usize) -> Option<u64> {
        self.get(fd).map(Map::addr)
    }

    /// What `ld_imm64 rX, map_value(fd, off)` loads.
    pub fn value_addr(&self, fd: usize, off: u32) -> Option<u64> {
        self.get(fd)?.value_addr(off)
    }
}

// SAFETY: `region` answers only for bytes inside one value of a map of the set: a `Block` of
// `Cell`s that never moves or shrinks while the set lives.
#[allow(unsafe_code)]
unsafe impl HostEnv for MapSet {
    fn load(&self, addr: u64, size: u8) -> Option<u64> {
        self.iter().find_map(|m| m.load(addr, size))
    }

    fn store(&self, addr: u64, size: u8, v: u64) -> Option<()> {
        self.iter().find_map(|m| m.store(addr, size, v))
    }

    fn map(&self, addr: u64) -> Option<&Map> {
        self.iter().find(|m| m.addr() == addr)
    }

    fn timer_helper(&self, id: i32, args: [u64; 3]) -> Option<u64> {
        MapSet::timer_helper(self, id, args)
    }

    fn region(&self, addr: u64, len: u64) -> Option<MemRights> {
        self.iter().find_map(|m| m.region(addr, len))
    }

    fn is_timer(&self, addr: u64) -> bool {
        self.iter().any(|m| m.timer_slot(addr).is_some())
    }
}

#[cfg(test)]
mod tests;
