//! Opcode fields: class, size, mode, ALU and JMP operation codes, as enums.
//!
//! The values are the ones of RFC 9669 and `include/uapi/linux/bpf.h`; they exist so that the
//! rest of the workspace never spells a raw opcode bit pattern.

/// The 3-bit instruction class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Class {
    Ld = 0x00,
    Ldx = 0x01,
    St = 0x02,
    Stx = 0x03,
    Alu = 0x04,
    Jmp = 0x05,
    Jmp32 = 0x06,
    Alu64 = 0x07,
}

impl Class {
    /// Class of an opcode byte.
    #[inline]
    pub fn of(code: u8) -> Class {
        match code & 0x07 {
            0x00 => Class::Ld,
            0x01 => Class::Ldx,
            0x02 => Class::St,
            0x03 => Class::Stx,
            0x04 => Class::Alu,
            0x05 => Class::Jmp,
            0x06 => Class::Jmp32,
            _ => Class::Alu64,
        }
    }
}

/// Operand width of an ALU or JMP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 32-bit subregister operation (`w` registers); results are zero-extended.
    W32,
    /// Full 64-bit operation.
    W64,
}

impl Width {
    /// Number of bits.
    pub fn bits(self) -> u32 {
        match self {
            Width::W32 => 32,
            Width::W64 => 64,
        }
    }
}

/// Memory access size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Size {
    W = 0x00,
    H = 0x08,
    B = 0x10,
    DW = 0x18,
}

impl Size {
    /// Size field of an opcode byte.
    #[inline]
    pub fn of(code: u8) -> Size {
        match code & 0x18 {
            0x00 => Size::W,
            0x08 => Size::H,
            0x10 => Size::B,
            _ => Size::DW,
        }
    }

    /// Width in bytes.
    #[inline]
    pub fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// Size from a byte count.
    pub fn from_bytes(n: u32) -> Option<Size> {
        Some(match n {
            1 => Size::B,
            2 => Size::H,
            4 => Size::W,
            8 => Size::DW,
            _ => return None,
        })
    }

    /// C type name used by both disassembly syntaxes (`u8`, `u16`, `u32`, `u64`).
    pub fn c_unsigned(self) -> &'static str {
        match self {
            Size::B => "u8",
            Size::H => "u16",
            Size::W => "u32",
            Size::DW => "u64",
        }
    }

    /// Signed C type name (`s8` ...).
    pub fn c_signed(self) -> &'static str {
        match self {
            Size::B => "s8",
            Size::H => "s16",
            Size::W => "s32",
            Size::DW => "s64",
        }
    }
}

/// Addressing mode of load/store classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Mode {
    Imm = 0x00,
    Abs = 0x20,
    Ind = 0x40,
    Mem = 0x60,
    MemSx = 0x80,
    Atomic = 0xc0,
}

impl Mode {
    /// Mode field of an opcode byte, `None` for the reserved values 0xa0 and 0xe0.
    #[inline]
    pub fn of(code: u8) -> Option<Mode> {
        Some(match code & 0xe0 {
            0x00 => Mode::Imm,
            0x20 => Mode::Abs,
            0x40 => Mode::Ind,
            0x60 => Mode::Mem,
            0x80 => Mode::MemSx,
            0xc0 => Mode::Atomic,
            _ => return None,
        })
    }
}

/// Binary ALU operations (NEG, END and MOVSX are separate instructions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    SDiv,
    Or,
    And,
    Lsh,
    Rsh,
    Mod,
    SMod,
    Xor,
    Mov,
    Arsh,
}

