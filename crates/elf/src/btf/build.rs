//! Building BTF blobs from [`BtfType`]s: the inverse of parsing, for tests and hand-made
//! target BTF.

use super::MAGIC;
use super::types::{BtfType, IntEncoding, Linkage, VarLinkage};

/// Accumulates types (ids from 1) and their strings.
#[derive(Clone, Debug, Default)]
pub struct BtfBuilder {
    types: Vec<BtfType>,
    strs: Vec<u8>,
    offsets: std::collections::HashMap<String, u32>,
}

impl BtfBuilder {
    /// An empty builder (string section starts with the empty string).
    pub fn new() -> BtfBuilder {
        BtfBuilder { types: Vec::new(), strs: vec![0], offsets: Default::default() }
    }

    /// Adds a type; returns its id.
    pub fn add(&mut self, t: BtfType) -> u32 {
        self.types.push(t);
        self.types.len() as u32
    }

    /// Adds a string; returns its offset (for `.BTF.ext` records).
    pub fn string(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&off) = self.offsets.get(s) {
            return off;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        self.offsets.insert(s.to_string(), off);
        off
    }

    /// The blob.
    pub fn build(&mut self) -> Vec<u8> {
        let mut ty = Vec::new();
        let types = std::mem::take(&mut self.types);
        for t in &types {
            self.encode(t, &mut ty);
        }
        self.types = types;
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [24u32, 0, ty.len() as u32, ty.len() as u32, self.strs.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&ty);
        out.extend_from_slice(&self.strs);
        out
    }

    fn encode(&mut self, t: &BtfType, out: &mut Vec<u8>) {
        let mut w = |v: u32| out.extend_from_slice(&v.to_le_bytes());
        let kind = t.kind() as u32;
        let name = self.string(t.name());
        let head = |w: &mut dyn FnMut(u32), flag: bool, vlen: usize, st: u32| {
            w(name);
            w((flag as u32) << 31 | kind << 24 | vlen as u32);
            w(st);
        };
        match t {
            BtfType::Void => {}
            BtfType::Int { size, encoding, offset, bits, .. } => {
                head(&mut w, false, 0, *size);
                let e = match encoding {
                    IntEncoding::None => 0,
                    IntEncoding::Signed => 1,
                    IntEncoding::Char => 2,
                    IntEncoding::Bool => 4,
                };
                w(e << 24 | offset << 16 | bits);
            }
            BtfType::Ptr { type_id }
            | BtfType::Typedef { type_id, .. }
            | BtfType::Volatile { type_id }
            | BtfType::Const { type_id }
            | BtfType::Restrict { type_id } => head(&mut w, false, 0, *type_id),
            BtfType::TypeTag { type_id, attr, .. } => head(&mut w, *attr, 0, *type_id),
            BtfType::Array { elem, index, nelems } => {
                head(&mut w, false, 0, 0);
                w(*elem);
                w(*index);
                w(*nelems);
            }
            BtfType::Struct { size, members, kind_flag, .. }
            | BtfType::Union { size, members, kind_flag, .. } => {
                let ms: Vec<(u32, u32, u32)> = members
                    .iter()
                    .map(|m| {
                        let off = if *kind_flag { m.bitfield_size << 24 | m.offset } else { m.offset };
                        (self.string(&m.name), m.type_id, off)
                    })
                    .collect();
                head(&mut w, *kind_flag, ms.len(), *size);
                for (n, t, o) in ms {
                    w(n);
                    w(t);
                    w(o);
                }
            }
            BtfType::Enum { size, signed, values, .. } | BtfType::Enum64 { size, signed, values, .. } => {
                let vs: Vec<(u32, i64)> = values.iter().map(|v| (self.string(&v.name), v.value)).collect();
                head(&mut w, *signed, vs.len(), *size);
                for (n, v) in vs {
                    w(n);
                    w(v as u32);
                    if matches!(t, BtfType::Enum64 { .. }) {
                        w((v as u64 >> 32) as u32);
                    }
                }
            }
            BtfType::Fwd { union, .. } => head(&mut w, *union, 0, 0),
            BtfType::Func { proto, linkage, .. } => {
                let l = match linkage {
                    Linkage::Static => 0,
                    Linkage::Global => 1,
                    Linkage::Extern => 2,
                };
                head(&mut w, false, l, *proto);
            }
            BtfType::FuncProto { ret, params, variadic } => {
                let ps: Vec<(u32, u32)> = params.iter().map(|p| (self.string(&p.name), p.type_id)).collect();
                head(&mut w, false, ps.len() + *variadic as usize, *ret);
                for (n, t) in ps {
                    w(n);
                    w(t);
                }
                if *variadic {
                    w(0);
                    w(0);
                }
            }
            BtfType::Var { type_id, linkage, .. } => {
                head(&mut w, false, 0, *type_id);
                w(match linkage {
                    VarLinkage::Static => 0,
                    VarLinkage::Global => 1,
                    VarLinkage::Extern => 2,
                });
            }
            BtfType::DataSec { size, vars, .. } => {
                head(&mut w, false, vars.len(), *size);
                for &(a, b, c) in vars {
                    w(a);
                    w(b);
                    w(c);
                }
            }
            BtfType::Float { size, .. } => head(&mut w, false, 0, *size),
            BtfType::DeclTag { type_id, component, attr, .. } => {
                head(&mut w, *attr, 0, *type_id);
                w(*component as u32);
            }
        }
    }
}
