//! The walk of `btf_find_field` over a struct's members or a data section's variables
//! (arrays flattened, nested structs entered, repeated fields copied), and the parsing of kptr
//! pointees and graph roots (`btf_parse_kptr`, `btf_parse_graph_root`).

use super::record::{
    FIELDS_MAX, FieldKind, FieldMask, GraphRoot, Kptr, KptrTarget, MAX_DEPTH, NAMED, RecordError,
};
use kbpf_elf::btf::{Btf, BtfType, Kind};

/// A field found by the walk before the record checks.
pub(super) struct Found {
    pub(super) kind: FieldKind,
    pub(super) off: u32,
    pub(super) kptr_id: u32,
    pub(super) graph: Option<(u32, String)>,
}

pub(super) struct Walk<'a> {
    pub(super) btf: &'a Btf,
    pub(super) mask: FieldMask,
    pub(super) seen: Vec<FieldKind>,
    pub(super) out: Vec<Found>,
}

impl Walk<'_> {
    /// `btf_find_struct_field`: each member of the struct `id` at `base` bytes.
    pub(super) fn struct_fields(&mut self, id: u32, base: u32, level: u32) -> Result<(), RecordError> {
        let members = match self.btf.get(id) {
            Some(BtfType::Struct { members, .. } | BtfType::Union { members, .. }) => members,
            _ => return Ok(()),
        };
        for (i, m) in members.iter().enumerate() {
            if m.offset % 8 != 0 {
                return Err(RecordError::Invalid);
            }
            self.field_one(m.type_id, Some((id, i as i32)), base + m.offset / 8, 0, level)?;
        }
        Ok(())
    }

    /// `btf_find_field_one`: one member or variable of type `ty` at `off` (arrays flattened);
    /// `owner` is the struct and member index a graph root's `contains:` tag names.
    pub(super) fn field_one(
        &mut self,
        ty: u32,
        owner: Option<(u32, i32)>,
        off: u32,
        expected_size: u32,
        level: u32,
    ) -> Result<(), RecordError> {
        let mut ty = ty;
        let mut nelems: u64 = 1;
        let mut depth = 0;
        while let Some(BtfType::Array { elem, nelems: n, .. }) = self.btf.get(ty) {
            if depth == MAX_DEPTH {
                return Err(RecordError::TooBig);
            }
            nelems = nelems.saturating_mul(*n as u64);
            ty = *elem;
            depth += 1;
        }
        if nelems == 0 {
            return Ok(());
        }
        let Some(t) = self.btf.get(ty) else { return Ok(()) };
        let is_struct = matches!(t, BtfType::Struct { .. } | BtfType::Union { .. });
        let kind = self.field_type(t, is_struct)?;
        let Some(kind) = kind else {
            if !is_struct {
                return Ok(());
            }
            let sz = crate::btf::struct_size(t) as u64;
            if expected_size != 0 && expected_size as u64 != sz * nelems {
                return Ok(());
            }
            // btf_find_nested_struct
            if level + 1 >= MAX_DEPTH {
                return Err(RecordError::TooBig);
            }
            let start = self.out.len();
            self.struct_fields(ty, off, level + 1)?;
            return self.repeat(start, nelems, sz);
        };
        let sz = kind.size() as u64;
        if expected_size != 0 && expected_size as u64 != sz * nelems {
            return Ok(());
        }
        if !off.is_multiple_of(kind.align()) {
            return Ok(());
        }
        let mut found = Found { kind, off, kptr_id: 0, graph: None };
        match kind {
            _ if kind.is_kptr() => match self.find_kptr(ty)? {
                Some((k, id)) => {
                    found.kind = k;
                    found.kptr_id = id;
                }
                None => return Ok(()),
            },
            FieldKind::ListHead | FieldKind::RbRoot => {
                if crate::btf::struct_size(t) as u64 != sz {
                    return Ok(());
                }
                found.graph = Some(self.find_graph_root(owner)?);
            }
            _ => {
                // btf_find_struct: the named struct must have the field's size
                if crate::btf::struct_size(t) as u64 != sz {
                    return Ok(());
                }
            }
        }
        let start = self.out.len();
        self.out.push(found);
        self.repeat(start, nelems, sz)
    }

    /// `btf_repeat_fields`: the fields found from `start` on, once per further array element.
    fn repeat(&mut self, start: usize, nelems: u64, elem_size: u64) -> Result<(), RecordError> {
        let cnt = self.out.len() - start;
        if self.out.len() > FIELDS_MAX {
            return Err(RecordError::TooBig);
        }
        if nelems <= 1 || cnt == 0 {
            return Ok(());
        }
        if self.out[start..].iter().any(|f| !f.kind.repeatable()) {
            return Err(RecordError::Invalid);
        }
        if start as u64 + cnt as u64 * nelems > FIELDS_MAX as u64 {
            return Err(RecordError::TooBig);
        }
        for i in 1..nelems {
            for j in 0..cnt {
                let f = &self.out[start + j];
                let copy = Found {
                    kind: f.kind,
                    off: (f.off as u64 + i * elem_size) as u32,
                    kptr_id: f.kptr_id,
                    graph: f.graph.clone(),
                };
                self.out.push(copy);
            }
        }
        Ok(())
    }

    /// `btf_get_field_type`: the kind a member's type names, if the mask wants it.
    fn field_type(&mut self, t: &BtfType, is_struct: bool) -> Result<Option<FieldKind>, RecordError> {
        let name = match t {
            BtfType::Struct { name, .. } | BtfType::Union { name, .. } => name.as_str(),
            _ => "",
        };
        for (kind, want, once) in NAMED {
            if kind == FieldKind::KptrRef {
                let any_kptr =
                    [FieldKind::KptrUnref, FieldKind::KptrRef, FieldKind::KptrPercpu, FieldKind::Uptr]
                        .iter()
                        .any(|k| self.mask.has(*k));
                return Ok((any_kptr && !is_struct).then_some(FieldKind::KptrRef));
            }
            if !self.mask.has(kind) || name != want {
                continue;
            }
            if once {
                if self.seen.contains(&kind) {
                    return Err(RecordError::TooBig);
                }
                self.seen.push(kind);
            }
            return Ok(Some(kind));
        }
        Ok(None)
    }

    /// `btf_find_kptr`: a pointer (maybe volatile) to one type tag naming the flavour, over a
    /// struct. `None` when the member is no kptr.
    fn find_kptr(&self, ty: u32) -> Result<Option<(FieldKind, u32)>, RecordError> {
        let btf = self.btf;
        let mut t = btf.get(ty);
        if let Some(BtfType::Volatile { type_id }) = t {
            t = btf.get(*type_id);
        }
        let Some(BtfType::Ptr { type_id }) = t else { return Ok(None) };
        let Some(BtfType::TypeTag { name, type_id: under, attr: false }) = btf.get(*type_id) else {
            return Ok(None);
        };
        if matches!(btf.get(*under), Some(BtfType::TypeTag { .. })) {
            return Err(RecordError::Invalid);
        }
        let kind = match name.as_str() {
            "kptr_untrusted" => FieldKind::KptrUnref,
            "kptr" => FieldKind::KptrRef,
            "percpu_kptr" => FieldKind::KptrPercpu,
            "uptr" => FieldKind::Uptr,
            _ => return Err(RecordError::Invalid),
        };
        if !self.mask.has(kind) {
            return Ok(None);
        }
        match btf.resolve(*under) {
            Some((id, BtfType::Struct { .. } | BtfType::Union { .. })) => Ok(Some((kind, id))),
            _ => Err(RecordError::Invalid),
        }
    }

    /// `btf_find_graph_root`: the owner member's single `contains:TYPE:NODE` tag.
    fn find_graph_root(&self, owner: Option<(u32, i32)>) -> Result<(u32, String), RecordError> {
        // a global variable's tag is on its VAR, as the whole type (component -1)
        let Some((owner_id, comp)) = owner else { return Err(RecordError::Invalid) };
        let mut tags = self.btf.iter().filter_map(|(_, t)| match t {
            BtfType::DeclTag { name, type_id, component, .. }
                if *type_id == owner_id && *component == comp && name.starts_with("contains:") =>
            {
                Some(name["contains:".len()..].to_string())
            }
            _ => None,
        });
        let Some(value) = tags.next() else { return Err(RecordError::Invalid) };
        if tags.next().is_some() {
            return Err(RecordError::Invalid);
        }
        let Some((ty, node)) = value.split_once(':') else { return Err(RecordError::Invalid) };
        let Some(id) = self.btf.find_by_name_kind(ty, Kind::Struct) else { return Err(RecordError::NoEnt) };
        if node.is_empty() {
            return Err(RecordError::Invalid);
        }
        Ok((id, node.to_string()))
    }
}