impl AluOp {
    /// All binary operations.
    pub const ALL: [AluOp; 14] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];

    /// The 4-bit operation code (high nibble of the opcode byte).
    pub fn code(self) -> u8 {
        match self {
            AluOp::Add => 0x00,
            AluOp::Sub => 0x10,
            AluOp::Mul => 0x20,
            AluOp::Div | AluOp::SDiv => 0x30,
            AluOp::Or => 0x40,
            AluOp::And => 0x50,
            AluOp::Lsh => 0x60,
            AluOp::Rsh => 0x70,
            AluOp::Mod | AluOp::SMod => 0x90,
            AluOp::Xor => 0xa0,
            AluOp::Mov => 0xb0,
            AluOp::Arsh => 0xc0,
        }
    }

    /// The `off` field that selects the signed variant (1 for sdiv/smod, 0 otherwise).
    pub fn off(self) -> i16 {
        matches!(self, AluOp::SDiv | AluOp::SMod) as i16
    }

    /// The operator as written in both asm syntaxes (`+=`, `s/=`, `=` for mov).
    pub fn operator(self) -> &'static str {
        match self {
            AluOp::Add => "+=",
            AluOp::Sub => "-=",
            AluOp::Mul => "*=",
            AluOp::Div => "/=",
            AluOp::SDiv => "s/=",
            AluOp::Or => "|=",
            AluOp::And => "&=",
            AluOp::Lsh => "<<=",
            AluOp::Rsh => ">>=",
            AluOp::Mod => "%=",
            AluOp::SMod => "s%=",
            AluOp::Xor => "^=",
            AluOp::Mov => "=",
            AluOp::Arsh => "s>>=",
        }
    }

    /// Whether this is a shift (immediate masked to the width at run time).
    pub fn is_shift(self) -> bool {
        matches!(self, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh)
    }

    /// Whether this is a division or modulo (division by zero has defined results).
    pub fn is_divmod(self) -> bool {
        matches!(self, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod)
    }

    /// The operation on concrete operands, with BPF's defined results: division by zero gives 0,
    /// modulo by zero leaves `dst`, `INT_MIN / -1` is `INT_MIN` and `INT_MIN % -1` is 0, shift
    /// amounts are masked to the width, and 32-bit results are zero-extended.
    ///
    /// The reference the engines are tested against; the engines implement it themselves.
    pub fn eval(self, width: Width, dst: u64, src: u64) -> u64 {
        macro_rules! at_width {
            ($u:ty, $s:ty, $bits:expr) => {{
                let (a, b) = (dst as $u, src as $u);
                let (sa, sb) = (a as $s, b as $s);
                let r: $u = match self {
                    AluOp::Add => a.wrapping_add(b),
                    AluOp::Sub => a.wrapping_sub(b),
                    AluOp::Mul => a.wrapping_mul(b),
                    AluOp::Div => a.checked_div(b).unwrap_or(0),
                    AluOp::SDiv => {
                        if sb == 0 {
                            0
                        } else {
                            sa.wrapping_div(sb) as $u
                        }
                    }
                    AluOp::Mod => a.checked_rem(b).unwrap_or(a),
                    AluOp::SMod => {
                        if sb == 0 {
                            a
                        } else {
                            sa.wrapping_rem(sb) as $u
                        }
                    }
                    AluOp::Or => a | b,
                    AluOp::And => a & b,
                    AluOp::Xor => a ^ b,
                    AluOp::Lsh => a << (b & ($bits - 1)),
                    AluOp::Rsh => a >> (b & ($bits - 1)),
                    AluOp::Arsh => (sa >> (b & ($bits - 1))) as $u,
                    AluOp::Mov => b,
                };
                r as u64
            }};
        }
        match width {
            Width::W64 => at_width!(u64, i64, 64),
            Width::W32 => at_width!(u32, i32, 32),
        }
    }
}

/// Conditions of conditional jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum JmpCond {
    Eq,
    Gt,
    Ge,
    Set,
    Ne,
    Sgt,
    Sge,
    Lt,
    Le,
    Slt,
    Sle,
}

impl JmpCond {
    /// All conditions.
    pub const ALL: [JmpCond; 11] = [
        JmpCond::Eq,
        JmpCond::Gt,
        JmpCond::Ge,
        JmpCond::Set,
        JmpCond::Ne,
        JmpCond::Sgt,
        JmpCond::Sge,
        JmpCond::Lt,
        JmpCond::Le,
        JmpCond::Slt,
        JmpCond::Sle,
    ];

    /// The 4-bit operation code.
    pub fn code(self) -> u8 {
        match self {
            JmpCond::Eq => 0x10,
            JmpCond::Gt => 0x20,
            JmpCond::Ge => 0x30,
            JmpCond::Set => 0x40,
            JmpCond::Ne => 0x50,
            JmpCond::Sgt => 0x60,
            JmpCond::Sge => 0x70,
            JmpCond::Lt => 0xa0,
            JmpCond::Le => 0xb0,
            JmpCond::Slt => 0xc0,
            JmpCond::Sle => 0xd0,
        }
    }

