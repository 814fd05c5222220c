//! BTF as a C header (`vmlinux.h`), the text `bpftool btf dump file F format c` prints: every
//! type in id order, each preceded by the definitions it needs, in the order and spelling
//! libbpf's btf_dump produces, so a header generated here and one from bpftool are the same.
//!
//! Two passes per type, as libbpf does: [`Dumper::order`] sorts the definitions a type needs
//! topologically (a named struct behind a pointer needs only a forward declaration; an embedded
//! or anonymous one needs its full definition first), and [`Dumper::emit`] prints them,
//! emitting a forward declaration where a definition is still in progress (a cycle through a
//! pointer). Declarations themselves are in `decl.rs`.

mod decl;

use std::collections::HashMap;

use super::{Btf, BtfType};

/// Deeper type chains than this are refused (a hostile blob could loop modifiers).
const MAX_DEPTH: u32 = 512;

/// Base types GCC names by internal names, and the standard type each stands for.
const POLY_ALIASES: &[(&str, &str)] = &[
    ("__Poly8_t", "unsigned char"),
    ("__Poly16_t", "unsigned short"),
    ("__Poly64_t", "unsigned long long"),
    ("__Poly128_t", "unsigned __int128"),
];

/// Why a header could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CDumpError {
    /// A chain of types nested deeper than [`MAX_DEPTH`] (or looping).
    #[error("BTF type [{0}]: type chain too deep or looping")]
    TooDeep(u32),
    /// Embedded types that contain each other: no C can express it.
    #[error("BTF type [{0}]: unsatisfiable type cycle")]
    Cycle(u32),
    /// A reference to a type id the blob does not have.
    #[error("BTF type [{0}]: no such type")]
    NoType(u32),
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Order {
    #[default]
    No,
    Ordering,
    Done,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Emit {
    #[default]
    No,
    Emitting,
    Done,
}

#[derive(Clone, Copy, Default)]
struct State {
    order: Order,
    emit: Emit,
    fwd_emitted: bool,
    referenced: bool,
}

/// The dumper's state across all types.
pub(crate) struct Dumper<'a> {
    btf: &'a Btf,
    states: Vec<State>,
    /// A resolved unique name (`name___N` for the Nth of a duplicated name), once asked for.
    names: Vec<Option<String>>,
    /// Occurrences of struct/union/enum names.
    type_names: HashMap<String, usize>,
    /// Occurrences of typedef names and enumerators (one C namespace).
    ident_names: HashMap<String, usize>,
    queue: Vec<u32>,
    out: String,
    error: Option<CDumpError>,
}

/// The whole of `btf` as a header, wrapped as bpftool wraps it (include guard, the
/// `preserve_access_index` pragma block so field accesses become CO-RE relocations).
pub fn dump_c(btf: &Btf) -> Result<String, CDumpError> {
    let mut d = Dumper::new(btf);
    d.out.push_str("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n");
    d.out.push_str("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n");
    d.out.push_str(
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n",
    );
    d.out.push_str("#endif\n\n");
    for id in 1..btf.len() as u32 {
        d.dump_type(id)?;
    }
    d.out.push_str("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n");
    d.out.push_str("#endif /* __VMLINUX_H__ */\n");
    Ok(d.out)
}

impl<'a> Dumper<'a> {
    fn new(btf: &'a Btf) -> Dumper<'a> {
        let n = btf.len();
        let mut states = vec![State::default(); n];
        states[0].order = Order::Done;
        states[0].emit = Emit::Done;
        let mut mark = |id: u32| {
            if let Some(s) = states.get_mut(id as usize) {
                s.referenced = true;
            }
        };
        for (_, t) in btf.iter() {
            match t {
                BtfType::Array { elem, index, .. } => {
                    mark(*index);
                    mark(*elem);
                }
                BtfType::Struct { members, .. } | BtfType::Union { members, .. } => {
                    members.iter().for_each(|m| mark(m.type_id))
                }
                BtfType::FuncProto { params, .. } => params.iter().for_each(|p| mark(p.type_id)),
                BtfType::DataSec { vars, .. } => vars.iter().for_each(|v| mark(v.0)),
                t => {
                    if let Some(r) = t.ref_type() {
                        mark(r)
                    }
                }
            }
        }
        Dumper {
            btf,
            states,
            names: vec![None; n],
            type_names: HashMap::new(),
            ident_names: HashMap::new(),
            queue: Vec::new(),
            out: String::new(),
            error: None,
        }
    }

    fn ty(&self, id: u32) -> Result<&'a BtfType, CDumpError> {
        self.btf.get(id).ok_or(CDumpError::NoType(id))
    }

