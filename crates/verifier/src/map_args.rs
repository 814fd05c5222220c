//! kfunc arguments that point into map values: constant strings (`__str`, `check_reg_const_str`)
//! and `struct bpf_timer *` (`process_timer_func` / `check_map_field_pointer`); map value
//! accesses that must not touch the value's special fields (`check_map_access`).

use crate::MapKind;
use crate::do_check::Env;
use crate::messages::{MapArgReject, Reject};
use crate::state::{RegState, RegType};
use kbpf_passes::Errno;

impl Env<'_> {
    /// `KF_ARG_PTR_TO_CONST_STR`: a constant offset into a read-only, frozen array map whose
    /// value holds a NUL before its end.
    pub(crate) fn check_reg_const_str(
        &mut self,
        reg: &RegState,
        regno: u8,
        argno: usize,
    ) -> Result<(), Reject> {
        if reg.ty != RegType::MapValue {
            return Err(MapArgReject::NotConstStr(argno).into());
        }
        let def = self.maps().get(reg.map as usize).cloned().unwrap_or_default();
        if !def.is_rdonly() {
            return Err(MapArgReject::NotReadonlyMap(regno.into()).into());
        }
        if !reg.var_off.is_const() {
            return Err(MapArgReject::NotConstAddr(regno.into()).into());
        }
        if def.kind != MapKind::Array {
            return Err(MapArgReject::NoDirectValueAccess.into());
        }
        let size = def.value_size as i64 - reg.off as i64;
        self.check_mem_region_access(regno, reg, reg.off as i64, size, def.value_size, false)?;
        let map_off = reg.off as i64 + reg.var_off.value as i64;
        // array_map_direct_value_addr
        if def.max_entries != 1 {
            return Err(MapArgReject::DirectValueAccess(Errno::ENOTSUPP).into());
        }
        if map_off >= def.value_size as i64 {
            return Err(MapArgReject::DirectValueAccess(Errno::EINVAL).into());
        }
        let value = def.initial.clone().unwrap_or_default();
        let terminated =
            (map_off as usize..def.value_size as usize).any(|i| value.get(i).copied().unwrap_or(0) == 0);
        if !terminated {
            return Err(MapArgReject::NotZeroTerminated.into());
        }
        Ok(())
    }

    /// `KF_ARG_PTR_TO_TIMER`: a map value pointer at exactly the value's `struct bpf_timer`.
    pub(crate) fn process_timer_kfunc(
        &mut self,
        reg: &RegState,
        regno: u8,
        argno: usize,
    ) -> Result<(), Reject> {
        if reg.ty != RegType::MapValue {
            return Err(MapArgReject::NotMapValue(argno).into());
        }
        self.check_map_field_pointer(reg, regno)
    }

    /// `check_map_access`: the bytes must lie in the value, and neither a load/store nor a
    /// helper may touch the value's `struct bpf_timer`.
    pub(crate) fn check_map_access(
        &mut self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        let def = self.maps().get(reg.map as usize).cloned().unwrap_or_default();
        self.check_mem_region_access(regno, reg, off, size, def.value_size, zero_ok)?;
        if let Some(p) = def.timer_off {
            let (p, end) = (p as i64, p as i64 + 16);
            // [smin + off, umax + off + size) overlaps [p, p + 16)
            if reg.smin.saturating_add(off) < end && (p as u64) < reg.umax.wrapping_add((off + size) as u64) {
                return Err(MapArgReject::TimerDirectAccess.into());
            }
        }
        Ok(())
    }

    /// `check_map_field_pointer` for `BPF_TIMER`.
    pub(crate) fn check_map_field_pointer(&self, reg: &RegState, regno: u8) -> Result<(), Reject> {
        if !reg.var_off.is_const() {
            return Err(MapArgReject::TimerVarOffset(regno.into()).into());
        }
        let def = self.maps().get(reg.map as usize).cloned().unwrap_or_default();
        let Some(field_off) = def.timer_off else {
            return Err(MapArgReject::NoTimer(def.name).into());
        };
        let off = reg.var_off.value as i64 + reg.off as i64;
        if off != field_off as i64 {
            return Err(MapArgReject::TimerOffset { off, field: field_off }.into());
        }
        Ok(())
    }
}
