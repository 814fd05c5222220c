//! Raw instruction builders for the generator (opcodes spelled out, nothing validated, so that
//! invalid encodings are as easy to build as valid ones).

use kbpf_isa::RawInsn;

/// Any slot.
pub fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(code, dst, src, off, imm)
}

/// ALU operation codes (the high nibble of the opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Add = 0x00,
    Sub = 0x10,
    Mul = 0x20,
    Div = 0x30,
    Or = 0x40,
    And = 0x50,
    Lsh = 0x60,
    Rsh = 0x70,
    Neg = 0x80,
    Mod = 0x90,
    Xor = 0xa0,
    Mov = 0xb0,
    Arsh = 0xc0,
}

/// Every ALU op.
pub const ALU_OPS: [Op; 13] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Or,
    Op::And,
    Op::Lsh,
    Op::Rsh,
    Op::Neg,
    Op::Mod,
    Op::Xor,
    Op::Mov,
    Op::Arsh,
];

/// Jump conditions (the high nibble of the opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Cond {
    Eq = 0x10,
    Gt = 0x20,
    Ge = 0x30,
    Set = 0x40,
    Ne = 0x50,
    Sgt = 0x60,
    Sge = 0x70,
    Lt = 0xa0,
    Le = 0xb0,
    Slt = 0xc0,
    Sle = 0xd0,
}

/// Every conditional jump.
pub const CONDS: [Cond; 11] = [
    Cond::Eq,
    Cond::Gt,
    Cond::Ge,
    Cond::Set,
    Cond::Ne,
    Cond::Sgt,
    Cond::Sge,
    Cond::Lt,
    Cond::Le,
    Cond::Slt,
    Cond::Sle,
];

/// Memory access sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Sz {
    W = 0x00,
    H = 0x08,
    B = 0x10,
    Dw = 0x18,
}

impl Sz {
    /// Bytes.
    pub fn bytes(self) -> i32 {
        match self {
            Sz::B => 1,
            Sz::H => 2,
            Sz::W => 4,
            Sz::Dw => 8,
        }
    }

    /// From a byte count (1, 2, 4, 8; anything else is 8).
    pub fn of(bytes: i32) -> Sz {
        match bytes {
            1 => Sz::B,
            2 => Sz::H,
            4 => Sz::W,
            _ => Sz::Dw,
        }
    }
}

/// All sizes.
pub const SIZES: [Sz; 4] = [Sz::B, Sz::H, Sz::W, Sz::Dw];

/// `dst op= imm` (64-bit).
pub fn alu64i(op: Op, d: u8, imm: i32) -> RawInsn {
    ins(0x07 | op as u8, d, 0, 0, imm)
}
/// `dst op= src` (64-bit).
pub fn alu64r(op: Op, d: u8, s: u8) -> RawInsn {
    ins(0x0f | op as u8, d, s, 0, 0)
}
/// `wdst op= imm` (32-bit).
pub fn alu32i(op: Op, d: u8, imm: i32) -> RawInsn {
    ins(0x04 | op as u8, d, 0, 0, imm)
}
/// `wdst op= wsrc` (32-bit).
pub fn alu32r(op: Op, d: u8, s: u8) -> RawInsn {
    ins(0x0c | op as u8, d, s, 0, 0)
}
/// `dst = imm`.
pub fn mov(d: u8, imm: i32) -> RawInsn {
    alu64i(Op::Mov, d, imm)
}
/// `dst = src`.
pub fn movr(d: u8, s: u8) -> RawInsn {
    alu64r(Op::Mov, d, s)
}
/// `wdst = imm`.
pub fn mov32(d: u8, imm: i32) -> RawInsn {
    alu32i(Op::Mov, d, imm)
}
/// `dst = *(size *)(src + off)`.
pub fn ldx(sz: Sz, d: u8, s: u8, off: i16) -> RawInsn {
    ins(0x61 | sz as u8, d, s, off, 0)
}
/// `*(size *)(dst + off) = src`.
pub fn stx(sz: Sz, d: u8, s: u8, off: i16) -> RawInsn {
    ins(0x63 | sz as u8, d, s, off, 0)
}
/// `*(size *)(dst + off) = imm`.
pub fn st(sz: Sz, d: u8, off: i16, imm: i32) -> RawInsn {
    ins(0x62 | sz as u8, d, 0, off, imm)
}
/// `if dst cond imm goto +off`.
pub fn jmpi(c: Cond, d: u8, imm: i32, off: i16) -> RawInsn {
    ins(0x05 | c as u8, d, 0, off, imm)
}
/// `if dst cond src goto +off`.
pub fn jmpr(c: Cond, d: u8, s: u8, off: i16) -> RawInsn {
    ins(0x0d | c as u8, d, s, off, 0)
}
/// `if wdst cond imm goto +off`.
pub fn jmp32i(c: Cond, d: u8, imm: i32, off: i16) -> RawInsn {
    ins(0x06 | c as u8, d, 0, off, imm)
}
/// `goto +off`.
pub fn ja(off: i16) -> RawInsn {
    ins(0x05, 0, 0, off, 0)
}
/// `may_goto +off`.
pub fn may_goto(off: i16) -> RawInsn {
    ins(0xe5, 0, 0, off, 0)
}
/// Helper call.
pub fn call(id: i32) -> RawInsn {
    ins(0x85, 0, 0, 0, id)
}
/// Helper `id` in a case name: its kernel name without `bpf_` (kbpf-isa's `BpfFunc`), or
/// `helper{id}` for an id the kernel does not define (the cases that call one on purpose).
pub fn helper_label(id: i32) -> String {
    match kbpf_isa::BpfFunc::from_id(id) {
        Some(f) => f.name().trim_start_matches("bpf_").to_string(),
        None => format!("helper{id}"),
    }
}
/// bpf-to-bpf call to `pc + 1 + rel`.
pub fn call_local(rel: i32) -> RawInsn {
    ins(0x85, 0, 1, 0, rel)
}
/// `exit`.
pub fn exit() -> RawInsn {
    ins(0x95, 0, 0, 0, 0)
}
/// `r0 = 0; exit`.
pub fn ret0() -> [RawInsn; 2] {
    [mov(0, 0), exit()]
}
/// `dst = imm64` (two slots).
pub fn ld_imm64(d: u8, v: u64) -> [RawInsn; 2] {
    [ins(0x18, d, 0, 0, v as u32 as i32), ins(0, 0, 0, 0, (v >> 32) as u32 as i32)]
}
/// `dst = map[idx]` with `BPF_PSEUDO_MAP_FD` (the case's map index; see [`crate::Case`]).
pub fn ld_map(d: u8, idx: i32) -> [RawInsn; 2] {
    [ins(0x18, d, 1, 0, idx), ins(0, 0, 0, 0, 0)]
}
/// Atomic `*(size *)(dst + off) op= src` with the op encoded in imm.
pub fn atomic(sz: Sz, d: u8, s: u8, off: i16, imm: i32) -> RawInsn {
    ins(0xc3 | sz as u8, d, s, off, imm)
}

/// `bpf_map_lookup_elem(map idx, fp + key_off)` with an 8-byte zero key stored first;
/// leaves the result in r0.
pub fn map_lookup(idx: i32, key_off: i16) -> Vec<RawInsn> {
    let mut v = vec![st(Sz::Dw, 10, key_off, 0)];
    v.extend(ld_map(1, idx));
    v.push(movr(2, 10));
    v.push(alu64i(Op::Add, 2, key_off as i32));
    v.push(call(1));
    v
}
