//! Maps as the verifier sees them: the map types it models (`MapKind`, with the kernel's
//! `enum bpf_map_type` numbers and which helpers each type refuses) and one map's definition
//! (`MapDef`: sizes, flags, BTF facts the checks need).

/// Map types the verifier models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MapKind {
    /// `BPF_MAP_TYPE_HASH`.
    #[default]
    Hash,
    /// `BPF_MAP_TYPE_ARRAY`.
    Array,
    /// `BPF_MAP_TYPE_PROG_ARRAY` (only `bpf_tail_call` may take it).
    ProgArray,
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY` (only the perf event helpers may take it).
    PerfEventArray,
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    PercpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY` (lookups with a constant in-range key cannot fail).
    PercpuArray,
    /// `BPF_MAP_TYPE_LRU_HASH`.
    LruHash,
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
    LruPercpuHash,
    /// `BPF_MAP_TYPE_RINGBUF` (only the ringbuf helpers may take it).
    RingBuf,
    /// `BPF_MAP_TYPE_DEVMAP`.
    DevMap,
    /// `BPF_MAP_TYPE_CPUMAP`.
    CpuMap,
    /// `BPF_MAP_TYPE_XSKMAP`.
    XskMap,
    /// `BPF_MAP_TYPE_SOCKMAP`.
    SockMap,
    /// `BPF_MAP_TYPE_SOCKHASH`.
    SockHash,
    /// `BPF_MAP_TYPE_CGROUP_STORAGE` (only `bpf_get_local_storage`).
    CgroupStorage,
    /// `BPF_MAP_TYPE_REUSEPORT_SOCKARRAY`.
    ReuseportSockarray,
    /// `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE`.
    PercpuCgroupStorage,
    /// `BPF_MAP_TYPE_SK_STORAGE`.
    SkStorage,
    /// `BPF_MAP_TYPE_DEVMAP_HASH`.
    DevMapHash,
    /// `BPF_MAP_TYPE_INODE_STORAGE` (only `bpf_inode_storage_*` may take it).
    InodeStorage,
    /// `BPF_MAP_TYPE_TASK_STORAGE` (only `bpf_task_storage_*` may take it).
    TaskStorage,
    /// `BPF_MAP_TYPE_CGRP_STORAGE` (only `bpf_cgrp_storage_*` may take it).
    CgrpStorage,
    /// `BPF_MAP_TYPE_STACK_TRACE` (only `bpf_get_stackid` may take it).
    StackTrace,
    /// `BPF_MAP_TYPE_CGROUP_ARRAY` (only the cgroup membership helpers may take it).
    CgroupArray,
    /// `BPF_MAP_TYPE_QUEUE` (only push, pop and peek).
    Queue,
    /// `BPF_MAP_TYPE_STACK` (only push, pop and peek).
    Stack,
    /// `BPF_MAP_TYPE_ARRAY_OF_MAPS` (only lookups, which yield the inner map).
    ArrayOfMaps,
    /// `BPF_MAP_TYPE_HASH_OF_MAPS` (only lookups, which yield the inner map).
    HashOfMaps,
    /// `BPF_MAP_TYPE_LPM_TRIE` (no helper restriction of its own).
    LpmTrie,
    /// `BPF_MAP_TYPE_USER_RINGBUF` (only `bpf_user_ringbuf_drain`).
    UserRingBuf,
    /// `BPF_MAP_TYPE_BLOOM_FILTER` (only push and peek).
    BloomFilter,
    /// `BPF_MAP_TYPE_STRUCT_OPS` (a loader object: no program may reference it).
    StructOps,
}

/// `(kind, enum bpf_map_type number)` for every kind the verifier models.
const MAP_KIND_NUMBERS: [(MapKind, u32); 32] = [
    (MapKind::Hash, 1),
    (MapKind::Array, 2),
    (MapKind::ProgArray, 3),
    (MapKind::PerfEventArray, 4),
    (MapKind::PercpuHash, 5),
    (MapKind::PercpuArray, 6),
    (MapKind::StackTrace, 7),
    (MapKind::CgroupArray, 8),
    (MapKind::LruHash, 9),
    (MapKind::LruPercpuHash, 10),
    (MapKind::DevMap, 14),
    (MapKind::SockMap, 15),
    (MapKind::CpuMap, 16),
    (MapKind::XskMap, 17),
    (MapKind::SockHash, 18),
    (MapKind::CgroupStorage, 19),
    (MapKind::ReuseportSockarray, 20),
    (MapKind::PercpuCgroupStorage, 21),
    (MapKind::SkStorage, 24),
    (MapKind::Queue, 22),
    (MapKind::Stack, 23),
    (MapKind::DevMapHash, 25),
    (MapKind::RingBuf, 27),
    (MapKind::InodeStorage, 28),
    (MapKind::TaskStorage, 29),
    (MapKind::CgrpStorage, 32),
    (MapKind::ArrayOfMaps, 12),
    (MapKind::HashOfMaps, 13),
    (MapKind::LpmTrie, 11),
    (MapKind::UserRingBuf, 31),
    (MapKind::BloomFilter, 30),
    (MapKind::StructOps, 26),
];

