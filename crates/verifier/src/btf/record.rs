//! The special fields of a BTF struct (`struct btf_record`): locks, timers, work items, kptrs
//! and the graph types a map value or a program-allocated object embeds, found once by the
//! kernel's walk (`btf_find_field`: members, nested structs, arrays of them, a global-data
//! section's variables) and checked as `btf_parse_fields` checks them. What a map type may
//! embed (`map_check_btf`) is [`Record::check_map_type`].
//!
//! Owns: the record and its errors. Must not touch: the rules of accesses and calls that read
//! it (check/, calls/).

use super::record_walk::{Walk, parse_graph_root, parse_kptr};
use kbpf_elf::btf::{Btf, BtfType};

/// `enum btf_field_type`: the special field kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `struct bpf_spin_lock`.
    SpinLock,
    /// `struct bpf_res_spin_lock`.
    ResSpinLock,
    /// `struct bpf_timer`.
    Timer,
    /// `struct bpf_wq`.
    Wq,
    /// `struct bpf_task_work`.
    TaskWork,
    /// `T __kptr_untrusted *`.
    KptrUnref,
    /// `T __kptr *`.
    KptrRef,
    /// `T __percpu_kptr *`.
    KptrPercpu,
    /// `T __uptr *`.
    Uptr,
    /// `struct bpf_list_head`.
    ListHead,
    /// `struct bpf_list_node`.
    ListNode,
    /// `struct bpf_rb_root`.
    RbRoot,
    /// `struct bpf_rb_node`.
    RbNode,
    /// `struct bpf_refcount`.
    Refcount,
}

/// The struct names the walk recognises, in the order `btf_get_field_type` tries them; the
/// locks, timers, work items and the refcount may appear once per record.
pub(super) const NAMED: [(FieldKind, &str, bool); 11] = [
    (FieldKind::SpinLock, "bpf_spin_lock", true),
    (FieldKind::ResSpinLock, "bpf_res_spin_lock", true),
    (FieldKind::Timer, "bpf_timer", true),
    (FieldKind::Wq, "bpf_wq", true),
    (FieldKind::TaskWork, "bpf_task_work", true),
    (FieldKind::ListHead, "bpf_list_head", false),
    (FieldKind::ListNode, "bpf_list_node", false),
    (FieldKind::RbRoot, "bpf_rb_root", false),
    (FieldKind::RbNode, "bpf_rb_node", false),
    (FieldKind::Refcount, "bpf_refcount", true),
    // kptrs have no struct name of their own: any non-struct member is a candidate
    (FieldKind::KptrRef, "", false),
];

impl FieldKind {
    /// `btf_field_type_size`.
    pub fn size(self) -> u32 {
        use FieldKind::*;
        match self {
            SpinLock | Refcount => 4,
            ResSpinLock | TaskWork | KptrUnref | KptrRef | KptrPercpu | Uptr => 8,
            Timer | Wq | ListHead | RbRoot => 16,
            ListNode => 24,
            RbNode => 32,
        }
    }

    /// `btf_field_type_align`.
    pub fn align(self) -> u32 {
        match self {
            FieldKind::SpinLock | FieldKind::Refcount => 4,
            _ => 8,
        }
    }

    /// `btf_field_type_name`: what the log calls the field.
    pub fn name(self) -> &'static str {
        use FieldKind::*;
        match self {
            SpinLock => "bpf_spin_lock",
            ResSpinLock => "bpf_res_spin_lock",
            Timer => "bpf_timer",
            Wq => "bpf_wq",
            TaskWork => "bpf_task_work",
            KptrUnref | KptrRef => "kptr",
            KptrPercpu => "percpu_kptr",
            Uptr => "uptr",
            ListHead => "bpf_list_head",
            ListNode => "bpf_list_node",
            RbRoot => "bpf_rb_root",
            RbNode => "bpf_rb_node",
            Refcount => "bpf_refcount",
        }
    }

    /// `BPF_KPTR` (with uptrs, which the same tag walk finds).
    pub fn is_kptr(self) -> bool {
        matches!(self, FieldKind::KptrUnref | FieldKind::KptrRef | FieldKind::KptrPercpu | FieldKind::Uptr)
    }

    /// May be repeated over an array's elements (`btf_repeat_fields`).
    pub(super) fn repeatable(self) -> bool {
        matches!(
            self,
            FieldKind::KptrUnref
                | FieldKind::KptrRef
                | FieldKind::KptrPercpu
                | FieldKind::ListHead
                | FieldKind::RbRoot
        )
    }
}

/// Which kinds a walk looks for (`field_mask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldMask(&'static [FieldKind]);

