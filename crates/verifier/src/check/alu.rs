//! Register operand checks and ALU instructions (`check_reg_arg`, `check_alu_op`,
//! `adjust_reg_min_max_vals`, `adjust_ptr_min_max_vals`), over the register-transfer view
//! [`Ctx`]: the current state, the log, the program facts, the id generator and what
//! precision marks reach; nothing of the search or the statistics.

use crate::ADD_CONST;
use crate::domain::scalar_ops::scalar_alu;
use crate::domain::state::{FP, MAX_BPF_REG, MAX_VAR_OFF, MAYBE_NULL, RegState, RegType, VerifierState};
use crate::domain::tnum::Tnum;
use crate::env::ctx::Ctx;
use crate::log::Log;
use crate::messages::{Bug, Reject, TypeName};
use kbpf_isa::AluOp as A;
use kbpf_isa::{AluCode, ByteOrder, Class, Insn, RawInsn, Reg, SlotIdx, Src, Width};

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

impl Ctx<'_, '_> {
    /// `check_alu_op`. The slot's reserved fields (through `structural`), register numbers and
    /// an `addr_space_cast`'s direction are read where the kernel reads them, before anything
    /// else; once they pass, the slot decodes and the transfer works on the decoded `Insn`.
    pub(crate) fn check_alu_op(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        let Some(code) = raw.alu_code() else {
            return Err(Bug::AluOnClass(format!("{:?}", raw.class())).into());
        };
        let x = raw.is_reg_src();
        match code {
            AluCode::End | AluCode::Neg => {
                self.prog.structural(idx)?;
                self.check_reg_arg(raw.dst, RegOp::Src)?;
                let insn = self.prog.decoded(idx)?;
                neg_end(self.cur, self.log, insn)?;
            }
            AluCode::Bin(A::Mov) => {
                self.prog.structural(idx)?;
                if x {
                    if raw.class() == Class::Alu64 && raw.off == 1 {
                        if raw.imm != 1 && raw.imm != 1 << 16 {
                            return Err(Reject::AddrSpaceCastDirection);
                        }
                        return Err(Reject::NoArena);
                    }
                    self.check_reg_arg(raw.src, RegOp::Src)?;
                }
                self.check_reg_arg(raw.dst, RegOp::DstNoMark)?;
                let insn = self.prog.decoded(idx)?;
                mov(self.cur, self.id_gen, insn)?;
            }
            AluCode::Unknown(code) => return Err(Reject::InvalidAluOpcode(code)),
            AluCode::Bin(_) => {
                self.prog.structural(idx)?;
                if x {
                    self.check_reg_arg(raw.src, RegOp::Src)?;
                }
                self.check_reg_arg(raw.dst, RegOp::Src)?;
                let Insn::Alu { width, op, dst, src } = self.prog.decoded(idx)? else {
                    return Err(Bug::Undecoded(idx).into());
                };
                let divmod = matches!(op, A::Div | A::SDiv | A::Mod | A::SMod);
                if let Src::Imm(imm) = src {
                    if divmod && imm == 0 {
                        return Err(Reject::DivByZero);
                    }
                    if matches!(op, A::Lsh | A::Rsh | A::Arsh) && (imm < 0 || imm >= width.bits() as i32) {
                        return Err(Reject::InvalidShift(imm));
                    }
                }
                self.check_reg_arg(dst.num(), RegOp::DstNoMark)?;
                self.adjust_reg_min_max_vals(width, op, dst, src)?;
            }
        }
        let strict = self.prog.opts.test_reg_invariants;
        reg_bounds_sanity_check(self.log, strict, &mut self.cur.cur_mut().regs[raw.dst as usize], "alu")
    }