    /// Condition from its operation code.
    #[inline]
    pub fn from_code(op: u8) -> Option<JmpCond> {
        // a direct match: the verifier asks on every conditional jump it walks
        Some(match op {
            0x10 => JmpCond::Eq,
            0x20 => JmpCond::Gt,
            0x30 => JmpCond::Ge,
            0x40 => JmpCond::Set,
            0x50 => JmpCond::Ne,
            0x60 => JmpCond::Sgt,
            0x70 => JmpCond::Sge,
            0xa0 => JmpCond::Lt,
            0xb0 => JmpCond::Le,
            0xc0 => JmpCond::Slt,
            0xd0 => JmpCond::Sle,
            _ => return None,
        })
    }

    /// Operator text (`==`, `s>=`, `&`).
    pub fn operator(self) -> &'static str {
        match self {
            JmpCond::Eq => "==",
            JmpCond::Gt => ">",
            JmpCond::Ge => ">=",
            JmpCond::Set => "&",
            JmpCond::Ne => "!=",
            JmpCond::Sgt => "s>",
            JmpCond::Sge => "s>=",
            JmpCond::Lt => "<",
            JmpCond::Le => "<=",
            JmpCond::Slt => "s<",
            JmpCond::Sle => "s<=",
        }
    }

    /// Whether the comparison is signed.
    pub fn is_signed(self) -> bool {
        matches!(self, JmpCond::Sgt | JmpCond::Sge | JmpCond::Slt | JmpCond::Sle)
    }

    /// The condition that holds exactly when `self` does not.
    #[inline]
    pub fn negate(self) -> Option<JmpCond> {
        Some(match self {
            JmpCond::Eq => JmpCond::Ne,
            JmpCond::Ne => JmpCond::Eq,
            JmpCond::Gt => JmpCond::Le,
            JmpCond::Le => JmpCond::Gt,
            JmpCond::Ge => JmpCond::Lt,
            JmpCond::Lt => JmpCond::Ge,
            JmpCond::Sgt => JmpCond::Sle,
            JmpCond::Sle => JmpCond::Sgt,
            JmpCond::Sge => JmpCond::Slt,
            JmpCond::Slt => JmpCond::Sge,
            JmpCond::Set => return None,
        })
    }

    /// The condition with operands swapped (`a < b` iff `b > a`).
    #[inline]
    pub fn swap(self) -> JmpCond {
        match self {
            JmpCond::Gt => JmpCond::Lt,
            JmpCond::Lt => JmpCond::Gt,
            JmpCond::Ge => JmpCond::Le,
            JmpCond::Le => JmpCond::Ge,
            JmpCond::Sgt => JmpCond::Slt,
            JmpCond::Slt => JmpCond::Sgt,
            JmpCond::Sge => JmpCond::Sle,
            JmpCond::Sle => JmpCond::Sge,
            other => other,
        }
    }

    /// Evaluates the condition on concrete operands of the given width.
    pub fn eval(self, width: Width, a: u64, b: u64) -> bool {
        let (a, b, sa, sb) = match width {
            Width::W64 => (a, b, a as i64, b as i64),
            Width::W32 => (a as u32 as u64, b as u32 as u64, a as u32 as i32 as i64, b as u32 as i32 as i64),
        };
        match self {
            JmpCond::Eq => a == b,
            JmpCond::Ne => a != b,
            JmpCond::Gt => a > b,
            JmpCond::Ge => a >= b,
            JmpCond::Lt => a < b,
            JmpCond::Le => a <= b,
            JmpCond::Set => a & b != 0,
            JmpCond::Sgt => sa > sb,
            JmpCond::Sge => sa >= sb,
            JmpCond::Slt => sa < sb,
            JmpCond::Sle => sa <= sb,
        }
    }
}

/// Atomic read-modify-write operations (`BPF_STX | BPF_ATOMIC`, selected by `imm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AtomicOp {
    Add,
    Or,
    And,
    Xor,
    FetchAdd,
    FetchOr,
    FetchAnd,
    FetchXor,
    Xchg,
    Cmpxchg,
    /// `dst = load_acquire((size *)(src + off))`.
    LoadAcquire,
    /// `store_release((size *)(dst + off), src)`.
    StoreRelease,
}

impl AtomicOp {
    /// All operations.
    pub const ALL: [AtomicOp; 12] = [
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::FetchAdd,
        AtomicOp::FetchOr,
        AtomicOp::FetchAnd,
        AtomicOp::FetchXor,
        AtomicOp::Xchg,
        AtomicOp::Cmpxchg,
        AtomicOp::LoadAcquire,
        AtomicOp::StoreRelease,
    ];

