//! Field accessors over raw slots, in the kernel's own vocabulary (class, op, source bit).
//!
//! The passes work on [`RawInsn`] rather than the decoded `Insn` because the kernel accepts some
//! encodings at load time and only complains about them when the walk reaches them.

use kbpf_isa::RawInsn;

/// `BPF_LD`.
pub const CLASS_LD: u8 = 0x00;
/// `BPF_LDX`.
pub const CLASS_LDX: u8 = 0x01;
/// `BPF_ST`.
pub const CLASS_ST: u8 = 0x02;
/// `BPF_STX`.
pub const CLASS_STX: u8 = 0x03;
/// `BPF_ALU`.
pub const CLASS_ALU: u8 = 0x04;
/// `BPF_JMP`.
pub const CLASS_JMP: u8 = 0x05;
/// `BPF_JMP32`.
pub const CLASS_JMP32: u8 = 0x06;
/// `BPF_ALU64`.
pub const CLASS_ALU64: u8 = 0x07;

/// JMP operation codes used by the passes.
pub mod jop {
    /// `BPF_JA`.
    pub const JA: u8 = 0x00;
    /// `BPF_CALL`.
    pub const CALL: u8 = 0x80;
    /// `BPF_EXIT`.
    pub const EXIT: u8 = 0x90;
    /// `BPF_JCOND` (may_goto).
    pub const JCOND: u8 = 0xe0;
}

/// `BPF_PSEUDO_CALL`.
pub const PSEUDO_CALL: u8 = 1;
/// `BPF_PSEUDO_KFUNC_CALL`.
pub const PSEUDO_KFUNC_CALL: u8 = 2;
/// `BPF_PSEUDO_FUNC` (ld_imm64 of a subprog address).
pub const PSEUDO_FUNC: u8 = 4;
/// `BPF_FUNC_tail_call`.
pub const FUNC_TAIL_CALL: i32 = 12;

/// Instruction class.
pub fn class(i: &RawInsn) -> u8 {
    i.code & 0x07
}
/// Operation nibble (`BPF_OP`).
pub fn op(i: &RawInsn) -> u8 {
    i.code & 0xf0
}
/// Mode bits (`BPF_MODE`).
pub fn mode(i: &RawInsn) -> u8 {
    i.code & 0xe0
}
/// Whether the `BPF_X` source bit is set.
pub fn src_is_reg(i: &RawInsn) -> bool {
    i.code & 0x08 != 0
}
/// Whether the class is JMP or JMP32.
pub fn is_jmp_class(i: &RawInsn) -> bool {
    matches!(class(i), CLASS_JMP | CLASS_JMP32)
}
/// `ld_imm64` first slot.
pub fn is_ldimm64(i: &RawInsn) -> bool {
    i.code == 0x18
}
/// bpf-to-bpf call.
pub fn is_pseudo_call(i: &RawInsn) -> bool {
    i.code == 0x85 && i.src == PSEUDO_CALL
}
/// kfunc call.
pub fn is_kfunc_call(i: &RawInsn) -> bool {
    i.code == 0x85 && i.src == PSEUDO_KFUNC_CALL
}
/// Helper call (`src_reg` 0).
pub fn is_helper_call(i: &RawInsn) -> bool {
    i.code == 0x85 && i.src == 0
}
/// `ld_imm64` of a subprog address.
pub fn is_pseudo_func(i: &RawInsn) -> bool {
    is_ldimm64(i) && i.src == PSEUDO_FUNC
}
/// `may_goto`.
pub fn is_may_goto(i: &RawInsn) -> bool {
    i.code == 0xe5 && i.src == 0
}
/// Slots the instruction occupies.
pub fn insn_len(i: &RawInsn) -> usize {
    if is_ldimm64(i) { 2 } else { 1 }
}
/// Jump displacement of a JMP-class instruction (`imm` for `gotol`, `off` otherwise).
pub fn jmp_offset(i: &RawInsn) -> i64 {
    if i.code == 0x06 { i.imm as i64 } else { i.off as i64 }
}

/// The kernel's opcode table (`bpf_opcode_in_insntable`), measured against Linux 6.18.
pub fn opcode_in_table(code: u8) -> bool {
    let class = code & 0x07;
    match class {
        CLASS_ALU | CLASS_ALU64 => {
            let op = code & 0xf0;
            let x = code & 0x08 != 0;
            match op {
                0x80 => !x,                       // neg: K form only
                0xd0 => class == CLASS_ALU || !x, // end: be/le for ALU, bswap for ALU64
                0xe0 | 0xf0 => false,
                _ => true,
            }
        }
        CLASS_JMP | CLASS_JMP32 => {
            let op = code & 0xf0;
            let x = code & 0x08 != 0;
            match op {
                0x00 => !x,                              // ja / gotol
                0x80 | 0x90 => class == CLASS_JMP && !x, // call, exit
                0xe0 => class == CLASS_JMP && !x,        // may_goto
                0xf0 => false,
                _ => true,
            }
        }
        CLASS_LD => matches!(code, 0x18 | 0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50),
        CLASS_LDX => matches!(code, 0x61 | 0x69 | 0x71 | 0x79 | 0x81 | 0x89 | 0x91),
        CLASS_ST => matches!(code, 0x62 | 0x6a | 0x72 | 0x7a),
        _ => matches!(code, 0x63 | 0x6b | 0x73 | 0x7b | 0xc3 | 0xcb | 0xd3 | 0xdb),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The valid set observed on Linux 6.18 (LDX-class codes other than the seven loads are
    /// reported earlier as reserved-field errors, so they do not appear here).
    const OBSERVED: &str = "04 05 06 07 0c 0f 14 15 16 17 18 1c 1d 1e 1f 20 24 25 26 27 28 2c 2d 2e 2f 30 34 35 36 37 \
        3c 3d 3e 3f 40 44 45 46 47 48 4c 4d 4e 4f 50 54 55 56 57 5c 5d 5e 5f 61 62 63 64 65 66 67 69 6a 6b 6c 6d 6e 6f \
        71 72 73 74 75 76 77 79 7a 7b 7c 7d 7e 7f 81 84 85 87 89 91 94 95 97 9c 9f a4 a5 a6 a7 ac ad ae af b4 b5 \
        b6 b7 bc bd be bf c3 c4 c5 c6 c7 cb cc cd ce cf d3 d4 d5 d6 d7 db dc dd de e5";

    #[test]
    fn table_matches_kernel_sweep() {
        let want: Vec<u8> = OBSERVED.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
        for code in 0..=255u8 {
            assert_eq!(opcode_in_table(code), want.contains(&code), "opcode {code:02x}");
        }
    }
}
