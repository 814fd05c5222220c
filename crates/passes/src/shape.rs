//! The control shape of one slot, which the control-flow passes (`add_subprogs`,
//! `check_subprogs`, `check_cfg`, the successor oracle) and the verifier's whole-program scans
//! (call graph, `may_goto`, tail calls) read: where control goes, how many slots
//! the instruction takes, and the two facts `check_subprogs` records.
//!
//! A slot the [`SlotTable`] decoded is read from its [`Insn`] variant. The kernel's passes run
//! before anything has rejected a malformed slot and read its class, operation and jump fields
//! as they are (a jump with junk in a reserved field still jumps; an `ld_imm64` whose second
//! half is bad still covers two slots; a call with a bad source is still a call), and an
//! `ld_imm64` tail has no instruction of its own: for those slots, and only here, the shape is
//! read from the raw slot through kbpf-isa's recognisers ([`raw_shape`]), so the kernel's order
//! and messages are kept.

use kbpf_isa::{CallKind, CallTarget, Decoded, Insn, JmpOp, LdImm64Src, RawInsn, SlotTable};

/// Where control goes after one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Falls through to the next instruction.
    Next,
    /// `exit`: no successor.
    Exit,
    /// `ja` / `gotol`: jumps by the offset (from the next slot), no fall-through.
    Goto(i64),
    /// A conditional jump (or `may_goto`): falls through and jumps by `off`.
    Cond {
        /// Offset from the next slot.
        off: i64,
        /// `may_goto` (a forced checkpoint).
        may_goto: bool,
    },
    /// A call: falls through. `kind` is `None` for `callx` and calls the walk rejects by opcode.
    Call {
        /// Helper, local or kfunc call.
        kind: Option<CallKind>,
        /// Helper id, relative target (local) or BTF id (kfunc).
        imm: i32,
    },
    /// An `ld_imm64` of a subprogram address (`BPF_PSEUDO_FUNC`), `imm` relative to the next slot.
    FuncRef(i32),
}

/// The control shape of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Control flow.
    pub flow: Flow,
    /// Slots the instruction covers (2 for `ld_imm64`).
    pub len: usize,
    /// `exit`, `ja` or `gotol`: may end a subprogram.
    pub ends_subprog: bool,
    /// `LD_ABS` / `LD_IND`.
    pub ld_abs: bool,
}

/// The shape of slot `pc` (which must be in range).
#[inline]
pub fn shape(table: &SlotTable<'_>, pc: usize) -> Shape {
    match table.get(pc) {
        Some(Decoded::Insn(insn)) => insn_shape(insn),
        _ => raw_shape(table.raw()[pc]),
    }
}

fn insn_shape(insn: &Insn) -> Shape {
    let flow = match *insn {
        Insn::Exit => Flow::Exit,
        Insn::Ja { off } => Flow::Goto(off as i64),
        Insn::Gotol { imm } => Flow::Goto(imm as i64),
        Insn::MayGoto { off } => Flow::Cond { off: off as i64, may_goto: true },
        Insn::Jmp { off, .. } => Flow::Cond { off: off as i64, may_goto: false },
        Insn::Call(CallTarget::Helper(id)) => Flow::Call { kind: Some(CallKind::Helper), imm: id },
        Insn::Call(CallTarget::Local(imm)) => Flow::Call { kind: Some(CallKind::Local), imm },
        Insn::Call(CallTarget::Kfunc { btf_id, .. }) => {
            Flow::Call { kind: Some(CallKind::Kfunc), imm: btf_id }
        }
        Insn::Callx { .. } => Flow::Call { kind: None, imm: 0 },
        Insn::LdImm64 { src: LdImm64Src::Func, imm, .. } => Flow::FuncRef(imm),
        _ => Flow::Next,
    };
    Shape {
        flow,
        len: insn.slots(),
        ends_subprog: matches!(insn, Insn::Exit | Insn::Ja { .. } | Insn::Gotol { .. }),
        ld_abs: matches!(insn, Insn::LdAbs { .. } | Insn::LdInd { .. }),
    }
}

/// The raw reading of a slot without an instruction (malformed, or an `ld_imm64` tail): the one
/// place the control-flow passes read slot fields.
fn raw_shape(raw: RawInsn) -> Shape {
    let flow = if raw.is_pseudo_func() {
        Flow::FuncRef(raw.imm)
    } else {
        match raw.jmp_op() {
            None => Flow::Next,
            Some(JmpOp::Exit) => Flow::Exit,
            Some(JmpOp::Ja) => Flow::Goto(raw.jmp_offset()),
            // the target is read only for the kinds that have one (`callx` has none)
            Some(JmpOp::Call) => {
                let kind = raw.call_kind();
                Flow::Call { kind, imm: if kind.is_some() { raw.imm } else { 0 } }
            }
            Some(JmpOp::Jcond | JmpOp::Cond(_) | JmpOp::Unknown) => {
                Flow::Cond { off: raw.jmp_offset(), may_goto: raw.is_may_goto() }
            }
        }
    };
    Shape { flow, len: raw.slot_len(), ends_subprog: raw.is_exit_or_ja(), ld_abs: raw.is_ld_abs_ind() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every opcode with a spread of fields: a slot the table decodes has the shape its raw
    /// reading gives (the two readings agree wherever both exist).
    #[test]
    fn decoded_and_raw_readings_agree() {
        let tail = RawInsn::new(0, 0, 0, 0, 0);
        for code in 0..=255u8 {
            for (dst, src) in [(0, 0), (1, 2), (0, 1), (0, 2), (11, 0), (0, 11), (10, 3)] {
                for (off, imm) in [(0, 0), (1, 0), (-8, 12), (3, 1), (8, -2), (0, 164)] {
                    let slots = [RawInsn::new(code, dst, src, off, imm), tail];
                    let t = SlotTable::new(&slots);
                    if let Some(Decoded::Insn(insn)) = t.get(0) {
                        let raw = raw_shape(slots[0]);
                        let typed = insn_shape(insn);
                        assert_eq!(typed, raw, "{:?}", slots[0]);
                    }
                }
            }
        }
    }

    /// Slots the table refuses keep the shape the kernel's passes read from them.
    #[test]
    fn malformed_slots_keep_their_raw_shape() {
        let r = RawInsn::new;
        // a conditional jump with junk in the source field; an ld_imm64 whose second half is a
        // jump; a local call with junk in dst
        let slots = [r(0x15, 1, 7, 2, 0), r(0x18, 1, 0, 0, 0), r(0x05, 0, 0, -3, 0), r(0x85, 3, 1, 0, 1)];
        let t = SlotTable::new(&slots);
        for pc in [0, 1, 3] {
            assert!(matches!(t.get(pc), Some(Decoded::Malformed(_))), "{pc}");
        }
        assert_eq!(shape(&t, 0).flow, Flow::Cond { off: 2, may_goto: false });
        assert_eq!(shape(&t, 1).len, 2);
        // the slot after a malformed ld_imm64 is decoded on its own, as the kernel reads it
        assert_eq!(shape(&t, 2).flow, Flow::Goto(-3));
        assert_eq!(shape(&t, 3).flow, Flow::Call { kind: Some(CallKind::Local), imm: 1 });
    }
}