    /// `adjust_reg_min_max_vals`.
    fn adjust_reg_min_max_vals(
        &mut self,
        width: Width,
        op: A,
        dst_reg: Reg,
        src_op: Src,
    ) -> Result<(), Reject> {
        let code = AluCode::Bin(op);
        let alu32 = width == Width::W32;
        let dn = dst_reg.num();
        let d = dn as usize;
        let dst = self.cur.cur().regs[d].clone();
        let src = match src_op {
            Src::Reg(sr) => {
                let s = self.cur.cur().regs[sr.num() as usize].clone();
                if s.ty != RegType::Scalar {
                    if dst.ty != RegType::Scalar {
                        if op == A::Sub && self.prog.opts.privileged {
                            self.cur.cur_mut().regs[d] = RegState::unknown_scalar();
                            return Ok(());
                        }
                        return Err(Reject::PtrOpPtr(dn.into(), code.kernel_text()));
                    }
                    self.precision().mark_chain_precision(dn);
                    return self.adjust_ptr_min_max_vals(width, op, dn, &s, &dst, true);
                } else if dst.ty != RegType::Scalar {
                    self.precision().mark_chain_precision(sr.num());
                    return self.adjust_ptr_min_max_vals(width, op, dn, &dst, &s, false);
                } else if dst.precise {
                    self.precision().mark_chain_precision(sr.num());
                }
                s
            }
            Src::Imm(imm) => {
                let k = RegState::known(imm as i64 as u64);
                if dst.ty != RegType::Scalar {
                    return self.adjust_ptr_min_max_vals(width, op, dn, &dst, &k, false);
                }
                k
            }
        };
        let mut nd = dst;
        if matches!(op, A::And | A::Or) && src.var_off.is_const() {
            self.maybe_fork_scalars(d, &mut nd)?;
        }
        // a 32-bit link is only kept for a register whose value fits 32 bits before the op:
        // otherwise the 64-bit base and the zero-extended result are unrelated
        let wide_before = nd.b64.umax > u64::from(u32::MAX);
        scalar_alu(&mut nd, &src, code, alu32, None);
        let src_const = if alu32 { src.var_off.subreg().is_const() } else { src.var_off.is_const() };
        if self.prog.opts.privileged && (op == A::Add || op == A::Sub) && nd.id != 0 && src_const {
            // linked scalars: remember `dst = base + off` for sync_linked_regs()
            let val = if alu32 { src.var_off.value as u32 as u64 } else { src.var_off.value };
            let sv = val as i64;
            let off = if (!alu32 && (sv < i32::MIN as i64 || sv > i32::MAX as i64)) || (alu32 && wide_before)
            {
                None
            } else if op == A::Sub {
                (val as i32).checked_neg()
            } else {
                Some(val as i32)
            };
            match off {
                Some(off) if nd.id & ADD_CONST == 0 => {
                    nd.id |= if alu32 { crate::ADD_CONST32 } else { crate::ADD_CONST64 };
                    nd.off = off;
                }
                _ => nd.clear_scalar_id(),
            }
        } else {
            nd.clear_scalar_id();
        }
        self.cur.cur_mut().regs[d] = nd;
        Ok(())
    }

    /// `maybe_fork_scalars`: a destination known to be 0 or -1 (in 64 bits, else in its low 32)
    /// splits in two: the current path goes on with -1, and a queued copy of the state before
    /// this instruction, with 0, runs the instruction again (so an `or` yields its constant).
    fn maybe_fork_scalars(&mut self, d: usize, nd: &mut RegState) -> Result<(), Reject> {
        let alu32 = if nd.b64.smin == -1 && nd.b64.smax == 0 {
            false
        } else if nd.b32.smin == -1 && nd.b32.smax == 0 {
            true
        } else {
            return Ok(());
        };
        let at = self.cur.insn_idx;
        let mut st = self.cur.clone();
        let zero = &mut st.cur_mut().regs[d];
        if alu32 {
            zero.mark_32_known(0);
            nd.mark_32_known(u32::MAX);
        } else {
            zero.mark_known(0);
            nd.mark_known(u64::MAX);
        }
        crate::env::push_branch(self.arena, self.pending, self.log.buf.len(), st, at, at)?;
        Ok(())
    }