impl FieldMask {
    /// `map_check_btf`'s mask: a map value.
    pub const MAP_VALUE: FieldMask = FieldMask(&[
        FieldKind::SpinLock,
        FieldKind::ResSpinLock,
        FieldKind::Timer,
        FieldKind::KptrUnref,
        FieldKind::KptrRef,
        FieldKind::KptrPercpu,
        FieldKind::Uptr,
        FieldKind::ListHead,
        FieldKind::RbRoot,
        FieldKind::Refcount,
        FieldKind::Wq,
        FieldKind::TaskWork,
    ]);
    /// `btf_parse_struct_metas`' mask: a program-BTF struct that `bpf_obj_new` allocates.
    pub const LOCAL_OBJECT: FieldMask = FieldMask(&[
        FieldKind::SpinLock,
        FieldKind::ResSpinLock,
        FieldKind::ListHead,
        FieldKind::ListNode,
        FieldKind::RbRoot,
        FieldKind::RbNode,
        FieldKind::Refcount,
        FieldKind::KptrUnref,
        FieldKind::KptrRef,
        FieldKind::KptrPercpu,
        FieldKind::Wq,
    ]);

    pub(super) fn has(self, k: FieldKind) -> bool {
        self.0.contains(&k)
    }
}

/// Where a kptr's pointee type lives (`btf_parse_kptr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KptrTarget {
    /// A kernel type: its id in the target BTF.
    Kernel(u32),
    /// A type only the program's BTF has (an object of `bpf_obj_new`): its id there.
    Local(u32),
    /// No target BTF to look the name up in.
    Unresolved,
}

/// A kptr field's pointee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kptr {
    /// The pointee struct's name.
    pub name: String,
    /// Its id in the program's BTF (modifiers and typedefs skipped).
    pub local_id: u32,
    /// Its type as the kernel resolves it.
    pub target: KptrTarget,
}

/// A `bpf_list_head` / `bpf_rb_root`'s `contains:` declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphRoot {
    /// The node-holding struct's id in the program's BTF.
    pub value_btf_id: u32,
    /// Byte offset of the node field in that struct.
    pub node_offset: u32,
}

/// One special field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Kind.
    pub kind: FieldKind,
    /// Byte offset in the value.
    pub off: u32,
    /// `btf_field_type_size`.
    pub size: u32,
    /// Kptr fields: the pointee.
    pub kptr: Option<Kptr>,
    /// Graph roots: what they hold.
    pub graph_root: Option<GraphRoot>,
}

/// `struct btf_record`: the fields, sorted by offset.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// Fields in offset order.
    pub fields: Vec<Field>,
}

/// Why the kernel refuses a struct's layout (the errno map creation or program load fails with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// `-EINVAL`: a malformed field (bitfield offset, extra type tag, unknown tag, a graph
    /// root without `contains:`, two lock kinds, a graph root without a lock...).
    #[error("invalid special field layout (EINVAL)")]
    Invalid,
    /// `-E2BIG`: a once-only field twice, or too many fields.
    #[error("too many special fields (E2BIG)")]
    TooBig,
    /// `-EEXIST`: overlapping fields, or a duplicate `contains:` tag.
    #[error("overlapping special fields (EEXIST)")]
    Exists,
    /// `-ENOENT`: a `contains:` type or node name that does not exist.
    #[error("special field names a missing type (ENOENT)")]
    NoEnt,
    /// `-EOPNOTSUPP`: the map type cannot hold this field (`map_check_btf`).
    #[error("map type cannot hold this special field (EOPNOTSUPP)")]
    MapType,
    /// `-EACCES`: a read-only or write-only map cannot hold special fields.
    #[error("special fields in a read-only or write-only map (EACCES)")]
    MapFlags,
    /// `-EFAULT`: a field past the value's end.
    #[error("special field beyond the value (EFAULT)")]
    Fault,
}

/// `BTF_FIELDS_MAX`.
pub(super) const FIELDS_MAX: usize = 11;
/// `MAX_RESOLVE_DEPTH`.
pub(super) const MAX_DEPTH: u32 = 32;

impl Record {
    /// A record of one `bpf_timer` at `off` (a map declared without BTF but with a timer,
    /// kbpf's assembly `timer=` form).
    pub fn with_timer(off: u32) -> Record {
        Record { fields: vec![Field { kind: FieldKind::Timer, off, size: 16, kptr: None, graph_root: None }] }
    }

    /// `btf_record_has_field`.
    pub fn has(&self, kind: FieldKind) -> bool {
        self.fields.iter().any(|f| f.kind == kind)
    }

    /// The offset of the (only) field of a once-only kind (`spin_lock_off`, `timer_off`...).
    pub fn off_of(&self, kind: FieldKind) -> Option<u32> {
        self.fields.iter().find(|f| f.kind == kind).map(|f| f.off)
    }

    /// The field that starts exactly at `off` (`btf_record_find`).
    pub fn field_at(&self, off: u32) -> Option<&Field> {
        self.fields.iter().find(|f| f.off == off)
    }

