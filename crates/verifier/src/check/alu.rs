//! Register operand checks and ALU instructions (`check_reg_arg`, `check_alu_op`,
//! `adjust_reg_min_max_vals`, `adjust_ptr_min_max_vals`), plus `ld_imm64` and LD_ABS/IND.

use crate::ADD_CONST;
use crate::domain::scalar_ops::scalar_alu;
use crate::domain::state::{FP, MAX_BPF_REG, MAX_VAR_OFF, MAYBE_NULL, RegState, RegType};
use crate::domain::tnum::Tnum;
use crate::env::Env;
use crate::messages::{Bug, Reject, TypeName};
use kbpf_isa::AluOp as A;
use kbpf_isa::{AluCode, Class, LdImm64Src, Mode, RawInsn, Size};

/// How an instruction uses a register operand.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegOp {
    /// Read.
    Src,
    /// Written (becomes an unknown scalar).
    Dst,
    /// Written; the caller sets the value.
    DstNoMark,
}

impl Env<'_> {
    /// `check_reg_arg`.
    pub(crate) fn check_reg_arg(&mut self, regno: u8, t: RegOp) -> Result<(), Reject> {
        if regno as usize >= MAX_BPF_REG {
            return Err(Reject::RegInvalid(regno.into()));
        }
        self.log.scratch_reg(regno as usize);
        let r = regno as usize;
        match t {
            RegOp::Src => {
                if self.cur.cur().regs[r].ty == RegType::NotInit {
                    return Err(Reject::NotReadOk(regno.into()));
                }
            }
            RegOp::Dst | RegOp::DstNoMark => {
                if r == FP {
                    return Err(Reject::FpReadOnly);
                }
                if t == RegOp::Dst {
                    self.cur.cur_mut().regs[r] = RegState::unknown_scalar();
                }
            }
        }
        Ok(())
    }

    fn assign_scalar_id_before_mov(&mut self, r: usize) {
        let mut id_gen = self.search.id_gen;
        assign_scalar_id(&mut self.cur.cur_mut().regs[r], &mut id_gen);
        self.search.id_gen = id_gen;
    }

    /// `check_alu_op`.
    pub(crate) fn check_alu_op(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        let Some(op) = insn.alu_code() else {
            return Err(Bug::AluOnClass(format!("{:?}", insn.class())).into());
        };
        let alu64 = insn.class() == Class::Alu64;
        let x = insn.is_reg_src();
        let d = insn.dst as usize;
        if op == AluCode::End || op == AluCode::Neg {
            self.structural(idx)?;
            self.check_reg_arg(insn.dst, RegOp::Src)?;
            if self.cur.cur().regs[d].ty == RegType::Scalar {
                self.check_reg_arg(insn.dst, RegOp::DstNoMark)?;
                let mut reg = self.cur.cur().regs[d].clone();
                let src = reg.clone();
                // be16/be32/be64 swap on a little-endian host; le16/le32 truncate; bswap swaps
                let end = (op == AluCode::End).then_some((insn.imm as u32, alu64 || x));
                let alu32 = !alu64 && op == AluCode::Neg;
                scalar_alu(&mut reg, &src, op, alu32, end);
                self.cur.cur_mut().regs[d] = reg;
            } else {
                self.check_reg_arg(insn.dst, RegOp::Dst)?;
            }
        } else if op == AluCode::Bin(A::Mov) {
            self.structural(idx)?;
            if x {
                if alu64 && insn.off == 1 {
                    if insn.imm != 1 && insn.imm != 1 << 16 {
                        return Err(Reject::AddrSpaceCastDirection);
                    }
                    return Err(Reject::NoArena);
                }
                self.check_reg_arg(insn.src, RegOp::Src)?;
            }
            self.check_reg_arg(insn.dst, RegOp::DstNoMark)?;
            let s = insn.src as usize;
            if x {
                let src_ty = self.cur.cur().regs[s].ty;
                if alu64 {
                    if insn.off == 0 {
                        self.assign_scalar_id_before_mov(s);
                        let v = self.cur.cur().regs[s].clone();
                        self.cur.cur_mut().regs[d] = v;
                    } else if src_ty == RegType::Scalar {
                        let no_sext = self.cur.cur().regs[s].b64.umax < (1u64 << (insn.off - 1));
                        if no_sext {
                            self.assign_scalar_id_before_mov(s);
                        }
                        let mut v = self.cur.cur().regs[s].clone();
                        if !no_sext {
                            v.id = 0;
                        }
                        v.coerce_to_size_sx((insn.off / 8) as u8);
                        self.cur.cur_mut().regs[d] = v;
                    } else {
                        self.cur.cur_mut().regs[d] = RegState::unknown_scalar();
                    }
                } else {
                    if src_ty == RegType::Scalar {
                        let src = self.cur.cur().regs[s].clone();
                        if insn.off == 0 {
                            let fits = 64 - src.b64.umax.leading_zeros() <= 32;
                            if fits {
                                self.assign_scalar_id_before_mov(s);
                            }
                            let mut v = self.cur.cur().regs[s].clone();
                            if !fits {
                                v.id = 0;
                            }
                            self.cur.cur_mut().regs[d] = v;
                        } else {
                            let no_sext = src.b64.umax < (1u64 << (insn.off - 1));
                            if no_sext {
                                self.assign_scalar_id_before_mov(s);
                            }
                            let mut v = self.cur.cur().regs[s].clone();
                            if !no_sext {
                                v.id = 0;
                            }
                            v.coerce_subreg_to_size_sx((insn.off / 8) as u8);
                            self.cur.cur_mut().regs[d] = v;
                        }
                    } else {
                        self.cur.cur_mut().regs[d] = RegState::unknown_scalar();
                    }
                    let r = &mut self.cur.cur_mut().regs[d];
                    r.zext_32_to_64();
                    r.bounds_sync();
                }
            } else {
                let v = if alu64 { insn.imm as i64 as u64 } else { insn.imm as u32 as u64 };
                self.cur.cur_mut().regs[d] = RegState::known(v);
            }
        } else if let AluCode::Unknown(code) = op {
            return Err(Reject::InvalidAluOpcode(code));
        } else {
            let divmod = matches!(op, AluCode::Bin(A::Div | A::SDiv | A::Mod | A::SMod));
            self.structural(idx)?;
            if x {
                self.check_reg_arg(insn.src, RegOp::Src)?;
            }
            self.check_reg_arg(insn.dst, RegOp::Src)?;
            if divmod && !x && insn.imm == 0 {
                return Err(Reject::DivByZero);
            }
            if matches!(op, AluCode::Bin(A::Lsh) | AluCode::Bin(A::Rsh) | AluCode::Bin(A::Arsh)) && !x {
                let size = if alu64 { 64 } else { 32 };
                if insn.imm < 0 || insn.imm >= size {
                    return Err(Reject::InvalidShift(insn.imm));
                }
            }
            self.check_reg_arg(insn.dst, RegOp::DstNoMark)?;
            self.adjust_reg_min_max_vals(insn)?;
        }
        let r = &mut self.cur.cur_mut().regs[d];
        if r.ty == RegType::Scalar && r.bounds_violation().is_some() {
            // reg_bounds_sanity_check: the kernel warns and resets the register
            *r = RegState::unknown_scalar();
        }
        Ok(())
    }

    /// `adjust_reg_min_max_vals`.
    fn adjust_reg_min_max_vals(&mut self, insn: &RawInsn) -> Result<(), Reject> {
        let op = insn.alu_code().unwrap_or(AluCode::Unknown(0));
        let alu32 = insn.class() != Class::Alu64;
        let d = insn.dst as usize;
        let dst = self.cur.cur().regs[d].clone();
        let src = if insn.is_reg_src() {
            let s = self.cur.cur().regs[insn.src as usize].clone();
            if s.ty != RegType::Scalar {
                if dst.ty != RegType::Scalar {
                    if op == AluCode::Bin(A::Sub) && self.prog.opts.privileged {
                        self.cur.cur_mut().regs[d] = RegState::unknown_scalar();
                        return Ok(());
                    }
                    return Err(Reject::PtrOpPtr(insn.dst.into(), op.kernel_text()));
                }
                self.mark_chain_precision(insn.dst);
                return self.adjust_ptr_min_max_vals(insn, &s, &dst, true);
            } else if dst.ty != RegType::Scalar {
                self.mark_chain_precision(insn.src);
                return self.adjust_ptr_min_max_vals(insn, &dst, &s, false);
            } else if dst.precise {
                self.mark_chain_precision(insn.src);
            }
            s
        } else {
            let k = RegState::known(insn.imm as i64 as u64);
            if dst.ty != RegType::Scalar {
                return self.adjust_ptr_min_max_vals(insn, &dst, &k, false);
            }
            k
        };
        let mut nd = dst;
        scalar_alu(&mut nd, &src, op, alu32, None);
        let src_const = if alu32 { src.var_off.subreg().is_const() } else { src.var_off.is_const() };
        if self.prog.opts.privileged
            && (op == AluCode::Bin(A::Add) || op == AluCode::Bin(A::Sub))
            && nd.id != 0
            && src_const
        {
            // linked scalars: remember `dst = base + off` for sync_linked_regs()
            let val = if alu32 { src.var_off.value as u32 as u64 } else { src.var_off.value };
            let sv = val as i64;
            let off = if !alu32 && (sv < i32::MIN as i64 || sv > i32::MAX as i64) {
                None
            } else if op == AluCode::Bin(A::Sub) {
                (val as i32).checked_neg()
            } else {
                Some(val as i32)
            };
            match off {
                Some(off) if nd.id & ADD_CONST == 0 => {
                    nd.id |= if alu32 { crate::ADD_CONST32 } else { crate::ADD_CONST64 };
                    nd.off = off;
                }
                _ => {
                    nd.off = 0;
                    nd.id = 0;
                }
            }
        } else {
            nd.id = 0;
            nd.off = 0;
        }
        self.cur.cur_mut().regs[d] = nd;
        Ok(())
    }

    fn check_reg_sane_offset(&self, reg: &RegState, ty: TypeName) -> Result<(), Reject> {
        let known = reg.var_off.is_const();
        let val = reg.var_off.value as i64;
        if known && (val >= MAX_VAR_OFF || val <= -MAX_VAR_OFF) {
            return Err(Reject::MathConst(ty, val));
        }
        if reg.off as i64 >= MAX_VAR_OFF || reg.off as i64 <= -MAX_VAR_OFF {
            return Err(Reject::PtrOffNotAllowed(ty, reg.off));
        }
        if reg.b64.smin == i64::MIN {
            return Err(Reject::MathUnboundedMin(ty));
        }
        if reg.b64.smin >= MAX_VAR_OFF || reg.b64.smin <= -MAX_VAR_OFF {
            return Err(Reject::ValueOob(reg.b64.smin, ty));
        }
        Ok(())
    }

    /// `adjust_ptr_min_max_vals`: pointer +/- scalar.
    fn adjust_ptr_min_max_vals(
        &mut self,
        insn: &RawInsn,
        ptr: &RegState,
        off_reg: &RegState,
        dst_is_off: bool,
    ) -> Result<(), Reject> {
        let op = insn.alu_code().unwrap_or(AluCode::Unknown(0));
        let dregno = insn.dst;
        let d = dregno as usize;
        let known = off_reg.var_off.is_const();
        let (smin_val, smax_val, umin_val, umax_val) =
            (off_reg.b64.smin, off_reg.b64.smax, off_reg.b64.umin, off_reg.b64.umax);
        if (known && (smin_val != smax_val || umin_val != umax_val))
            || smin_val > smax_val
            || umin_val > umax_val
        {
            self.cur.cur_mut().regs[d] = RegState::unknown_scalar();
            return Ok(());
        }
        if insn.class() != Class::Alu64 {
            if op == AluCode::Bin(A::Sub) && self.prog.opts.privileged {
                self.cur.cur_mut().regs[d] = RegState::unknown_scalar();
                return Ok(());
            }
            return Err(Reject::Ptr32Arith(dregno.into()));
        }
        let tystr = TypeName::new(ptr.ty, ptr.flags);
        if ptr.flags & MAYBE_NULL != 0 {
            return Err(Reject::PtrArithNull(dregno.into(), tystr));
        }
        match ptr.ty {
            RegType::Ctx
            | RegType::MapValue
            | RegType::MapKey
            | RegType::Stack
            | RegType::PacketMeta
            | RegType::Packet
            | RegType::Mem
            | RegType::Func => {}
            RegType::ConstMapPtr if known && smin_val == 0 && op == AluCode::Bin(A::Add) => {}
            _ => return Err(Reject::PtrArithOn(dregno.into(), tystr)),
        }
        let mut dst = ptr.clone();
        dst.precise = false;
        self.check_reg_sane_offset(off_reg, tystr)?;
        self.check_reg_sane_offset(ptr, tystr)?;
        dst.mark_32_unbounded();
        match op {
            AluCode::Bin(A::Add) => {
                let fixed = (ptr.off as i64).wrapping_add(smin_val);
                if known && fixed == fixed as i32 as i64 {
                    dst.off = fixed as i32;
                } else {
                    match (ptr.b64.smin.checked_add(smin_val), ptr.b64.smax.checked_add(smax_val)) {
                        (Some(a), Some(b)) => {
                            dst.b64.smin = a;
                            dst.b64.smax = b;
                        }
                        _ => {
                            dst.b64.smin = i64::MIN;
                            dst.b64.smax = i64::MAX;
                        }
                    }
                    match (ptr.b64.umin.checked_add(umin_val), ptr.b64.umax.checked_add(umax_val)) {
                        (Some(a), Some(b)) => {
                            dst.b64.umin = a;
                            dst.b64.umax = b;
                        }
                        _ => {
                            dst.b64.umin = 0;
                            dst.b64.umax = u64::MAX;
                        }
                    }
                    dst.var_off = ptr.var_off.add(off_reg.var_off);
                    if ptr.is_pkt_pointer() {
                        dst.id = self.new_id();
                        dst.range = 0;
                    }
                }
            }
            AluCode::Bin(A::Sub) => {
                if dst_is_off {
                    return Err(Reject::SubPtrFromScalar(dregno.into()));
                }
                if ptr.ty == RegType::Stack {
                    return Err(Reject::SubFromStack(dregno.into()));
                }
                let fixed = (ptr.off as i64).wrapping_sub(smin_val);
                if known && fixed == fixed as i32 as i64 {
                    dst.off = fixed as i32;
                } else {
                    match (ptr.b64.smin.checked_sub(smax_val), ptr.b64.smax.checked_sub(smin_val)) {
                        (Some(a), Some(b)) => {
                            dst.b64.smin = a;
                            dst.b64.smax = b;
                        }
                        _ => {
                            dst.b64.smin = i64::MIN;
                            dst.b64.smax = i64::MAX;
                        }
                    }
                    if ptr.b64.umin < umax_val {
                        dst.b64.umin = 0;
                        dst.b64.umax = u64::MAX;
                    } else {
                        dst.b64.umin = ptr.b64.umin - umax_val;
                        dst.b64.umax = ptr.b64.umax.wrapping_sub(umin_val);
                    }
                    dst.var_off = ptr.var_off.sub(off_reg.var_off);
                    if ptr.is_pkt_pointer() {
                        dst.id = self.new_id();
                        if smin_val < 0 {
                            dst.range = 0;
                        }
                    }
                }
            }
            AluCode::Bin(A::And) | AluCode::Bin(A::Or) | AluCode::Bin(A::Xor) => {
                return Err(Reject::PtrBitwise(dregno.into(), op.kernel_text()));
            }
            _ => return Err(Reject::PtrArithOp(dregno.into(), op.kernel_text())),
        }
        self.check_reg_sane_offset(&dst, tystr)?;
        dst.bounds_sync();
        self.cur.cur_mut().regs[d] = dst;
        Ok(())
    }

    /// `check_ld_imm`.
    pub(crate) fn check_ld_imm(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        if insn.size() != Size::DW {
            return Err(Reject::InvalidLdImm);
        }
        self.structural(idx)?;
        self.check_reg_arg(insn.dst, RegOp::Dst)?;
        let d = insn.dst as usize;
        let hi = self.prog.slots.get(idx + 1).map_or(0, |n| n.imm);
        match LdImm64Src::from_u8(insn.src) {
            Some(LdImm64Src::Imm) => {
                self.cur.cur_mut().regs[d] = RegState::known(kbpf_isa::Insn::imm64(insn.imm, hi));
            }
            Some(LdImm64Src::Func) => self.check_ld_imm_func(insn, idx)?,
            Some(src @ (LdImm64Src::MapFd | LdImm64Src::MapValue)) => {
                let Some(m) = self.prog.ld_map.get(idx).copied().flatten() else {
                    return Err(Reject::Bug(crate::messages::Bug::LdImm64Src));
                };
                let value = src == LdImm64Src::MapValue;
                let mut r = RegState::pointer(if value { RegType::MapValue } else { RegType::ConstMapPtr });
                r.map = m;
                if value {
                    r.off = hi;
                }
                self.cur.cur_mut().regs[d] = r;
            }
            _ => return Err(Reject::Bug(crate::messages::Bug::LdImm64Src)),
        }
        Ok(())
    }

    /// `check_ld_abs`.
    pub(crate) fn check_ld_abs(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        if !self.prog.opts.prog_type.ops().may_access_skb() {
            return Err(Reject::LdAbsNotAllowed);
        }
        let mode = insn.mode();
        self.structural(idx)?;
        self.check_reg_arg(6, RegOp::Src)?;
        self.check_resource_leak("BPF_LD_[ABS|IND]")?;
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
        Ok(())
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

/// `assign_scalar_id_before_mov`: give `reg` an id so a copy stays linked to it; an existing
/// `base + off` link is dropped first.
pub(crate) fn assign_scalar_id(reg: &mut RegState, id_gen: &mut u32) {
    if reg.ty != RegType::Scalar {
        return;
    }
    if reg.id & ADD_CONST != 0 {
        reg.id = 0;
        reg.off = 0;
    }
    if reg.id == 0 && !reg.var_off.is_const() {
        *id_gen += 1;
        reg.id = *id_gen;
    }
}

/// Tnum printed the way the alignment message does (`0` for a known zero).
pub(crate) fn tnum_short(t: Tnum) -> String {
    if t.is_const() { format!("{}", t.value) } else { t.to_string() }
}
