//! The BTF type model: one [`BtfType`] per type id, every kind of Linux 6.18, with names
//! already resolved from the string section.

/// The BTF kind numbers (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Kind {
    Void,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    DataSec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

impl Kind {
    /// Kind from its number in `info`.
    pub fn from_u32(n: u32) -> Option<Kind> {
        use Kind::*;
        const ALL: [Kind; 20] = [
            Void, Int, Ptr, Array, Struct, Union, Enum, Fwd, Typedef, Volatile, Const, Restrict, Func,
            FuncProto, Var, DataSec, Float, DeclTag, TypeTag, Enum64,
        ];
        ALL.get(n as usize).copied()
    }

    /// libbpf's kind names (`btf_kind_str`), used in CO-RE logs.
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            Void => "void",
            Int => "int",
            Ptr => "ptr",
            Array => "array",
            Struct => "struct",
            Union => "union",
            Enum => "enum",
            Fwd => "fwd",
            Typedef => "typedef",
            Volatile => "volatile",
            Const => "const",
            Restrict => "restrict",
            Func => "func",
            FuncProto => "func_proto",
            Var => "var",
            DataSec => "datasec",
            Float => "float",
            DeclTag => "decl_tag",
            TypeTag => "type_tag",
            Enum64 => "enum64",
        }
    }
}

/// Linkage of a `FUNC` (its `vlen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// `static`.
    Static,
    /// Global (verified on its own by the kernel).
    Global,
    /// `extern`.
    Extern,
}

/// Linkage of a `VAR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarLinkage {
    /// `static`.
    Static,
    /// Global, allocated here.
    Global,
    /// `extern` (`.kconfig`, `.ksyms`).
    Extern,
}

/// The encoding bits of an `INT`; the kernel accepts at most one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntEncoding {
    /// Unsigned.
    None,
    /// `BTF_INT_SIGNED`.
    Signed,
    /// `BTF_INT_CHAR`.
    Char,
    /// `BTF_INT_BOOL`.
    Bool,
}

/// A member of a struct or union, or a parameter of a prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Name (may be empty: anonymous members, unnamed parameters).
    pub name: String,
    /// Type id.
    pub type_id: u32,
    /// Bit offset from the start of the struct (members only; 0 for parameters).
    pub offset: u32,
    /// Bitfield width in bits when the struct's `kind_flag` encodes it; 0 otherwise.
    pub bitfield_size: u32,
}

/// One enumerator. `ENUM` values are sign-extended from their 32 bits as libbpf reads them
/// (`struct btf_enum::val` is `__s32`); `ENUM64` values are the 64 raw bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// Enumerator name.
    pub name: String,
    /// Value.
    pub value: i64,
}

/// One BTF type, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BtfType {
    Void,
    Int {
        name: String,
        size: u32,
        encoding: IntEncoding,
        offset: u32,
        bits: u32,
    },
    Ptr {
        type_id: u32,
    },
    Array {
        elem: u32,
        index: u32,
        nelems: u32,
    },
    Struct {
        name: String,
        size: u32,
        members: Vec<Member>,
        kind_flag: bool,
    },
    Union {
        name: String,
        size: u32,
        members: Vec<Member>,
        kind_flag: bool,
    },
    Enum {
        name: String,
        size: u32,
        signed: bool,
        values: Vec<EnumValue>,
    },
    Enum64 {
        name: String,
        size: u32,
        signed: bool,
        values: Vec<EnumValue>,
    },
    /// Forward declaration of a struct (`union: false`) or union.
    Fwd {
        name: String,
        union: bool,
    },
    Typedef {
        name: String,
        type_id: u32,
    },
    Volatile {
        type_id: u32,
    },
    Const {
        type_id: u32,
    },
    Restrict {
        type_id: u32,
    },
    Func {
        name: String,
        proto: u32,
        linkage: Linkage,
    },
    /// `variadic`: the last parameter was the `...` marker (not in `params`).
    FuncProto {
        ret: u32,
        params: Vec<Member>,
        variadic: bool,
    },
    Var {
        name: String,
        type_id: u32,
        linkage: VarLinkage,
    },
    /// `vars`: `(VAR type id, offset, size)` per variable.
    DataSec {
        name: String,
        size: u32,
        vars: Vec<(u32, u32, u32)>,
    },
    Float {
        name: String,
        size: u32,
    },
    /// `component`: -1 for the whole type, else the member or parameter index; `attr`
    /// (`kind_flag`): the tag is a plain attribute (`__attribute__((...))`), not a btf tag.
    DeclTag {
        name: String,
        type_id: u32,
        component: i32,
        attr: bool,
    },
    /// `attr` (`kind_flag`): an attribute, not a btf tag.
    TypeTag {
        name: String,
        type_id: u32,
        attr: bool,
    },
}

