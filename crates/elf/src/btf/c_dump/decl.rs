//! C declarations of BTF types: the declarator of a type chain (pointers, arrays, function
//! prototypes and qualifiers in C's inside-out order), struct/union/enum bodies with explicit
//! padding where the natural layout would differ, bitfields, `packed` and enum `mode`s.

use super::{CDumpError, Dumper, MAX_DEPTH};
use crate::btf::BtfType;

/// Tabs for an indentation level.
fn pfx(lvl: usize) -> String {
    "\t".repeat(lvl.min(13))
}

/// Bits of the padding types, widest first.
const PADS: [(&str, u64); 4] = [("long", 64), ("int", 32), ("short", 16), ("char", 8)];

fn roundup(x: u64, y: u64) -> u64 {
    x.div_ceil(y.max(1)) * y.max(1)
}

impl Dumper<'_> {
    pub(super) fn struct_fwd(&mut self, id: u32, t: &BtfType) {
        let kw = if matches!(t, BtfType::Struct { .. }) { "struct" } else { "union" };
        let name = self.type_name(id);
        let sep = if name.is_empty() { "" } else { " " };
        self.out.push_str(&format!("{kw}{sep}{name}"));
    }

    pub(super) fn fwd_def(&mut self, id: u32, t: &BtfType) {
        let kw = if matches!(t, BtfType::Fwd { union: true, .. }) { "union" } else { "struct" };
        let name = self.type_name(id);
        self.out.push_str(&format!("{kw} {name}"));
    }

    pub(super) fn typedef_def(&mut self, id: u32, t: &BtfType, lvl: usize) {
        let name = self.ident_name(id);
        let target = t.ref_type().unwrap_or(0);
        // old GCC typedefs the va_list to void
        if target == 0 && name == "__gnuc_va_list" {
            self.out.push_str("typedef __builtin_va_list __gnuc_va_list");
            return;
        }
        self.out.push_str("typedef ");
        self.type_decl(target, &name, lvl);
    }

    pub(super) fn enum_def(&mut self, id: u32, t: &BtfType, lvl: usize) {
        let (size, signed, values, is64) = match t {
            BtfType::Enum { size, signed, values, .. } => (*size, *signed, values, false),
            BtfType::Enum64 { size, signed, values, .. } => (*size, *signed, values, true),
            _ => return,
        };
        let name = self.type_name(id);
        let sep = if name.is_empty() { "" } else { " " };
        self.out.push_str(&format!("enum{sep}{name}"));
        if values.is_empty() {
            return;
        }
        self.out.push_str(" {");
        for v in values {
            // enumerators share the typedefs' namespace
            let n = super::bump(&mut self.ident_names, &v.name);
            let ident = if n > 1 { format!("{}___{n}", v.name) } else { v.name.clone() };
            let val = match (is64, signed) {
                (false, true) => (v.value as i32).to_string(),
                (false, false) => (v.value as u32).to_string(),
                (true, true) => format!("{}LL", v.value),
                (true, false) => format!("{}ULL", v.value as u64),
            };
            self.out.push_str(&format!("\n{}{ident} = {val},", pfx(lvl + 1)));
        }
        self.out.push_str(&format!("\n{}}}", pfx(lvl)));
        if size == 1 {
            self.out.push_str(" __attribute__((mode(byte)))");
        } else if size == 8 {
            // a 64-bit enum whose values all fit in 32 bits is that wide only by mode(word)
            let wide = is64 && values.iter().any(|v| (v.value as u64) >> 32 != 0);
            if !wide {
                self.out.push_str(" __attribute__((mode(word)))");
            }
        }
    }

    /// Alignment of a type as the compiler sees it (libbpf's `btf__align_of`); 0 if none.
    fn align_of(&self, id: u32, depth: u32) -> u64 {
        if depth > MAX_DEPTH {
            return 0;
        }
        match self.btf.get(id) {
            Some(
                BtfType::Int { size, .. }
                | BtfType::Enum { size, .. }
                | BtfType::Enum64 { size, .. }
                | BtfType::Float { size, .. },
            ) => u64::from(*size).min(8),
            Some(BtfType::Ptr { .. }) => 8,
            Some(BtfType::Array { elem, .. }) => self.align_of(*elem, depth + 1),
            Some(t @ (BtfType::Typedef { .. } | BtfType::Volatile { .. } | BtfType::Const { .. })) => {
                self.align_of(t.ref_type().unwrap_or(0), depth + 1)
            }
            Some(t @ (BtfType::Restrict { .. } | BtfType::TypeTag { .. })) => {
                self.align_of(t.ref_type().unwrap_or(0), depth + 1)
            }
            Some(BtfType::Struct { size, members, .. } | BtfType::Union { size, members, .. }) => {
                let mut max = 1;
                for m in members {
                    let a = self.align_of(m.type_id, depth + 1);
                    if a == 0 {
                        return 0;
                    }
                    max = max.max(a);
                    // a member off its natural alignment means the struct is packed
                    if m.bitfield_size == 0 && u64::from(m.offset) % (8 * a) != 0 {
                        return 1;
                    }
                }
                if u64::from(*size) % max != 0 { 1 } else { max }
            }
            _ => 0,
        }
    }

    /// Whether a struct's layout needs `__attribute__((packed))` to come out as recorded.
    fn packed(&self, size: u32, members: &[crate::btf::Member]) -> bool {
        let mut max = 1;
        for m in members {
            let a = self.align_of(m.type_id, 0);
            if a != 0 && m.bitfield_size == 0 && u64::from(m.offset) % (8 * a) != 0 {
                return true;
            }
            max = max.max(a);
        }
        u64::from(size) % max != 0
    }

    /// Explicit padding from bit `cur` to bit `next`: anonymous bitfields (`long: 64;`) where
    /// the compiler would not put the next member there by itself.
    fn bit_padding(&mut self, mut cur: u64, next: u64, next_align: u64, in_bitfield: bool, lvl: usize) {
        if cur >= next {
            return;
        }
        let (mut pad_type, mut pad_bits) = PADS[PADS.len() - 1];
        let mut new_off = 0;
        for (name, bits) in PADS {
            (pad_type, pad_bits) = (name, bits);
            new_off = roundup(cur, bits);
            if new_off <= next {
                break;
            }
        }
        if new_off > cur && new_off <= next {
            if in_bitfield
                || (new_off == next && roundup(cur, next_align.max(1) * 8) != new_off)
                || (new_off != next && next - new_off <= new_off - cur)
            {
                let n = if in_bitfield { new_off - cur } else { 0 };
                self.out.push_str(&format!("\n{}{pad_type}: {n};", pfx(lvl)));
            }
            cur = new_off;
        }
        while cur != next {
            let bits = (next - cur).min(pad_bits);
            if bits == pad_bits {
                self.out.push_str(&format!("\n{}{pad_type}: {pad_bits};", pfx(lvl)));
                cur += bits;
                continue;
            }
            // the remainder in the smallest type that holds it
            for &(name, b) in PADS.iter().rev() {
                (pad_type, pad_bits) = (name, b);
                if b < bits {
                    continue;
                }
                self.out.push_str(&format!("\n{}{name}: {bits};", pfx(lvl)));
                cur += bits;
                break;
            }
        }
    }

    pub(super) fn struct_def(&mut self, id: u32, t: &BtfType, lvl: usize) {
        let (is_struct, size, members) = match t {
            BtfType::Struct { size, members, .. } => (true, *size, members),
            BtfType::Union { size, members, .. } => (false, *size, members),
            _ => return,
        };
        let align = self.align_of(id, 0);
        let packed = is_struct && self.packed(size, members);
        self.struct_fwd(id, t);
        self.out.push_str(" {");
        let mut off = 0u64;
        let mut prev_bitfield = false;
        for m in members {
            let m_off = u64::from(m.offset);
            let m_sz = u64::from(m.bitfield_size);
            let m_align = if packed { 1 } else { self.align_of(m.type_id, 0) };
            self.bit_padding(off, m_off, m_align, prev_bitfield && m_sz != 0, lvl + 1);
            self.out.push_str(&format!("\n{}", pfx(lvl + 1)));
            self.type_decl(m.type_id, &m.name, lvl + 1);
            if m_sz != 0 {
                self.out.push_str(&format!(": {m_sz}"));
                off = m_off + m_sz;
                prev_bitfield = true;
            } else {
                off = m_off + self.btf.size_of(m.type_id).unwrap_or(0) * 8;
                prev_bitfield = false;
            }
            self.out.push(';');
        }
        if is_struct {
            self.bit_padding(off, u64::from(size) * 8, align, false, lvl + 1);
        }
        if !members.is_empty() || size != 0 {
            self.out.push_str(&format!("\n{}}}", pfx(lvl)));
        } else {
            self.out.push('}');
        }
        if packed {
            self.out.push_str(" __attribute__((packed))");
        }
    }

    /// The declaration of `fname` as type `id` (`int *(*fname)[4]` ...).
    pub(super) fn type_decl(&mut self, mut id: u32, fname: &str, lvl: usize) {
        let mut stack = Vec::new();
        loop {
            stack.push(id);
            if id == 0 {
                break;
            }
            if stack.len() > MAX_DEPTH as usize {
                self.error.get_or_insert(CDumpError::TooDeep(id));
                return;
            }
            match self.btf.get(id) {
                Some(BtfType::FuncProto { ret, .. }) => id = *ret,
                Some(BtfType::Array { elem, .. }) => id = *elem,
                Some(
                    t @ (BtfType::Ptr { .. }
                    | BtfType::Volatile { .. }
                    | BtfType::Const { .. }
                    | BtfType::Restrict { .. }
                    | BtfType::TypeTag { .. }),
                ) => id = t.ref_type().unwrap_or(0),
                Some(_) => break,
                None => {
                    self.error.get_or_insert(CDumpError::NoType(id));
                    return;
                }
            }
        }
        self.type_chain(&mut stack, fname, lvl);
    }

    /// Prints the qualifiers on top of the stack (they go left of a base type).
    fn emit_mods(&mut self, decls: &mut Vec<u32>) {
        while let Some(&id) = decls.last() {
            let q = match self.btf.get(id) {
                Some(BtfType::Volatile { .. }) => "volatile ",
                Some(BtfType::Const { .. }) => "const ",
                Some(BtfType::Restrict { .. }) => "restrict ",
                _ => return,
            };
            self.out.push_str(q);
            decls.pop();
        }
    }

    /// Drops qualifiers on top of the stack (meaningless on arrays and functions).
    fn drop_mods(&mut self, decls: &mut Vec<u32>) {
        while let Some(&id) = decls.last() {
            match self.btf.get(id) {
                Some(
                    BtfType::Volatile { .. }
                    | BtfType::Const { .. }
                    | BtfType::Restrict { .. }
                    | BtfType::TypeTag { .. },
                ) => {
                    decls.pop();
                }
                _ => return,
            }
        }
    }

    fn emit_name(&mut self, name: &str, last_was_ptr: bool) {
        if !name.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        self.out.push_str(name);
    }

    fn type_chain(&mut self, decls: &mut Vec<u32>, fname: &str, lvl: usize) {
        // `int ***` rather than `int * * *`; a lone pointer in a function pointer prints `(*f)`
        let mut last_was_ptr = true;
        while let Some(id) = decls.pop() {
            if id == 0 {
                self.emit_mods(decls);
                self.out.push_str("void");
                last_was_ptr = false;
                continue;
            }
            let Some(t) = self.btf.get(id) else { return };
            match t {
                BtfType::Int { name, .. } | BtfType::Float { name, .. } => {
                    self.emit_mods(decls);
                    self.out.push_str(name);
                }
                BtfType::Struct { name, .. } | BtfType::Union { name, .. } => {
                    self.emit_mods(decls);
                    if name.is_empty() { self.struct_def(id, t, lvl) } else { self.struct_fwd(id, t) }
                }
                BtfType::Enum { name, .. } | BtfType::Enum64 { name, .. } => {
                    self.emit_mods(decls);
                    if name.is_empty() {
                        self.enum_def(id, t, lvl);
                    } else {
                        let n = self.type_name(id);
                        self.out.push_str(&format!("enum {n}"));
                    }
                }
                BtfType::Fwd { .. } => {
                    self.emit_mods(decls);
                    self.fwd_def(id, t);
                }
                BtfType::Typedef { .. } => {
                    self.emit_mods(decls);
                    let n = self.ident_name(id);
                    self.out.push_str(&n);
                }
                BtfType::Ptr { .. } => self.out.push_str(if last_was_ptr { "*" } else { " *" }),
                BtfType::Volatile { .. } => self.out.push_str(" volatile"),
                BtfType::Const { .. } => self.out.push_str(" const"),
                BtfType::Restrict { .. } => self.out.push_str(" restrict"),
                BtfType::TypeTag { name, attr, .. } => {
                    self.emit_mods(decls);
                    if *attr {
                        self.out.push_str(&format!(" __attribute__(({name}))"));
                    } else {
                        self.out.push_str(&format!(" __attribute__((btf_type_tag(\"{name}\")))"));
                    }
                }
                BtfType::Array { nelems, .. } => {
                    self.drop_mods(decls);
                    let Some(&next) = decls.last() else {
                        self.emit_name(fname, last_was_ptr);
                        self.out.push_str(&format!("[{nelems}]"));
                        return;
                    };
                    let multidim = matches!(self.btf.get(next), Some(BtfType::Array { .. }));
                    if !fname.is_empty() && !last_was_ptr {
                        self.out.push(' ');
                    }
                    if !multidim {
                        self.out.push('(');
                    }
                    self.type_chain(decls, fname, lvl);
                    if !multidim {
                        self.out.push(')');
                    }
                    self.out.push_str(&format!("[{nelems}]"));
                    return;
                }
                BtfType::FuncProto { params, variadic, .. } => {
                    self.drop_mods(decls);
                    if decls.is_empty() {
                        self.emit_name(fname, last_was_ptr);
                    } else {
                        self.out.push_str(" (");
                        self.type_chain(decls, fname, lvl);
                        self.out.push(')');
                    }
                    self.out.push('(');
                    if params.is_empty() {
                        self.out.push_str("void)");
                        return;
                    }
                    for (i, p) in params.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        self.type_decl(p.type_id, &p.name, lvl);
                    }
                    if *variadic {
                        self.out.push_str(", ...");
                    }
                    self.out.push(')');
                    return;
                }
                _ => return,
            }
            last_was_ptr = matches!(t, BtfType::Ptr { .. });
        }
        self.emit_name(fname, last_was_ptr);
    }
}
