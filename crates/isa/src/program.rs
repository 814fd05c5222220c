//! A decoded program: instructions plus the slot (pc) mapping and control-flow sanity checks.

use crate::decode::decode_slots;
use crate::error::{DecodeError, DecodeErrorKind as E};
use crate::index::{InsnIdx, SlotIdx};
use crate::insn::{CallTarget, Insn, RawInsn};

/// A decoded, structurally valid program.
///
/// Instructions are stored once each; `pc` (kernel instruction index) counts 8-byte slots, so an
/// `LdImm64` advances it by two. Every branch and bpf-to-bpf call target is inside the program and
/// on an instruction boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
    /// The slot each instruction starts at.
    pcs: Vec<SlotIdx>,
    /// The instruction starting at each slot (`None` for the second slot of an `LdImm64`).
    slot_to_idx: Vec<Option<InsnIdx>>,
}

impl Program {
    /// Decodes little-endian bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Program, DecodeError> {
        if !bytes.len().is_multiple_of(RawInsn::BYTES) {
            return Err(DecodeError { index: bytes.len() / RawInsn::BYTES, kind: E::Truncated(bytes.len()) });
        }
        let slots: Vec<RawInsn> = bytes
            .chunks_exact(RawInsn::BYTES)
            .map(|c| RawInsn::from_bytes(c.try_into().expect("chunks_exact yields 8 bytes")))
            .collect();
        Program::from_slots(&slots)
    }

    /// Decodes raw slots.
    pub fn from_slots(slots: &[RawInsn]) -> Result<Program, DecodeError> {
        Program::new(decode_slots(slots)?)
    }

    /// Builds a program from instructions (each in its [`Insn::canonical`] form: the r11
    /// stack-argument forms as their own variants) and checks its branch targets.
    pub fn new(insns: Vec<Insn>) -> Result<Program, DecodeError> {
        let insns: Vec<Insn> = insns.into_iter().map(Insn::canonical).collect();
        if insns.is_empty() {
            return Err(DecodeError { index: 0, kind: E::Empty });
        }
        let mut pcs = Vec::with_capacity(insns.len());
        let mut slot_to_idx = Vec::with_capacity(insns.len() + 1);
        for (i, insn) in insns.iter().enumerate() {
            pcs.push(SlotIdx::new(slot_to_idx.len()));
            slot_to_idx.push(Some(InsnIdx::new(i)));
            if insn.slots() == 2 {
                slot_to_idx.push(None);
            }
        }
        let p = Program { insns, pcs, slot_to_idx };
        p.check_targets()?;
        Ok(p)
    }

    fn check_targets(&self) -> Result<(), DecodeError> {
        let len = self.len_slots() as i64;
        for (i, insn) in self.insns.iter().enumerate() {
            let pc = self.pcs[i].index();
            let err = |kind| Err(DecodeError { index: pc, kind });
            if let Some(off) = insn.branch_offset() {
                let to = pc as i64 + 1 + off;
                if to < 0 || to >= len {
                    return err(E::JumpOutOfRange { from: pc, to });
                }
                if self.slot_to_idx[to as usize].is_none() {
                    return err(E::JumpIntoLdImm64(to as usize - 1));
                }
            }
            if let Insn::Call(CallTarget::Local(rel)) = insn {
                let to = pc as i64 + 1 + *rel as i64;
                if to < 0 || to >= len || self.slot_to_idx[to as usize].is_none() {
                    return err(E::CallOutOfRange);
                }
            }
        }
        Ok(())
    }

    /// The instructions in order.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Number of instructions (an `LdImm64` counts once).
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Always false: a program has at least one instruction.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// Number of 8-byte slots (the kernel's `prog->len`).
    pub fn len_slots(&self) -> usize {
        self.slot_to_idx.len()
    }

    /// The slot instruction `i` starts at.
    pub fn slot_of(&self, i: InsnIdx) -> SlotIdx {
        self.pcs[i.index()]
    }

    /// The instruction starting at slot `s`, `None` for a second slot or out of range.
    pub fn insn_at(&self, s: SlotIdx) -> Option<InsnIdx> {
        self.slot_to_idx.get(s.index()).copied().flatten()
    }

    /// Instruction `i`.
    pub fn insn(&self, i: InsnIdx) -> &Insn {
        &self.insns[i.index()]
    }

    /// Slot index of instruction `idx` ([`Program::slot_of`] on plain numbers).
    pub fn pc(&self, idx: usize) -> usize {
        self.slot_of(InsnIdx::new(idx)).index()
    }

    /// Instruction index starting at slot `pc` ([`Program::insn_at`] on plain numbers).
    pub fn index_at(&self, pc: usize) -> Option<usize> {
        self.insn_at(SlotIdx::new(pc)).map(InsnIdx::index)
    }

    /// Instruction starting at slot `pc`.
    pub fn at(&self, pc: usize) -> Option<&Insn> {
        self.index_at(pc).map(|i| &self.insns[i])
    }

    /// Iterator of `(pc, insn)`.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Insn)> + '_ {
        self.insns.iter().zip(&self.pcs).map(|(insn, pc)| (pc.index(), insn))
    }

    /// Branch target slot of the instruction at `pc`, if it has a fixed one.
    pub fn branch_target(&self, pc: usize) -> Option<usize> {
        let off = self.at(pc)?.branch_offset()?;
        Some((pc as i64 + 1 + off) as usize)
    }

    /// Target slot of a bpf-to-bpf call at `pc`.
    pub fn call_target(&self, pc: usize) -> Option<usize> {
        match self.at(pc)? {
            Insn::Call(CallTarget::Local(rel)) => Some((pc as i64 + 1 + *rel as i64) as usize),
            _ => None,
        }
    }

    /// Raw slots.
    pub fn to_slots(&self) -> Vec<RawInsn> {
        let mut v = Vec::with_capacity(self.len_slots());
        for i in &self.insns {
            i.encode_into(&mut v);
        }
        v
    }

    /// Little-endian bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_slots().iter().flat_map(|s| s.to_bytes()).collect()
    }
}
