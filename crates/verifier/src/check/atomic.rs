//! Atomic instructions (`check_atomic`): fetch/non-fetch read-modify-write, compare-exchange,
//! load-acquire and store-release, each a read and a write through `check_mem_access`.

use crate::check::alu::RegOp;
use crate::domain::state::{RegState, RegType};
use crate::env::ctx::Mem;
use crate::messages::{Bug, Reject, TypeName};
use kbpf_isa::{AtomicOp, Insn, RawInsn, Size, SlotIdx};

// on the memory view: its reads and writes go through `check_mem_access` (check/mem.rs)
impl Mem<'_, '_> {
    /// STX ATOMIC (`check_atomic`): the operation, the size and the register numbers are read
    /// in the kernel's order; the access comes from the decoded `Atomic`.
    pub(crate) fn check_atomic(&mut self, raw: &RawInsn, slot: SlotIdx) -> Result<(), Reject> {
        let Some(op) = raw.atomic_op() else {
            return Err(Reject::AtomicOpcode(raw.imm));
        };
        if !op.allows_narrow() && !matches!(raw.size(), Size::W | Size::DW) {
            return Err(Reject::AtomicSize);
        }
        let (r_src, r_dst) = (raw.src, raw.dst);
        self.check_reg_arg(r_src, RegOp::Src)?;
        let dst_op = if op == AtomicOp::LoadAcquire { RegOp::DstNoMark } else { RegOp::Src };
        self.check_reg_arg(r_dst, dst_op)?;
        let Insn::Atomic { size, op, dst, src, off } = self.prog.decoded(slot)? else {
            return Err(Bug::Undecoded(slot).into());
        };
        let (size, off, src, dst) = (size.bytes() as i64, off as i64, src.num(), dst.num());
        match op {
            AtomicOp::LoadAcquire => {
                // the kernel refuses the pointer type before it looks at the access itself
                // (a store-release checks the access first)
                let ptr = self.cur.cur().regs[src as usize].clone();
                atomic_ptr_type_ok(&ptr, src, "loads from")?;
                self.check_strict_alignment(src, off, size)?;
                self.check_mem_access(slot, src, off, size, false, Some(dst), false)
            }
            AtomicOp::StoreRelease => {
                let ptr = self.cur.cur().regs[dst as usize].clone();
                self.check_strict_alignment(dst, off, size)?;
                self.check_mem_access(slot, dst, off, size, true, Some(src), false)?;
                atomic_ptr_type_ok(&ptr, dst, "stores into")
            }
            _ => {
                if op == AtomicOp::Cmpxchg {
                    self.check_reg_arg(0, RegOp::Src)?;
                }
                if self.cur.cur().regs[src as usize].is_pointer() && !self.prog.opts.privileged {
                    return Err(Reject::LeaksAddr(src.into(), "into mem"));
                }
                let dty = self.cur.cur().regs[dst as usize].ty;
                // a struct_ops program's kernel objects take atomics too: its verifier ops'
                // btf_struct_access judges the store
                let btf_ok = dty == RegType::BtfId
                    && self.prog.attach.as_ref().is_some_and(|a| a.struct_ops.is_some());
                if !matches!(dty, RegType::Stack | RegType::MapValue | RegType::Mem) && !btf_ok {
                    let flags = self.cur.cur().regs[dst as usize].flags;
                    return Err(Reject::AtomicThrough("stores into", dst.into(), TypeName::new(dty, flags)));
                }
                let load_reg = if op == AtomicOp::Cmpxchg {
                    Some(0u8)
                } else if op.fetches() {
                    Some(src)
                } else {
                    None
                };
                // atomics are always strictly aligned; read then write, as the kernel checks it
                self.check_strict_alignment(dst, off, size)?;
                self.check_mem_access(slot, dst, off, size, false, load_reg, false)?;
                self.check_mem_access(slot, dst, off, size, true, None, false)?;
                Ok(())
            }
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