/// `btf_parse_kptr`: a kernel type of the same name and kind, else the program's own.
pub(super) fn parse_kptr(btf: &Btf, local_id: u32, kernel: Option<&Btf>) -> Kptr {
    let (name, kind) = match btf.get(local_id) {
        Some(t @ (BtfType::Struct { name, .. } | BtfType::Union { name, .. })) => (name.clone(), t.kind()),
        _ => (String::new(), Kind::Struct),
    };
    let target = match kernel {
        None => KptrTarget::Unresolved,
        Some(k) => match k.find_by_name_kind(&name, kind) {
            Some(id) => KptrTarget::Kernel(id),
            None => KptrTarget::Local(local_id),
        },
    };
    Kptr { name, local_id, target }
}

/// `btf_parse_graph_root`: the node member `node` of the struct `value_id`, of struct type
/// `node_kind`, aligned.
pub(super) fn parse_graph_root(
    btf: &Btf,
    value_id: u32,
    node: &str,
    node_kind: &str,
) -> Result<GraphRoot, RecordError> {
    let Some(BtfType::Struct { members, .. }) = btf.get(value_id) else { return Err(RecordError::Invalid) };
    let mut found = None;
    for m in members.iter().filter(|m| m.name == node) {
        if found.is_some() {
            return Err(RecordError::Invalid);
        }
        let Some(BtfType::Struct { name, .. } | BtfType::Union { name, .. }) = btf.get(m.type_id) else {
            return Err(RecordError::Invalid);
        };
        if name != node_kind || m.offset % 8 != 0 || (m.offset / 8) % 8 != 0 {
            return Err(RecordError::Invalid);
        }
        found = Some(GraphRoot { value_btf_id: value_id, node_offset: m.offset / 8 });
    }
    found.ok_or(RecordError::NoEnt)
}
