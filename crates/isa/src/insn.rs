//! The decoded instruction enum and its raw 8-byte form.

use crate::opcode::{AluOp, AtomicOp, ByteOrder, JmpCond, LdImm64Src, Size, Width};
use crate::reg::Reg;
use crate::stack_arg::StackArgPos;

/// One raw 8-byte instruction slot, exactly as in memory (`struct bpf_insn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RawInsn {
    /// Opcode byte.
    pub code: u8,
    /// Destination register field (low nibble of byte 1).
    pub dst: u8,
    /// Source register field (high nibble of byte 1).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl RawInsn {
    /// Size of one slot in bytes.
    pub const BYTES: usize = 8;

    /// Builds a slot from its fields.
    pub fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn { code, dst: dst & 0xf, src: src & 0xf, off, imm }
    }

    /// Parses one little-endian slot.
    pub fn from_bytes(b: [u8; 8]) -> RawInsn {
        RawInsn {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Little-endian bytes of the slot.
    pub fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [self.code, (self.src << 4) | (self.dst & 0x0f), off[0], off[1], imm[0], imm[1], imm[2], imm[3]]
    }

    /// The slot as the u64 the conformance `-- raw` section uses (opcode in the low byte).
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    /// Inverse of [`RawInsn::to_u64`].
    pub fn from_u64(v: u64) -> RawInsn {
        RawInsn::from_bytes(v.to_le_bytes())
    }
}

/// Second operand of ALU and JMP instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Src {
    /// `BPF_X`: a register.
    Reg(Reg),
    /// `BPF_K`: the sign-extended 32-bit immediate.
    Imm(i32),
}

/// Target of a `call` instruction (`BPF_JMP | BPF_CALL | BPF_K`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// `src_reg = 0`: a helper by id.
    Helper(i32),
    /// `src_reg = 1` (`BPF_PSEUDO_CALL`): bpf-to-bpf call, `imm` relative to the next slot.
    Local(i32),
    /// `src_reg = 2` (`BPF_PSEUDO_KFUNC_CALL`): kfunc by BTF id; `off` is the fd_array index of the
    /// module BTF (0 for vmlinux).
    Kfunc {
        /// BTF id of the FUNC.
        btf_id: i32,
        /// Module BTF index.
        off: i16,
    },
}

/// One decoded instruction. `LdImm64` occupies two slots, every other variant one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Insn {
    /// `dst op= src` (ALU or ALU64, including mov, sdiv and smod).
    Alu {
        /// 32- or 64-bit.
        width: Width,
        /// Operation.
        op: AluOp,
        /// Destination register.
        dst: Reg,
        /// Second operand.
        src: Src,
    },
    /// `dst = -dst`.
    Neg {
        /// 32- or 64-bit.
        width: Width,
        /// Register.
        dst: Reg,
    },
    /// `dst = (s8|s16|s32)src`: sign-extending move (v4, `BPF_MOV | BPF_X` with off 8/16/32).
    MovSx {
        /// 32- or 64-bit destination.
        width: Width,
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Bits taken from the source: 8, 16 or 32 (32 only for 64-bit).
        from_bits: u8,
    },
    /// `dst = addr_space_cast(src, dst_as, src_as)`: ALU64 mov with off 1 (arena pointers).
    AddrSpaceCast {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Destination address space (imm high 16 bits).
        dst_as: u16,
        /// Source address space (imm low 16 bits).
        src_as: u16,
    },
    /// `dst = &(void __percpu *)(src)`: the kernel's per-CPU address of `src` on the running CPU
    /// (`BPF_MOV64_PERCPU_REG`, ALU64 mov with off -1). Only the kernel's fixups make it (the
    /// inlined per-CPU array lookup and `bpf_get_smp_processor_id`): a submitted program cannot
    /// contain it, so [`crate::decode_insn`] refuses it as the verifier does (`BPF_MOV uses
    /// reserved fields`), and no engine runs it.
    MovPercpu {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
    },
    /// Byte order conversion of `dst` to 16, 32 or 64 bits.
    Endian {
        /// Conversion.
        order: ByteOrder,
        /// Result width in bits.
        bits: u8,
        /// Register.
        dst: Reg,
    },
    /// `goto +off` (`BPF_JMP | BPF_JA`).
    Ja {
        /// Offset in slots from the next slot.
        off: i16,
    },
    /// `gotol +imm` (`BPF_JMP32 | BPF_JA`, v4 long jump).
    Gotol {
        /// Offset in slots from the next slot.
        imm: i32,
    },
    /// `may_goto +off` (`BPF_JMP | BPF_JCOND`, src 0): bounded-loop escape hatch.
    MayGoto {
        /// Offset in slots from the next slot.
        off: i16,
    },
    /// `if dst cond src goto +off`.
    Jmp {
        /// JMP (64) or JMP32.
        width: Width,
        /// Condition.
        cond: JmpCond,
        /// Left operand.
        dst: Reg,
        /// Right operand.
        src: Src,
        /// Offset in slots from the next slot.
        off: i16,
    },
    /// `call ...`.
    Call(CallTarget),
    /// `callx reg` (`BPF_JMP | BPF_CALL | BPF_X`, register in the dst field; the LLVM convention).
    Callx {
        /// Register holding the target.
        reg: Reg,
    },
    /// `exit`.
    Exit,
    /// `dst = imm64` (two slots).
    LdImm64 {
        /// Destination.
        dst: Reg,
        /// Pseudo source kind.
        src: LdImm64Src,
        /// First slot's imm.
        imm: i32,
        /// Second slot's imm (high half, or the map-value offset).
        imm_hi: i32,
    },
    /// `dst = *(size *)(src + off)`; `signed` for `BPF_MEMSX`.
    Load {
        /// Access size.
        size: Size,
        /// Sign-extending load (v4).
        signed: bool,
        /// Destination.
        dst: Reg,
        /// Base register (never r11: that form is [`Insn::StackArgLoad`]).
        src: Reg,
        /// Offset.
        off: i16,
    },
    /// `*(size *)(dst + off) = src` (`BPF_STX` with a register, `BPF_ST` with an immediate).
    Store {
        /// Access size.
        size: Size,
        /// Base register (never r11: that form is [`Insn::StackArgStore`]).
        dst: Reg,
        /// Offset.
        off: i16,
        /// Value.
        src: Src,
    },
    /// `*(u64 *)(r11 - 8n) = src`: an outgoing stack argument (`BPF_ST` / `BPF_STX | BPF_MEM |
    /// BPF_DW` based on r11 = `BPF_REG_PARAMS`), the caller's write of argument `5 + n`.
    StackArgStore {
        /// Which slot below r11.
        pos: StackArgPos,
        /// Value.
        src: Src,
    },
    /// `dst = *(u64 *)(r11 + 8n)`: an incoming stack argument (`BPF_LDX | BPF_MEM | BPF_DW` based
    /// on r11), the callee's read of argument `5 + n`.
    StackArgLoad {
        /// Destination.
        dst: Reg,
        /// Which slot above r11.
        pos: StackArgPos,
    },
    /// Atomic operation on `*(size *)(dst + off)` with `src` (`BPF_STX | BPF_ATOMIC`).
    Atomic {
        /// W or DW (B/H too for acquire/release).
        size: Size,
        /// Operation.
        op: AtomicOp,
        /// Base register (the value register for load-acquire is `dst` of the result).
        dst: Reg,
        /// Value register (base register for load-acquire).
        src: Reg,
        /// Offset.
        off: i16,
    },
    /// Legacy `r0 = ntoh(*(size *)skb[imm])`.
    LdAbs {
        /// Access size (B, H or W).
        size: Size,
        /// Packet offset.
        imm: i32,
    },
    /// Legacy `r0 = ntoh(*(size *)skb[src + imm])`.
    LdInd {
        /// Access size (B, H or W).
        size: Size,
        /// Offset register.
        src: Reg,
        /// Constant offset.
        imm: i32,
    },
}