impl BtfType {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            BtfType::Void => Kind::Void,
            BtfType::Int { .. } => Kind::Int,
            BtfType::Ptr { .. } => Kind::Ptr,
            BtfType::Array { .. } => Kind::Array,
            BtfType::Struct { .. } => Kind::Struct,
            BtfType::Union { .. } => Kind::Union,
            BtfType::Enum { .. } => Kind::Enum,
            BtfType::Enum64 { .. } => Kind::Enum64,
            BtfType::Fwd { .. } => Kind::Fwd,
            BtfType::Typedef { .. } => Kind::Typedef,
            BtfType::Volatile { .. } => Kind::Volatile,
            BtfType::Const { .. } => Kind::Const,
            BtfType::Restrict { .. } => Kind::Restrict,
            BtfType::Func { .. } => Kind::Func,
            BtfType::FuncProto { .. } => Kind::FuncProto,
            BtfType::Var { .. } => Kind::Var,
            BtfType::DataSec { .. } => Kind::DataSec,
            BtfType::Float { .. } => Kind::Float,
            BtfType::DeclTag { .. } => Kind::DeclTag,
            BtfType::TypeTag { .. } => Kind::TypeTag,
        }
    }

    /// The type's name; empty for anonymous and unnamed kinds.
    pub fn name(&self) -> &str {
        match self {
            BtfType::Int { name, .. }
            | BtfType::Struct { name, .. }
            | BtfType::Union { name, .. }
            | BtfType::Enum { name, .. }
            | BtfType::Enum64 { name, .. }
            | BtfType::Fwd { name, .. }
            | BtfType::Typedef { name, .. }
            | BtfType::Func { name, .. }
            | BtfType::Var { name, .. }
            | BtfType::DataSec { name, .. }
            | BtfType::Float { name, .. }
            | BtfType::DeclTag { name, .. }
            | BtfType::TypeTag { name, .. } => name,
            _ => "",
        }
    }

    /// The type this one refers to, for the kinds with one reference (modifiers, typedef,
    /// pointer, var, func, decl/type tags).
    pub fn ref_type(&self) -> Option<u32> {
        match self {
            BtfType::Ptr { type_id }
            | BtfType::Typedef { type_id, .. }
            | BtfType::Volatile { type_id }
            | BtfType::Const { type_id }
            | BtfType::Restrict { type_id }
            | BtfType::Var { type_id, .. }
            | BtfType::DeclTag { type_id, .. }
            | BtfType::TypeTag { type_id, .. } => Some(*type_id),
            BtfType::Func { proto, .. } => Some(*proto),
            _ => None,
        }
    }

    /// Members of a struct or union.
    pub fn members(&self) -> Option<&[Member]> {
        match self {
            BtfType::Struct { members, .. } | BtfType::Union { members, .. } => Some(members),
            _ => None,
        }
    }

    /// Enumerators of an `ENUM` or `ENUM64`.
    pub fn enum_values(&self) -> Option<&[EnumValue]> {
        match self {
            BtfType::Enum { values, .. } | BtfType::Enum64 { values, .. } => Some(values),
            _ => None,
        }
    }

    /// Struct or union.
    pub fn is_composite(&self) -> bool {
        matches!(self, BtfType::Struct { .. } | BtfType::Union { .. })
    }

    /// `ENUM` or `ENUM64`.
    pub fn is_any_enum(&self) -> bool {
        matches!(self, BtfType::Enum { .. } | BtfType::Enum64 { .. })
    }

    /// Const, volatile, restrict or type tag (what `resolve` skips besides typedefs).
    pub fn is_modifier(&self) -> bool {
        matches!(
            self,
            BtfType::Volatile { .. }
                | BtfType::Const { .. }
                | BtfType::Restrict { .. }
                | BtfType::TypeTag { .. }
        )
    }
}