    /// `map_check_btf`: which map types may embed which fields, and no special fields in a
    /// map programs may only read or only write. `map_type` is the kernel's number.
    pub fn check_map_type(&self, map_type: u32, flags: u32) -> Result<(), RecordError> {
        if self.fields.is_empty() {
            return Ok(());
        }
        if flags & (crate::BPF_F_RDONLY_PROG | crate::BPF_F_WRONLY_PROG) != 0 {
            return Err(RecordError::MapFlags);
        }
        // enum bpf_map_type numbers
        const HASH: u32 = 1;
        const ARRAY: u32 = 2;
        const PERCPU_HASH: u32 = 5;
        const PERCPU_ARRAY: u32 = 6;
        const LRU_HASH: u32 = 9;
        const LRU_PERCPU_HASH: u32 = 10;
        const CGROUP_STORAGE: u32 = 19;
        const SK_STORAGE: u32 = 24;
        const INODE_STORAGE: u32 = 28;
        const TASK_STORAGE: u32 = 29;
        const CGRP_STORAGE: u32 = 32;
        const STORAGES: [u32; 4] = [SK_STORAGE, INODE_STORAGE, TASK_STORAGE, CGRP_STORAGE];
        for f in &self.fields {
            let ok: bool = match f.kind {
                FieldKind::SpinLock | FieldKind::ResSpinLock => {
                    [HASH, ARRAY, CGROUP_STORAGE].contains(&map_type) || STORAGES.contains(&map_type)
                }
                FieldKind::Timer | FieldKind::Wq | FieldKind::TaskWork => {
                    [HASH, LRU_HASH, ARRAY].contains(&map_type)
                }
                FieldKind::KptrUnref | FieldKind::KptrRef | FieldKind::KptrPercpu | FieldKind::Refcount => {
                    [HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, ARRAY, PERCPU_ARRAY].contains(&map_type)
                        || STORAGES.contains(&map_type)
                }
                FieldKind::Uptr => map_type == TASK_STORAGE,
                FieldKind::ListHead | FieldKind::RbRoot => [HASH, LRU_HASH, ARRAY].contains(&map_type),
                FieldKind::ListNode | FieldKind::RbNode => false,
            };
            if !ok {
                return Err(RecordError::MapType);
            }
        }
        Ok(())
    }
}

/// `btf_parse_fields`: the record of the struct or data section `type_id` of the program's
/// `btf`, `value_size` bytes. `Ok(None)` when it has no special field. Kptr pointees are looked
/// up by name in `kernel` (the target BTF) as `bpf_find_btf_id` does; a name it lacks is a
/// program-local type.
pub fn parse(
    btf: &Btf,
    type_id: u32,
    mask: FieldMask,
    value_size: u32,
    kernel: Option<&Btf>,
) -> Result<Option<Record>, RecordError> {
    let mut w = Walk { btf, mask, seen: Vec::new(), out: Vec::new() };
    // btf_type_id_size: the value's type with typedefs and modifiers resolved
    let Some((type_id, t)) = btf.resolve(type_id) else { return Err(RecordError::Invalid) };
    match t {
        BtfType::Struct { .. } | BtfType::Union { .. } => w.struct_fields(type_id, 0, 0)?,
        BtfType::DataSec { vars, .. } => {
            // libbpf hands the kernel a section's variables sorted by offset
            let mut vars = vars.clone();
            vars.sort_by_key(|&(_, off, _)| off);
            for (var, off, size) in vars {
                let Some(BtfType::Var { type_id: vt, .. }) = btf.get(var) else { continue };
                w.field_one(*vt, Some((var, -1)), off, size, 0)?;
            }
        }
        _ => return Err(RecordError::Invalid),
    }
    if w.out.is_empty() {
        return Ok(None);
    }
    let mut rec = Record::default();
    let mut next_off = 0u32;
    for f in std::mem::take(&mut w.out) {
        let size = f.kind.size();
        if f.off as u64 + size as u64 > value_size as u64 {
            return Err(RecordError::Fault);
        }
        if f.off < next_off {
            return Err(RecordError::Exists);
        }
        next_off = f.off + size;
        let mut field = Field { kind: f.kind, off: f.off, size, kptr: None, graph_root: None };
        if f.kind.is_kptr() {
            field.kptr = Some(parse_kptr(btf, f.kptr_id, kernel));
        }
        if let Some((value_id, node)) = &f.graph {
            let node_kind = if f.kind == FieldKind::ListHead { "bpf_list_node" } else { "bpf_rb_node" };
            field.graph_root = Some(parse_graph_root(btf, *value_id, node, node_kind)?);
        }
        rec.fields.push(field);
    }
    let has = |k| rec.has(k);
    if has(FieldKind::SpinLock) && has(FieldKind::ResSpinLock) {
        return Err(RecordError::Invalid);
    }
    if (has(FieldKind::ListHead) || has(FieldKind::RbRoot)) && !has(FieldKind::SpinLock) {
        return Err(RecordError::Invalid);
    }
    if !has(FieldKind::Refcount) && has(FieldKind::ListNode) && has(FieldKind::RbNode) {
        return Err(RecordError::Invalid);
    }
    rec.fields.sort_by_key(|f| f.off);
    Ok(Some(rec))
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