impl Insn {
    /// Number of 8-byte slots the instruction occupies.
    pub fn slots(&self) -> usize {
        match self {
            Insn::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// The 64-bit value of a plain `LdImm64` (`imm | imm_hi << 32`).
    pub fn imm64(imm: i32, imm_hi: i32) -> u64 {
        (imm as u32 as u64) | ((imm_hi as u32 as u64) << 32)
    }

    /// Whether this is an outgoing stack-argument store (`*(u64 *)(r11 - 8k) = ...`).
    pub fn is_stack_arg_store(&self) -> bool {
        matches!(self, Insn::StackArgStore { .. })
    }

    /// Whether this is an incoming stack-argument load (`r = *(u64 *)(r11 + 8k)`).
    pub fn is_stack_arg_load(&self) -> bool {
        matches!(self, Insn::StackArgLoad { .. })
    }

    /// The instruction in its semantic form: a `Store` or `Load` based on r11 that is one of the
    /// stack-argument forms (by the one recogniser, [`RawInsn::is_stack_arg_store`] /
    /// [`RawInsn::is_stack_arg_load`]) becomes [`Insn::StackArgStore`] / [`Insn::StackArgLoad`];
    /// everything else is returned unchanged. Builders of `Insn` lists go through this (the
    /// assembler, [`crate::Program::new`]) so that consumers match on the variants only.
    pub fn canonical(self) -> Insn {
        match self {
            Insn::Store { dst: Reg::R11, .. } | Insn::Load { src: Reg::R11, .. } => {
                let raw = self.encode();
                match raw.first() {
                    Some(r) if r.is_stack_arg_store() || r.is_stack_arg_load() => {
                        crate::decode_insn(*r, None).unwrap_or(self)
                    }
                    _ => self,
                }
            }
            _ => self,
        }
    }

    /// Whether this is one of the three stack-argument forms.
    pub fn is_stack_arg(&self) -> bool {
        self.is_stack_arg_store() || self.is_stack_arg_load()
    }

    /// Relative branch offset in slots (from the next slot) for jumps with a fixed target.
    pub fn branch_offset(&self) -> Option<i64> {
        match *self {
            Insn::Ja { off } | Insn::MayGoto { off } | Insn::Jmp { off, .. } => Some(off as i64),
            Insn::Gotol { imm } => Some(imm as i64),
            _ => None,
        }
    }

    /// Whether control never falls through to the next slot.
    pub fn is_unconditional_transfer(&self) -> bool {
        matches!(self, Insn::Ja { .. } | Insn::Gotol { .. } | Insn::Exit)
    }
}