    /// The `imm` field value.
    pub fn imm(self) -> i32 {
        match self {
            AtomicOp::Add => 0x00,
            AtomicOp::Or => 0x40,
            AtomicOp::And => 0x50,
            AtomicOp::Xor => 0xa0,
            AtomicOp::FetchAdd => 0x01,
            AtomicOp::FetchOr => 0x41,
            AtomicOp::FetchAnd => 0x51,
            AtomicOp::FetchXor => 0xa1,
            AtomicOp::Xchg => 0xe1,
            AtomicOp::Cmpxchg => 0xf1,
            AtomicOp::LoadAcquire => 0x100,
            AtomicOp::StoreRelease => 0x110,
        }
    }

    /// Operation from the `imm` field.
    #[inline]
    pub fn from_imm(imm: i32) -> Option<AtomicOp> {
        Some(match imm {
            0x00 => AtomicOp::Add,
            0x40 => AtomicOp::Or,
            0x50 => AtomicOp::And,
            0xa0 => AtomicOp::Xor,
            0x01 => AtomicOp::FetchAdd,
            0x41 => AtomicOp::FetchOr,
            0x51 => AtomicOp::FetchAnd,
            0xa1 => AtomicOp::FetchXor,
            0xe1 => AtomicOp::Xchg,
            0xf1 => AtomicOp::Cmpxchg,
            0x100 => AtomicOp::LoadAcquire,
            0x110 => AtomicOp::StoreRelease,
            _ => return None,
        })
    }

    /// Whether the old value is written back to a register (`src`, or `r0` for cmpxchg).
    #[inline]
    pub fn fetches(self) -> bool {
        matches!(
            self,
            AtomicOp::FetchAdd
                | AtomicOp::FetchOr
                | AtomicOp::FetchAnd
                | AtomicOp::FetchXor
                | AtomicOp::Xchg
                | AtomicOp::Cmpxchg
        )
    }

    /// Whether the operation takes 1- and 2-byte sizes too (only acquire/release).
    #[inline]
    pub fn allows_narrow(self) -> bool {
        matches!(self, AtomicOp::LoadAcquire | AtomicOp::StoreRelease)
    }
}

/// Byte order conversions (`BPF_END`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `le16/32/64` (class ALU, source bit clear): truncation on little-endian hosts.
    ToLe,
    /// `be16/32/64` (class ALU, source bit set).
    ToBe,
    /// `bswap16/32/64` (class ALU64, v4): unconditional swap.
    Swap,
}

/// Sources of `BPF_LD | BPF_IMM | BPF_DW` (the `src_reg` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LdImm64Src {
    /// Plain 64-bit constant.
    Imm = 0,
    /// `BPF_PSEUDO_MAP_FD`: imm is a map fd.
    MapFd = 1,
    /// `BPF_PSEUDO_MAP_VALUE`: imm is a map fd, the second imm an offset into its value.
    MapValue = 2,
    /// `BPF_PSEUDO_BTF_ID`: imm is a BTF id of a kernel variable.
    BtfId = 3,
    /// `BPF_PSEUDO_FUNC`: imm is the relative offset of a subprogram.
    Func = 4,
    /// `BPF_PSEUDO_MAP_IDX`: imm indexes `fd_array`.
    MapIdx = 5,
    /// `BPF_PSEUDO_MAP_IDX_VALUE`.
    MapIdxValue = 6,
}

impl LdImm64Src {
    /// From the `src_reg` field.
    #[inline]
    pub fn from_u8(n: u8) -> Option<LdImm64Src> {
        Some(match n {
            0 => LdImm64Src::Imm,
            1 => LdImm64Src::MapFd,
            2 => LdImm64Src::MapValue,
            3 => LdImm64Src::BtfId,
            4 => LdImm64Src::Func,
            5 => LdImm64Src::MapIdx,
            6 => LdImm64Src::MapIdxValue,
            _ => return None,
        })
    }
}

/// Opcode-byte constants that the decoder and encoder share.
pub(crate) mod bits {
    pub const BPF_K: u8 = 0x00;
    pub const BPF_X: u8 = 0x08;
    pub const ALU_NEG: u8 = 0x80;
    pub const ALU_END: u8 = 0xd0;
    pub const JMP_JA: u8 = 0x00;
    pub const JMP_CALL: u8 = 0x80;
    pub const JMP_EXIT: u8 = 0x90;
    pub const JMP_JCOND: u8 = 0xe0;
}