    /// `adjust_ptr_min_max_vals`: pointer +/- scalar.
    fn adjust_ptr_min_max_vals(
        &mut self,
        width: Width,
        op: A,
        dregno: u8,
        ptr: &RegState,
        off_reg: &RegState,
        dst_is_off: bool,
    ) -> Result<(), Reject> {
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
        if width != Width::W64 {
            if op == A::Sub && self.prog.opts.privileged {
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
            | RegType::BtfId
            | RegType::TpBuffer
            | RegType::ConstDynptr
            | RegType::Func => {}
            RegType::ConstMapPtr if known && smin_val == 0 && op == A::Add => {}
            _ => return Err(Reject::PtrArithOn(dregno.into(), tystr)),
        }
        let mut dst = ptr.clone();
        dst.precise = false;
        check_reg_sane_offset(off_reg, tystr)?;
        check_reg_sane_offset(ptr, tystr)?;
        dst.mark_32_unbounded();
        match op {
            A::Add => {
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
            A::Sub => {
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
            A::And | A::Or | A::Xor => {
                return Err(Reject::PtrBitwise(dregno.into(), AluCode::Bin(op).kernel_text()));
            }
            _ => return Err(Reject::PtrArithOp(dregno.into(), AluCode::Bin(op).kernel_text())),
        }
        // 6.18.44 (stable fix): an AT_PKT_END / BEYOND_PKT_END mark from an earlier comparison
        // says nothing about the moved pointer, known offset or not
        if ptr.is_pkt_pointer() && dst.range < 0 {
            dst.range = 0;
        }
        check_reg_sane_offset(&dst, tystr)?;
        dst.bounds_sync();
        self.cur.cur_mut().regs[d] = dst;
        Ok(())
    }
}

/// `check_reg_sane_offset`: a pointer or offset too far off for arithmetic.
fn check_reg_sane_offset(reg: &RegState, ty: TypeName) -> Result<(), Reject> {
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

/// `check_reg_arg`, over the two parts it touches: the current state and the log's scratch
/// marks.
pub(crate) fn reg_arg(cur: &mut VerifierState, log: &mut Log, regno: u8, t: RegOp) -> Result<(), Reject> {
    if regno as usize >= MAX_BPF_REG {
        return Err(Reject::RegInvalid(regno.into()));
    }
    log.scratch_reg(regno as usize);
    let r = regno as usize;
    match t {
        RegOp::Src => {
            if cur.cur().regs[r].ty == RegType::NotInit {
                return Err(Reject::NotReadOk(regno.into()));
            }
        }
        RegOp::Dst | RegOp::DstNoMark => {
            if r == FP {
                return Err(Reject::FpReadOnly);
            }
            if t == RegOp::Dst {
                cur.cur_mut().regs[r] = RegState::unknown_scalar();
            }
        }
    }
    Ok(())
}

/// `reg_bounds_sanity_check`: a register whose ranges are empty or disagree with its constant
/// tnum is a verifier bug the kernel prints and survives (ranges reset, tnum kept), or, under
/// `BPF_F_TEST_REG_INVARIANTS` (`strict`), refuses the program with.
pub(crate) fn reg_bounds_sanity_check(
    log: &mut Log,
    strict: bool,
    r: &mut RegState,
    ctx: &'static str,
) -> Result<(), Reject> {
    let Some(report) = r.sanitize_bounds(ctx) else {
        return Ok(());
    };
    let bug = Bug::RegInvariants(Box::new(report));
    if strict {
        return Err(bug.into());
    }
    log.put(&format!("verifier bug: {bug}\n"));
    Ok(())
}

/// `neg` and the byte swaps, once `dst` is known readable: the current state and the log's
/// scratch marks are all they touch.
fn neg_end(cur: &mut VerifierState, log: &mut Log, insn: Insn) -> Result<(), Reject> {
    let (dst, code, alu32, end) = match insn {
        Insn::Neg { width, dst } => (dst, AluCode::Neg, width == Width::W32, None),
        Insn::Endian { order, bits, dst } => {
            (dst, AluCode::End, false, Some((bits as u32, order != ByteOrder::ToLe)))
        }
        _ => return Err(Bug::Undecoded(cur.insn_idx).into()),
    };
    let d = dst.num() as usize;
    if cur.cur().regs[d].ty != RegType::Scalar {
        return reg_arg(cur, log, dst.num(), RegOp::Dst);
    }
    reg_arg(cur, log, dst.num(), RegOp::DstNoMark)?;
    let mut reg = cur.cur().regs[d].clone();
    let src = reg.clone();
    // be16/be32/be64 swap on a little-endian host; le16/le32 truncate; bswap swaps
    scalar_alu(&mut reg, &src, code, alu32, end);
    // a new value: no longer linked to the registers it was copied to (the kernel's NEG
    // starts from `__mark_reg_known`, which clears the id); a kept id would let a later
    // branch on this register refine its old copies (tests/soundness/neg_end_linked_*.s).
    // le64 on a little-endian host leaves the value, and its links, as they were.
    if end != Some((64, false)) {
        reg.clear_scalar_id();
    }
    cur.cur_mut().regs[d] = reg;
    Ok(())
}

/// `mov` from an immediate, a register, or a register sign-extended from `from_bits`: the
/// current state and the scalar id generator are all it touches.
fn mov(cur: &mut VerifierState, id_gen: &mut u32, insn: Insn) -> Result<(), Reject> {
    let (width, dst, src, off) = match insn {
        Insn::Alu { width, op: A::Mov, dst, src: Src::Imm(imm) } => {
            let v = if width == Width::W64 { imm as i64 as u64 } else { imm as u32 as u64 };
            cur.cur_mut().regs[dst.num() as usize] = RegState::known(v);
            return Ok(());
        }
        Insn::Alu { width, op: A::Mov, dst, src: Src::Reg(src) } => (width, dst, src, 0u32),
        Insn::MovSx { width, dst, src, from_bits } => (width, dst, src, from_bits as u32),
        _ => return Err(Bug::Undecoded(cur.insn_idx).into()),
    };
    let (d, s) = (dst.num() as usize, src.num() as usize);
    let src_ty = cur.cur().regs[s].ty;
    if width == Width::W64 {
        if off == 0 {
            assign_scalar_id(&mut cur.cur_mut().regs[s], id_gen);
            let v = cur.cur().regs[s].clone();
            cur.cur_mut().regs[d] = v;
        } else if src_ty == RegType::Scalar {
            let no_sext = cur.cur().regs[s].b64.umax < (1u64 << (off - 1));
            if no_sext {
                assign_scalar_id(&mut cur.cur_mut().regs[s], id_gen);
            }
            let mut v = cur.cur().regs[s].clone();
            if !no_sext {
                v.clear_scalar_id();
            }
            v.coerce_to_size_sx((off / 8) as u8);
            cur.cur_mut().regs[d] = v;
        } else {
            cur.cur_mut().regs[d] = RegState::unknown_scalar();
        }
        return Ok(());
    }
    if src_ty == RegType::Scalar {
        let src = cur.cur().regs[s].clone();
        if off == 0 {
            let fits = 64 - src.b64.umax.leading_zeros() <= 32;
            if fits {
                assign_scalar_id(&mut cur.cur_mut().regs[s], id_gen);
            }
            let mut v = cur.cur().regs[s].clone();
            if !fits {
                v.clear_scalar_id();
            }
            cur.cur_mut().regs[d] = v;
        } else {
            let no_sext = src.b64.umax < (1u64 << (off - 1));
            if no_sext {
                assign_scalar_id(&mut cur.cur_mut().regs[s], id_gen);
            }
            let mut v = cur.cur().regs[s].clone();
            if !no_sext {
                v.clear_scalar_id();
            }
            v.coerce_subreg_to_size_sx((off / 8) as u8);
            cur.cur_mut().regs[d] = v;
        }
    } else {
        cur.cur_mut().regs[d] = RegState::unknown_scalar();
    }
    let r = &mut cur.cur_mut().regs[d];
    r.zext_32_to_64();
    r.bounds_sync();
    Ok(())
}

/// `assign_scalar_id_before_mov`: give `reg` an id so a copy stays linked to it; an existing
/// `base + off` link is dropped first.
pub(crate) fn assign_scalar_id(reg: &mut RegState, id_gen: &mut u32) {
    if reg.ty != RegType::Scalar {
        return;
    }
    if reg.id & ADD_CONST != 0 {
        reg.clear_scalar_id();
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