    fn dump_type(&mut self, id: u32) -> Result<(), CDumpError> {
        self.queue.clear();
        self.order(id, false, 0)?;
        for i in 0..self.queue.len() {
            let q = self.queue[i];
            self.emit(q, 0, 0);
            if let Some(e) = self.error.take() {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Queues the definitions `id` needs, then `id` if it is one; `Ok(true)` when the link
    /// to it is strong (its full definition must come first).
    fn order(&mut self, id: u32, through_ptr: bool, depth: u32) -> Result<bool, CDumpError> {
        if depth > MAX_DEPTH {
            return Err(CDumpError::TooDeep(id));
        }
        let t = self.ty(id)?;
        let named = !t.name().is_empty();
        match self.states[id as usize].order {
            Order::Done => return Ok(true),
            Order::Ordering => {
                // a loop, but a forward declaration breaks it
                if t.is_composite() && through_ptr && named {
                    return Ok(false);
                }
                return Err(CDumpError::Cycle(id));
            }
            Order::No => {}
        }
        let set = |d: &mut Self, o| d.states[id as usize].order = o;
        match t {
            BtfType::Void => Ok(true),
            BtfType::Int { .. } | BtfType::Float { .. } => {
                set(self, Order::Done);
                Ok(false)
            }
            BtfType::Ptr { type_id } => {
                let strong = self.order(*type_id, true, depth + 1)?;
                set(self, Order::Done);
                Ok(strong)
            }
            BtfType::Array { elem, .. } => self.order(*elem, false, depth + 1),
            BtfType::Struct { members, .. } | BtfType::Union { members, .. } => {
                if through_ptr && named {
                    return Ok(false);
                }
                set(self, Order::Ordering);
                for m in members {
                    self.order(m.type_id, false, depth + 1)?;
                }
                if named {
                    self.queue.push(id);
                }
                set(self, Order::Done);
                Ok(true)
            }
            BtfType::Enum { .. } | BtfType::Enum64 { .. } | BtfType::Fwd { .. } => {
                if named || !self.states[id as usize].referenced {
                    self.queue.push(id);
                }
                set(self, Order::Done);
                Ok(true)
            }
            BtfType::Typedef { type_id, .. } => {
                let strong = self.order(*type_id, through_ptr, depth + 1)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                set(self, Order::Done);
                Ok(true)
            }
            BtfType::Volatile { type_id }
            | BtfType::Const { type_id }
            | BtfType::Restrict { type_id }
            | BtfType::TypeTag { type_id, .. } => self.order(*type_id, through_ptr, depth + 1),
            BtfType::FuncProto { ret, params, .. } => {
                let mut strong = self.order(*ret, through_ptr, depth + 1)?;
                for p in params {
                    strong |= self.order(p.type_id, through_ptr, depth + 1)?;
                }
                Ok(strong)
            }
            BtfType::Func { .. }
            | BtfType::Var { .. }
            | BtfType::DataSec { .. }
            | BtfType::DeclTag { .. } => {
                set(self, Order::Done);
                Ok(false)
            }
        }
    }

    /// Prints `id`'s definition (at top level: `cont == 0`) after whatever it needs; inside
    /// the definition of `cont`, prints forward declarations only.
    fn emit(&mut self, id: u32, cont: u32, depth: u32) {
        if self.error.is_some() {
            return;
        }
        if depth > MAX_DEPTH {
            self.error = Some(CDumpError::TooDeep(id));
            return;
        }
        let Ok(t) = self.ty(id) else {
            self.error = Some(CDumpError::NoType(id));
            return;
        };
        let top = cont == 0;
        let st = self.states[id as usize];
        if st.emit == Emit::Done {
            return;
        }
        let named = !t.name().is_empty();
        if st.emit == Emit::Emitting {
            if st.fwd_emitted {
                return;
            }
            match t {
                BtfType::Struct { .. } | BtfType::Union { .. } => {
                    if id == cont || !named {
                        return;
                    }
                    self.struct_fwd(id, t);
                    self.out.push_str(";\n\n");
                    self.states[id as usize].fwd_emitted = true;
                }
                BtfType::Typedef { .. } => {
                    if !self.blacklisted(t) {
                        self.typedef_def(id, t, 0);
                        self.out.push_str(";\n\n");
                    }
                    self.states[id as usize].fwd_emitted = true;
                }
                _ => {}
            }
            return;
        }
        match t {
            BtfType::Int { name, .. } => {
                // GCC's Arm SIMD typedefs name types no compiler knows elsewhere
                let alias = POLY_ALIASES.iter().find(|(n, _)| n == name);
                if let Some((n, c)) = alias {
                    self.out.push_str(&format!("typedef {c} {n};\n\n"));
                }
                self.states[id as usize].emit = Emit::Done
            }
            BtfType::Enum { .. } | BtfType::Enum64 { .. } => {
                if top {
                    self.enum_def(id, t, 0);
                    self.out.push_str(";\n\n");
                }
                self.states[id as usize].emit = Emit::Done;
            }
            BtfType::Ptr { type_id }
            | BtfType::Volatile { type_id }
            | BtfType::Const { type_id }
            | BtfType::Restrict { type_id }
            | BtfType::TypeTag { type_id, .. } => self.emit(*type_id, cont, depth + 1),
            BtfType::Array { elem, .. } => self.emit(*elem, cont, depth + 1),
            BtfType::Fwd { .. } => {
                self.fwd_def(id, t);
                self.out.push_str(";\n\n");
                self.states[id as usize].emit = Emit::Done;
            }
            BtfType::Typedef { type_id, .. } => {
                self.states[id as usize].emit = Emit::Emitting;
                self.emit(*type_id, id, depth + 1);
                if !self.states[id as usize].fwd_emitted && !self.blacklisted(t) {
                    self.typedef_def(id, t, 0);
                    self.out.push_str(";\n\n");
                }
                self.states[id as usize].emit = Emit::Done;
            }
            BtfType::Struct { members, .. } | BtfType::Union { members, .. } => {
                self.states[id as usize].emit = Emit::Emitting;
                if top || !named {
                    let inner = if named { id } else { cont };
                    for m in members {
                        self.emit(m.type_id, inner, depth + 1);
                    }
                } else if !self.states[id as usize].fwd_emitted && id != cont {
                    self.struct_fwd(id, t);
                    self.out.push_str(";\n\n");
                    self.states[id as usize].fwd_emitted = true;
                }
                if top {
                    self.struct_def(id, t, 0);
                    self.out.push_str(";\n\n");
                    self.states[id as usize].emit = Emit::Done;
                } else {
                    self.states[id as usize].emit = Emit::No;
                }
            }
            BtfType::FuncProto { ret, params, .. } => {
                self.emit(*ret, cont, depth + 1);
                for p in params {
                    self.emit(p.type_id, cont, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// `__builtin_va_list` is the compiler's own: never redefined.
    fn blacklisted(&self, t: &BtfType) -> bool {
        t.name() == "__builtin_va_list"
    }

    /// The C name of a struct, union or enum (`name___N` for a later duplicate).
    fn type_name(&mut self, id: u32) -> String {
        self.resolve_name(id, false)
    }

    /// The C name of a typedef.
    fn ident_name(&mut self, id: u32) -> String {
        self.resolve_name(id, true)
    }

    fn resolve_name(&mut self, id: u32, ident: bool) -> String {
        let Some(t) = self.btf.get(id) else { return String::new() };
        let orig = t.name();
        if orig.is_empty() {
            return String::new();
        }
        if let Some(n) = &self.names[id as usize] {
            return n.clone();
        }
        let empty_enum = matches!(t, BtfType::Enum { values, .. } if values.is_empty());
        let name = if matches!(t, BtfType::Fwd { .. }) || empty_enum {
            orig.to_string()
        } else {
            let map = if ident { &mut self.ident_names } else { &mut self.type_names };
            let n = bump(map, orig);
            if n > 1 { format!("{orig}___{n}") } else { orig.to_string() }
        };
        self.names[id as usize] = Some(name.clone());
        name
    }
}

/// Counts one more occurrence of `name`; returns the count.
fn bump(map: &mut HashMap<String, usize>, name: &str) -> usize {
    let n = map.entry(name.to_string()).or_insert(0);
    *n += 1;
    *n
}
