//! Memory access checks (`check_mem_access` and friends): loads and stores dispatched by base
//! pointer type to the context, map values, packets and sized memory; the stack in
//! [`super::stack`], atomics in [`super::atomic`].

use crate::check::alu::{RegOp, tnum_short};
use crate::domain::state::{MAX_VAR_OFF, MAYBE_NULL, RDONLY, RegState, RegType};
use crate::domain::tnum::Tnum;
use crate::env::ctx::Mem;
use crate::messages::{Bug, Reject, TypeName};
use crate::prog_types::{CtxAccess, CtxField};
use kbpf_isa::{Insn, RawInsn, SlotIdx, Src};
use kbpf_passes::Errno;

/// `sizeof(struct bpf_flow_keys)`.
const FLOW_KEYS_SIZE: i64 = 56;

impl Mem<'_, '_> {
    /// Type of register `r` before an access through it (NOT_INIT for invalid numbers).
    fn base_type(&self, r: u8) -> RegType {
        self.cur.cur().regs.get(r as usize).map_or(RegType::NotInit, |r| r.ty)
    }

    /// LDX (`check_load_mem`): the register numbers are checked in the kernel's order, then the
    /// decoded `Load` gives the access; the slot records the base pointer's type.
    pub(crate) fn check_load_mem(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        let base = self.base_type(raw.src);
        self.load_mem(raw, idx)?;
        self.aux.save_ptr_type(idx, base)
    }

    /// STX MEM (`check_store_reg`), after the walk raised the slot's reserved fields; the slot
    /// records the base pointer's type.
    pub(crate) fn check_store_reg(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        let base = self.base_type(raw.dst);
        self.store_reg(raw, idx)?;
        self.aux.save_ptr_type(idx, base)
    }

    /// ST MEM: an immediate store, after the walk raised the slot's reserved fields; the slot
    /// records the base pointer's type.
    pub(crate) fn check_store_imm(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        let base = self.base_type(raw.dst);
        self.store_imm(raw, idx)?;
        self.aux.save_ptr_type(idx, base)
    }

    fn load_mem(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        self.check_reg_arg(raw.src, RegOp::Src)?;
        self.check_reg_arg(raw.dst, RegOp::DstNoMark)?;
        let Insn::Load { size, signed, dst, src, off } = self.prog.decoded(idx)? else {
            return Err(Bug::Undecoded(idx).into());
        };
        let (base, value) = (src.num(), dst.num());
        self.check_mem_access(idx, base, off as i64, size.bytes() as i64, false, Some(value), signed)
    }

    fn store_reg(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        self.check_reg_arg(raw.src, RegOp::Src)?;
        self.check_reg_arg(raw.dst, RegOp::Src)?;
        let Insn::Store { size, dst, off, src: Src::Reg(src) } = self.prog.decoded(idx)? else {
            return Err(Bug::Undecoded(idx).into());
        };
        self.check_mem_access(idx, dst.num(), off as i64, size.bytes() as i64, true, Some(src.num()), false)
    }

    fn store_imm(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        self.check_reg_arg(raw.dst, RegOp::Src)?;
        let Insn::Store { size, dst, off, src: Src::Imm(_) } = self.prog.decoded(idx)? else {
            return Err(Bug::Undecoded(idx).into());
        };
        self.check_mem_access(idx, dst.num(), off as i64, size.bytes() as i64, true, None, false)
    }

