//! `ld_imm64` (constants, map references, subprogram references) and the legacy packet loads
//! LD_ABS/IND, on the memory view: a subprogram reference reads the call graph's facts and
//! LD_ABS/IND checks the references held, like a call (both lend the call view for that), and
//! a failed LD_ABS in a subprogram queues its success as a branch (the walk view).

use crate::check::alu::RegOp;
use crate::domain::state::{RDONLY, RegState, RegType};
use crate::env::ctx::Mem;
use crate::env::slots::after;
use crate::messages::{Reject, TypeName};
use kbpf_isa::{Insn, LdImm64Src, Mode, RawInsn, Size, SlotIdx};

impl Mem<'_, '_> {
    /// `check_ld_imm`: the opcode, the reserved fields and the destination register number are
    /// read where the kernel reads them; everything else comes from the decoded `LdImm64`.
    pub(crate) fn check_ld_imm(&mut self, insn: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        if insn.size() != Size::DW {
            return Err(Reject::InvalidLdImm);
        }
        self.prog.structural(idx)?;
        self.check_reg_arg(insn.dst, RegOp::Dst)?;
        // the pair, the offset and the register are checked: the slot decodes
        let Ok(Insn::LdImm64 { dst, src, imm, imm_hi }) = self.prog.table.insn(idx.index()) else {
            return Err(Reject::Bug(crate::messages::Bug::LdImm64Src));
        };
        let d = dst.num() as usize;
        match src {
            LdImm64Src::Imm => {
                self.cur.cur_mut().regs[d] = RegState::known(Insn::imm64(imm, imm_hi));
            }
            LdImm64Src::Func => self.call().check_ld_imm_func(dst, imm, idx.index())?,
            LdImm64Src::MapFd | LdImm64Src::MapValue => {
                let Some(m) = self.prog.ld_map.get(idx.index()).copied().flatten() else {
                    return Err(Reject::Bug(crate::messages::Bug::LdImm64Src));
                };
                let value = src == LdImm64Src::MapValue;
                let mut r = RegState::pointer(if value { RegType::MapValue } else { RegType::ConstMapPtr });
                r.map = m;
                if value {
                    r.off = imm_hi;
                }
                self.cur.cur_mut().regs[d] = r;
            }
            LdImm64Src::BtfId => {
                // resolved as a kernel function (the only kind that resolves): its address
                // is read-only memory of size 0
                let func = self.prog.opts.btf.as_ref().and_then(|b| b.0.get(imm as u32));
                if !func.is_some_and(|t| t.kind() == kbpf_elf::btf::Kind::Func) {
                    return Err(Reject::Bug(crate::messages::Bug::LdImm64Src));
                }
                let mut r = RegState::pointer(RegType::Mem);
                r.flags = RDONLY;
                r.mem_size = 0;
                self.cur.cur_mut().regs[d] = r;
            }
            _ => return Err(Reject::Bug(crate::messages::Bug::LdImm64Src)),
        }
        Ok(())
    }

    /// `check_ld_abs`. Returns whether the path leaves the subprogram here: a failed load in
    /// a called subprogram returns 0 to its caller at once (the hidden exit of the rewrite),
    /// so the load's success continues as a queued branch and this path exits with R0 = 0.
    pub(crate) fn check_ld_abs(&mut self, insn: &RawInsn, idx: SlotIdx) -> Result<bool, Reject> {
        if !self.prog.ops().may_access_skb() {
            return Err(Reject::LdAbsNotAllowed);
        }
        let mode = insn.mode();
        self.prog.structural(idx)?;
        self.check_reg_arg(6, RegOp::Src)?;
        self.call().check_resource_leak("BPF_LD_[ABS|IND]")?;
        if self.cur.cur().regs[6].ty != RegType::Ctx {
            return Err(Reject::LdAbsCtx);
        }
        if mode == Some(Mode::Ind) {
            self.check_reg_arg(insn.src, RegOp::Src)?;
        }
        self.check_ptr_off_reg(6)?;
        for r in 0..6 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
            self.log.scratch_reg(r);
        }
        self.cur.cur_mut().regs[0] = RegState::unknown_scalar();
        if self.cur.frames.len() == 1 {
            return Ok(false);
        }
        self.walk().push_stack(after(idx, 1), idx)?;
        self.cur.cur_mut().regs[0] = RegState::known(0);
        Ok(true)
    }

    /// `check_ptr_off_reg`: the pointer must be unmodified.
    pub(crate) fn check_ptr_off_reg(&self, regno: u8) -> Result<(), Reject> {
        let reg = &self.cur.cur().regs[regno as usize];
        let ty = TypeName::new(reg.ty, reg.flags);
        if reg.off < 0 {
            return Err(Reject::NegativeOffsetPtr(ty, regno.into(), reg.off));
        }
        if reg.off != 0 {
            return Err(Reject::ModifiedPtr(ty, regno.into(), reg.off));
        }
        if !reg.var_off.is_const() || reg.var_off.value != 0 {
            return Err(Reject::VarCtxAccess(ty, reg.var_off.to_string()));
        }
        Ok(())
    }
}