impl MapKind {
    /// The kernel's `enum bpf_map_type` number.
    pub fn raw(self) -> u32 {
        MAP_KIND_NUMBERS.iter().find(|(k, _)| *k == self).map_or(0, |(_, n)| *n)
    }

    /// The kind for a kernel map type number, if the verifier models it.
    pub fn from_raw(t: u32) -> Option<MapKind> {
        MAP_KIND_NUMBERS.iter().find(|(_, n)| *n == t).map(|(k, _)| *k)
    }

    /// Array maps whose lookups with a constant in-range key are never NULL
    /// (`can_elide_value_nullness`).
    pub fn is_array(self) -> bool {
        matches!(self, MapKind::Array | MapKind::PercpuArray)
    }

    /// Sleepable programs may use maps of this type (`check_map_prog_compatibility`; the
    /// running 6.18 kernel's answers: no prog arrays, bloom filters, LPM tries, devmaps,
    /// stack traces, cgroup storages or socket maps).
    pub fn sleepable_ok(self) -> bool {
        use MapKind::*;
        matches!(
            self,
            Hash | LruHash
                | Array
                | PercpuHash
                | PercpuArray
                | LruPercpuHash
                | ArrayOfMaps
                | HashOfMaps
                | RingBuf
                | UserRingBuf
                | InodeStorage
                | SkStorage
                | TaskStorage
                | CgrpStorage
                | Queue
                | Stack
        )
    }

    /// The kernel structure behind the map type's `struct bpf_map` (its ops' `map_btf_id`):
    /// what a privileged program reads through a map pointer (`check_ptr_to_map_access`).
    pub fn btf_struct(self) -> &'static str {
        use MapKind::*;
        match self {
            Array | PercpuArray | ProgArray | PerfEventArray | CgroupArray | ArrayOfMaps => "bpf_array",
            Hash | PercpuHash | LruHash | LruPercpuHash | HashOfMaps => "bpf_htab",
            StackTrace => "bpf_stack_map",
            LpmTrie => "lpm_trie",
            DevMap | DevMapHash => "bpf_dtab",
            CpuMap => "bpf_cpu_map",
            XskMap => "xsk_map",
            SockMap => "bpf_stab",
            SockHash => "bpf_shtab",
            CgroupStorage | PercpuCgroupStorage => "bpf_cgroup_storage_map",
            ReuseportSockarray => "reuseport_array",
            Queue | Stack => "bpf_queue_stack",
            SkStorage | InodeStorage | TaskStorage | CgrpStorage => "bpf_local_storage_map",
            RingBuf | UserRingBuf => "bpf_ringbuf_map",
            BloomFilter => "bpf_bloom_filter",
            StructOps => "bpf_struct_ops_map",
        }
    }

    /// The map type's own restriction on helpers (first half of
    /// `check_map_func_compatibility`): `true` = helper `id` may not take this map.
    pub fn refuses_helper(self, id: i32) -> bool {
        use crate::protos::func_id::BpfFunc as F;
        let f = F::from_id(id);
        match self {
            MapKind::ProgArray => f != Some(F::TailCall),
            MapKind::PerfEventArray => !matches!(
                f,
                Some(
                    F::PerfEventRead
                        | F::PerfEventOutput
                        | F::PerfEventReadValue
                        | F::SkbOutput
                        | F::XdpOutput
                )
            ),
            MapKind::RingBuf => !matches!(
                f,
                Some(F::RingbufOutput | F::RingbufReserve | F::RingbufQuery | F::RingbufReserveDynptr)
            ),
            MapKind::CgroupStorage | MapKind::PercpuCgroupStorage => f != Some(F::GetLocalStorage),
            MapKind::DevMap | MapKind::DevMapHash | MapKind::XskMap => {
                !matches!(f, Some(F::RedirectMap | F::MapLookupElem))
            }
            MapKind::CpuMap => f != Some(F::RedirectMap),
            MapKind::SockMap => !matches!(
                f,
                Some(
                    F::SkRedirectMap
                        | F::SockMapUpdate
                        | F::MsgRedirectMap
                        | F::SkSelectReuseport
                        | F::MapLookupElem
                        | F::MapUpdateElem
                        | F::MapDeleteElem
                )
            ),
            MapKind::SockHash => !matches!(
                f,
                Some(
                    F::SkRedirectHash
                        | F::SockHashUpdate
                        | F::MsgRedirectHash
                        | F::SkSelectReuseport
                        | F::MapLookupElem
                        | F::MapUpdateElem
                        | F::MapDeleteElem
                )
            ),
            MapKind::ReuseportSockarray => f != Some(F::SkSelectReuseport),
            MapKind::SkStorage => !matches!(f, Some(F::SkStorageGet | F::SkStorageDelete | F::KptrXchg)),
            MapKind::InodeStorage => !matches!(f, Some(F::InodeStorageGet | F::InodeStorageDelete)),
            MapKind::TaskStorage => !matches!(f, Some(F::TaskStorageGet | F::TaskStorageDelete)),
            MapKind::CgrpStorage => !matches!(f, Some(F::CgrpStorageGet | F::CgrpStorageDelete)),
            MapKind::StackTrace => f != Some(F::GetStackid),
            MapKind::CgroupArray => !matches!(f, Some(F::SkbUnderCgroup | F::CurrentTaskUnderCgroup)),
            MapKind::Queue | MapKind::Stack => {
                !matches!(f, Some(F::MapPeekElem | F::MapPopElem | F::MapPushElem))
            }
            MapKind::ArrayOfMaps | MapKind::HashOfMaps => f != Some(F::MapLookupElem),
            MapKind::UserRingBuf => f != Some(F::UserRingbufDrain),
            MapKind::BloomFilter => !matches!(f, Some(F::MapPeekElem | F::MapPushElem)),
            _ => false,
        }
    }
}