    /// `check_mem_access`. `value` = destination register for reads, source register for
    /// register stores, `None` for immediate stores.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_mem_access(
        &mut self,
        idx: SlotIdx,
        regno: u8,
        off: i64,
        size: i64,
        write: bool,
        value: Option<u8>,
        ldsx: bool,
    ) -> Result<(), Reject> {
        let reg = self.cur.cur().regs[regno as usize].clone();
        self.check_ptr_alignment(&reg, off, size)?;
        let off = off + reg.off as i64;
        let leak_check = |env: &Mem, what: &'static str| -> Result<(), Reject> {
            if let Some(v) = value
                && write
                && !env.prog.opts.privileged
                && env.cur.cur().regs[v as usize].is_pointer()
            {
                return Err(Reject::LeaksAddr(v.into(), what));
            }
            Ok(())
        };
        match reg.ty {
            RegType::MapValue if reg.flags & MAYBE_NULL == 0 => {
                leak_check(self, "into map")?;
                self.check_map_access_type(reg.map, off, size, write)?;
                self.check_map_access(regno, &reg, off, size, false, true)?;
                let kptr = match (
                    reg.var_off.is_const(),
                    &self.maps().get(reg.map as usize).and_then(|d| d.record.clone()),
                ) {
                    (true, Some(rec)) => {
                        let at = (off as u64).wrapping_add(reg.var_off.value);
                        rec.fields.iter().find(|f| f.kind.is_kptr() && f.off as u64 == at).cloned()
                    }
                    _ => None,
                };
                if let Some(field) = kptr {
                    self.check_map_kptr_access(idx, value, &field)?;
                } else if !write && let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = match self.map_direct_read(&reg, off, size, ldsx)? {
                        Some(k) => RegState::known(k),
                        None => RegState::unknown_scalar(),
                    };
                }
            }
            RegType::MapKey => {
                if write {
                    return Err(Reject::WriteToKey(regno.into()));
                }
                let ks = self.maps().get(reg.map as usize).map_or(0, |m| m.key_size);
                self.check_mem_region_access(regno, &reg, off, size, ks, false)?;
                if let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            RegType::Mem if reg.flags & MAYBE_NULL == 0 => {
                if write && reg.flags & RDONLY != 0 {
                    return Err(Reject::RegCannotWrite(regno.into(), TypeName::new(reg.ty, reg.flags)));
                }
                leak_check(self, "into mem")?;
                self.check_mem_region_access(regno, &reg, off, size, reg.mem_size, false)?;
                if let Some(v) = value
                    && (!write || reg.flags & RDONLY != 0)
                {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            RegType::Ctx => {
                leak_check(self, "into ctx")?;
                self.check_ptr_off_reg(regno)?;
                let access =
                    CtxAccess { off, size, write, ldsx, attach: self.prog.opts.expected_attach_type };
                // a sign-extending load of a pointer field is no valid access
                let field = match self.prog.attach.is_some() {
                    true => self.btf_ctx_field(off, size, write),
                    false => self.prog.ops().ctx_access(access),
                };
                let Some(field) = field.filter(|f| !ldsx || *f == CtxField::Scalar) else {
                    return Err(Reject::CtxAccess(off, size));
                };
                if !write && let Some(v) = value {
                    let r = match field {
                        CtxField::Scalar => RegState::unknown_scalar(),
                        CtxField::Pointer(t) => RegState::pointer(t),
                        CtxField::PointerOrNull(t) => {
                            let mut r = RegState::pointer(t);
                            r.flags = MAYBE_NULL;
                            r.id = self.new_id();
                            r
                        }
                        CtxField::Btf { btf_id, flags } => self.btf_ptr(btf_id, flags),
                        CtxField::BtfNamed { name, flags } => {
                            let id = self
                                .prog
                                .opts
                                .btf
                                .as_ref()
                                .and_then(|b| b.find_by_name_kind(name, kbpf_elf::btf::Kind::Struct));
                            let Some(btf_id) = id else {
                                return Err(Reject::Unsupported(crate::messages::Unsupported::Feature(
                                    "a context pointer to a struct missing from the target BTF",
                                )));
                            };
                            self.btf_ptr(btf_id, flags)
                        }
                        CtxField::Unmodelled(what) => {
                            return Err(Reject::Unsupported(crate::messages::Unsupported::Feature(what)));
                        }
                    };
                    self.cur.cur_mut().regs[v as usize] = r;
                }
            }
            RegType::Stack => {
                self.check_stack_access_within_bounds(regno, &reg, off, size, write)?;
                if write {
                    self.check_stack_write(idx, regno, &reg, off, size, value)?;
                } else {
                    self.check_stack_read(regno, &reg, off, size, value)?;
                }
            }
            RegType::FlowKeys => {
                leak_check(self, "into flow keys")?;
                // check_flow_keys_access: only the fixed offset counts
                if off < 0 || off + size > FLOW_KEYS_SIZE {
                    return Err(Reject::FlowKeysAccess(off, size));
                }
                if !write && let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            RegType::Packet | RegType::PacketMeta => {
                if write && !self.prog.ops().may_write_packet() {
                    return Err(Reject::CannotWrite("packet"));
                }
                leak_check(self, "into packet")?;
                self.check_packet_access(regno, &reg, off, size, false)?;
                if !write && let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            RegType::TpBuffer => {
                // check_tp_buffer_access: how far the program reaches is checked against the
                // tracepoint when it is attached
                if off < 0 {
                    return Err(Reject::TpBufferAccess(regno.into(), off, size));
                }
                if !reg.var_off.is_const() || reg.var_off.value != 0 {
                    return Err(Reject::BufferVarOff(regno.into(), off, reg.var_off.to_string()));
                }
                if !write && let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            _ if reg.is_sk_pointer() && reg.flags & MAYBE_NULL == 0 => {
                if write {
                    return Err(Reject::RegCannotWrite(regno.into(), TypeName::new(reg.ty, reg.flags)));
                }
                self.check_sock_access(regno, &reg, off, size)?;
                if let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            RegType::BtfId if reg.flags & MAYBE_NULL == 0 => {
                self.check_ptr_to_btf_access(regno, &reg, off, size, write, value)?;
            }
            RegType::ConstMapPtr if reg.flags & MAYBE_NULL == 0 => {
                self.check_ptr_to_map_access(regno, &reg, off, size, write, value)?;
            }
            _ => return Err(Reject::InvalidMemAccess(regno.into(), TypeName::new(reg.ty, reg.flags))),
        }
        if !write
            && let Some(v) = value
            && size < 8
        {
            let r = &mut self.cur.cur_mut().regs[v as usize];
            if r.ty == RegType::Scalar {
                if ldsx {
                    // a fill that may set the narrow sign bit changes the value: it is no
                    // longer the spilled register's (the same rule as `movsx`)
                    if r.b64.umax >= 1u64 << (size * 8 - 1) {
                        r.id = 0;
                    }
                    r.coerce_to_size_sx(size as u8);
                } else {
                    r.coerce_to_size(size as u8);
                }
            }
        }
        Ok(())
    }

    /// `check_ptr_alignment` with `strict_alignment_once` (atomic instructions): every pointer
    /// kind must be aligned to the access size; packets count the 2-byte `NET_IP_ALIGN`.
    pub(super) fn check_strict_alignment(&self, regno: u8, off: i64, size: i64) -> Result<(), Reject> {
        let reg = &self.cur.cur().regs[regno as usize];
        if size == 1 || reg.ty == RegType::Stack {
            return Ok(()); // stack: checked (always strictly) by check_mem_access itself
        }
        let short = tnum_short(reg.var_off);
        if reg.is_pkt_pointer() {
            let at = reg.var_off.add(Tnum::konst((2 + reg.off as i64 + off) as u64));
            if !at.is_aligned(size as u64) {
                return Err(Reject::MisalignedPacket(2, short, reg.off, off, size));
            }
            return Ok(());
        }
        let desc = match reg.ty {
            RegType::MapValue => "value ",
            RegType::Ctx => "context ",
            RegType::Sock => "sock ",
            RegType::SockCommon => "sock_common ",
            RegType::TcpSock => "tcp_sock ",
            _ => "",
        };
        let at = reg.var_off.add(Tnum::konst((reg.off as i64 + off) as u64));
        if !at.is_aligned(size as u64) {
            return Err(Reject::Misaligned(desc, short, reg.off, off as i32, size));
        }
        Ok(())
    }

    /// Stack accesses must be aligned; other pointers are not strict on x86.
    fn check_ptr_alignment(&self, reg: &RegState, off: i64, size: i64) -> Result<(), Reject> {
        if reg.ty != RegType::Stack || size == 1 {
            return Ok(());
        }
        let reg_off = reg.var_off.add(Tnum::konst((reg.off as i64 + off) as u64));
        if !reg_off.is_aligned(size as u64) {
            return Err(Reject::Misaligned("stack ", tnum_short(reg.var_off), reg.off, off as i32, size));
        }
        Ok(())
    }

    /// `check_mem_region_access`.
    pub(crate) fn check_mem_region_access(
        &self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        mem_size: u32,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        if reg.b64.smin < 0
            && (reg.b64.smin == i64::MIN
                || off.wrapping_add(reg.b64.smin) != off.wrapping_add(reg.b64.smin) as i32 as i64
                || reg.b64.smin + off < 0)
        {
            return Err(Reject::MinNegative(regno.into()));
        }
        let min = (reg.b64.smin.wrapping_add(off)) as i32 as i64;
        if let Err(e) = self.mem_access_ok(reg, min, size, mem_size, zero_ok, regno) {
            return Err(e.then(Reject::MinOutside(regno.into())));
        }
        if reg.b64.umax >= MAX_VAR_OFF as u64 {
            return Err(Reject::Unbounded(regno.into()));
        }
        let max = (reg.b64.umax as i64).wrapping_add(off) as i32 as i64;
        if let Err(e) = self.mem_access_ok(reg, max, size, mem_size, zero_ok, regno) {
            return Err(e.then(Reject::MaxOutside(regno.into())));
        }
        Ok(())
    }

    /// `__check_mem_access`: returns the first error line.
    fn mem_access_ok(
        &self,
        reg: &RegState,
        off: i64,
        size: i64,
        mem_size: u32,
        zero_ok: bool,
        regno: u8,
    ) -> Result<(), Reject> {
        let size_ok = size > 0 || (size == 0 && zero_ok);
        if off >= 0 && size_ok && off + size <= mem_size as i64 {
            return Ok(());
        }
        Err(match reg.ty {
            RegType::MapValue => Reject::MapValueAccess(mem_size, off, size),
            RegType::MapKey => Reject::MapKeyAccess(mem_size, off, size),
            RegType::Packet | RegType::PacketMeta | RegType::PacketEnd => {
                Reject::PacketAccess(off, size, regno.into(), reg.id, off, mem_size)
            }
            _ => Reject::MemAccess(mem_size, off, size),
        })
    }

    /// `check_packet_access`.
    pub(crate) fn check_packet_access(
        &self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        if reg.b64.smin < 0 {
            return Err(Reject::MinNegative(regno.into()));
        }
        if reg.range < 0 {
            return Err(Reject::PacketOutside(regno.into(), Errno::EINVAL));
        }
        if let Err(e) = self.mem_access_ok(reg, off, size, reg.range as u32, zero_ok, regno) {
            return Err(e.then(Reject::PacketOutside(regno.into(), Errno::EACCES)));
        }
        Ok(())
    }
}
