//! Atomic instructions (`check_atomic`): fetch/non-fetch read-modify-write, compare-exchange,
//! load-acquire and store-release, each a read and a write through `check_mem_access`.

use crate::check::alu::RegOp;
use crate::domain::state::{RegState, RegType};
use crate::env::Env;
use crate::messages::{Reject, TypeName};
use kbpf_isa::{AtomicOp, RawInsn};

impl Env<'_> {
    /// STX ATOMIC (`check_atomic`).
    pub(crate) fn check_atomic(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        let size = insn.size().bytes() as i64;
        match insn.atomic_op() {
            Some(op) if !op.allows_narrow() => {
                if size != 4 && size != 8 {
                    return Err(Reject::AtomicSize);
                }
                self.check_reg_arg(insn.src, RegOp::Src)?;
                self.check_reg_arg(insn.dst, RegOp::Src)?;
                if op == AtomicOp::Cmpxchg {
                    self.check_reg_arg(0, RegOp::Src)?;
                }
                if self.cur.cur().regs[insn.src as usize].is_pointer() && !self.prog.opts.privileged {
                    return Err(Reject::LeaksAddr(insn.src.into(), "into mem"));
                }
                let dty = self.cur.cur().regs[insn.dst as usize].ty;
                if !matches!(dty, RegType::Stack | RegType::MapValue | RegType::Mem) {
                    let flags = self.cur.cur().regs[insn.dst as usize].flags;
                    return Err(Reject::AtomicThrough(
                        "stores into",
                        insn.dst.into(),
                        TypeName::new(dty, flags),
                    ));
                }
                let load_reg = if op == AtomicOp::Cmpxchg {
                    Some(0u8)
                } else if op.fetches() {
                    Some(insn.src)
                } else {
                    None
                };
                // atomics are always strictly aligned; read then write, as the kernel checks it
                self.check_strict_alignment(insn.dst, insn.off as i64, size)?;
                self.check_mem_access(idx, insn.dst, insn.off as i64, size, false, load_reg, false)?;
                self.check_mem_access(idx, insn.dst, insn.off as i64, size, true, None, false)?;
                Ok(())
            }
            Some(AtomicOp::LoadAcquire) => {
                self.check_reg_arg(insn.src, RegOp::Src)?;
                self.check_reg_arg(insn.dst, RegOp::DstNoMark)?;
                let ptr = self.cur.cur().regs[insn.src as usize].clone();
                self.check_strict_alignment(insn.src, insn.off as i64, size)?;
                self.check_mem_access(idx, insn.src, insn.off as i64, size, false, Some(insn.dst), false)?;
                atomic_ptr_type_ok(&ptr, insn.src, "loads from")
            }
            Some(_) => {
                self.check_reg_arg(insn.src, RegOp::Src)?;
                self.check_reg_arg(insn.dst, RegOp::Src)?;
                let ptr = self.cur.cur().regs[insn.dst as usize].clone();
                self.check_strict_alignment(insn.dst, insn.off as i64, size)?;
                self.check_mem_access(idx, insn.dst, insn.off as i64, size, true, Some(insn.src), false)?;
                atomic_ptr_type_ok(&ptr, insn.dst, "stores into")
            }
            None => Err(Reject::AtomicOpcode(insn.imm)),
        }
    }
}

/// `atomic_ptr_type_ok` for load-acquire / store-release: not through ctx, packet or socket
/// pointers.
fn atomic_ptr_type_ok(reg: &RegState, regno: u8, what: &'static str) -> Result<(), Reject> {
    if matches!(reg.ty, RegType::Ctx) || reg.is_pkt_pointer() || reg.is_sk_pointer() {
        return Err(Reject::AtomicThrough(what, regno.into(), TypeName::new(reg.ty, reg.flags)));
    }
    Ok(())
}