/// A map the program may reference through `ld_imm64` with `BPF_PSEUDO_MAP_FD`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MapDef {
    /// The fd number used in the instructions.
    pub fd: i32,
    /// Map name (printed as `map=<name>`).
    pub name: String,
    /// Type.
    pub kind: MapKind,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum entries.
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_RDONLY_PROG` = 0x80 makes the map read-only for programs).
    pub flags: u32,
    /// `BPF_MAP_FREEZE` was applied (with `BPF_F_RDONLY_PROG`: contents are constants).
    pub frozen: bool,
    /// Contents of the value (element 0), when known (global data, `.rodata`).
    pub initial: Option<Vec<u8>>,
    /// The value's special fields (`map->record`: locks, timers, kptrs...), from its BTF.
    pub record: Option<std::sync::Arc<crate::btf::record::Record>>,
    /// A map-in-map's inner map template (`inner_map_meta`): its index in the verifier's map
    /// table. A lookup's non-NULL result is a `CONST_PTR_TO_MAP` of it.
    pub inner: Option<u32>,
    /// This entry is an inner map template: no `ld_imm64` names it (the kernel's
    /// `inner_map_meta` has no fd and no name).
    pub template: bool,
}

/// `BPF_F_RDONLY_PROG`.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_WRONLY_PROG`.
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;

impl MapDef {
    /// The value's record has a field of `kind` (`btf_record_has_field`).
    pub fn has_field(&self, kind: crate::btf::record::FieldKind) -> bool {
        self.record.as_ref().is_some_and(|r| r.has(kind))
    }

    /// The value holds a `bpf_spin_lock` or `bpf_res_spin_lock` (`reg_may_point_to_spin_lock`).
    pub fn may_hold_lock(&self) -> bool {
        use crate::btf::record::FieldKind;
        self.has_field(FieldKind::SpinLock) || self.has_field(FieldKind::ResSpinLock)
    }

    /// Offset of the value's `struct bpf_timer` (`record->timer_off`).
    pub fn timer_off(&self) -> Option<u32> {
        self.record.as_ref()?.off_of(crate::btf::record::FieldKind::Timer)
    }

    /// A record holding only a `bpf_timer` at `off` (maps declared without BTF).
    pub fn timer_record(off: Option<u32>) -> Option<std::sync::Arc<crate::btf::record::Record>> {
        off.map(|o| std::sync::Arc::new(crate::btf::record::Record::with_timer(o)))
    }

    /// `bpf_map_is_rdonly`: read-only for programs and frozen.
    pub fn is_rdonly(&self) -> bool {
        self.flags & BPF_F_RDONLY_PROG != 0 && self.frozen
    }

    /// `bpf_map_flags_to_cap` & `BPF_MAP_CAN_READ`: programs may read the value unless the
    /// map is write-only for them (`BPF_F_RDONLY_PROG` wins when both bits are set).
    pub fn prog_can_read(&self) -> bool {
        self.flags & BPF_F_RDONLY_PROG != 0 || self.flags & BPF_F_WRONLY_PROG == 0
    }

    /// `bpf_map_flags_to_cap` & `BPF_MAP_CAN_WRITE`.
    pub fn prog_can_write(&self) -> bool {
        self.flags & BPF_F_RDONLY_PROG == 0
    }
}
