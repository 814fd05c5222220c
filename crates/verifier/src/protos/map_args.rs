//! kfunc arguments that point into map values: constant strings (`__str`, `check_reg_const_str`)
//! and `struct bpf_timer *` (`process_timer_func` / `check_map_field_pointer`); map value
//! accesses that must not touch the value's special fields (`check_map_access`).

use crate::MapKind;
use crate::domain::state::{RegState, RegType};
use crate::env::ctx::{Call, Mem};
use crate::messages::{LockReject, MapArgReject, Reject};
use kbpf_passes::Errno;

/// The kfunc arguments into map values, checked at the call.
impl Call<'_, '_> {
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
        self.mem().check_mem_region_access(regno, reg, reg.off as i64, size, def.value_size, false)?;
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

    /// `check_map_field_pointer` for `BPF_TIMER`.
    pub(crate) fn check_map_field_pointer(&self, reg: &RegState, regno: u8) -> Result<(), Reject> {
        if !reg.var_off.is_const() {
            return Err(MapArgReject::TimerVarOffset(regno.into()).into());
        }
        let def = self.maps().get(reg.map as usize).cloned().unwrap_or_default();
        let Some(field_off) = def.timer_off() else {
            return Err(MapArgReject::NoTimer(def.name).into());
        };
        let off = reg.var_off.value as i64 + reg.off as i64;
        if off != field_off as i64 {
            return Err(MapArgReject::TimerOffset { off, field: field_off }.into());
        }
        Ok(())
    }
}

/// Loads and stores into map values.
impl Mem<'_, '_> {
    /// `check_map_access`: the bytes must lie in the value, and neither a load/store nor a
    /// helper may touch the value's `struct bpf_timer`.
    pub(crate) fn check_map_access(
        &mut self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        zero_ok: bool,
        direct: bool,
    ) -> Result<(), Reject> {
        let def = self.maps().get(reg.map as usize).cloned().unwrap_or_default();
        self.check_mem_region_access(regno, reg, off, size, def.value_size, zero_ok)?;
        let Some(rec) = def.record else { return Ok(()) };
        for f in &rec.fields {
            let (p, end) = (f.off as i64, f.off as i64 + f.size as i64);
            // [smin + off, umax + off + size) overlaps [p, p + size)
            if !(reg.b64.smin.saturating_add(off) < end
                && (p as u64) < reg.b64.umax.wrapping_add((off + size) as u64))
            {
                continue;
            }
            let name = f.kind.name();
            if !f.kind.is_kptr() {
                return Err(LockReject::DirectAccess(name).into());
            }
            if !direct {
                return Err(LockReject::KptrIndirect(name).into());
            }
            if !reg.var_off.is_const() {
                return Err(LockReject::KptrVarOff(name).into());
            }
            let at = (off as u64).wrapping_add(reg.var_off.value);
            if p as u64 != at {
                return Err(LockReject::KptrMisaligned(name, f.off, at).into());
            }
            if size != 8 {
                return Err(LockReject::KptrSize(name).into());
            }
        }
        Ok(())
    }

    /// `check_map_access_type`: `BPF_F_RDONLY_PROG` maps refuse every write and
    /// `BPF_F_WRONLY_PROG` maps every read, before any bounds check. `off` is what the caller
    /// passes the kernel's function: the access offset plus the pointer's fixed offset.
    pub(crate) fn check_map_access_type(
        &self,
        map: u32,
        off: i64,
        size: i64,
        write: bool,
    ) -> Result<(), Reject> {
        let def = self.maps().get(map as usize).cloned().unwrap_or_default();
        if write && !def.prog_can_write() {
            return Err(Reject::MapWriteForbidden(def.value_size, off, size));
        }
        if !write && !def.prog_can_read() {
            return Err(Reject::MapReadForbidden(def.value_size, off, size));
        }
        Ok(())
    }

    /// `bpf_map_direct_read`: a load at a constant offset from a frozen read-only map's value
    /// reads the bytes themselves. `None` when the map is not read-only or the offset is not
    /// constant; array maps of more than one entry have no direct value address, and the
    /// kernel fails such a load with ENOTSUPP without printing anything.
    pub(crate) fn map_direct_read(
        &self,
        reg: &RegState,
        off: i64,
        size: i64,
        ldsx: bool,
    ) -> Result<Option<u64>, Reject> {
        let def = self.maps().get(reg.map as usize).cloned().unwrap_or_default();
        if !reg.var_off.is_const() || !def.is_rdonly() || def.kind != MapKind::Array {
            return Ok(None);
        }
        let map_off = off.wrapping_add(reg.var_off.value as i64);
        if def.max_entries != 1 {
            return Err(Reject::Silent(Errno::ENOTSUPP));
        }
        if map_off < 0 || map_off >= def.value_size as i64 || !matches!(size, 1 | 2 | 4 | 8) {
            return Err(Reject::Silent(Errno::EINVAL));
        }
        let data = def.initial.as_deref().unwrap_or(&[]);
        let mut bytes = [0u8; 8];
        for (i, b) in bytes.iter_mut().take(size as usize).enumerate() {
            *b = data.get(map_off as usize + i).copied().unwrap_or(0);
        }
        let raw = u64::from_le_bytes(bytes);
        let val = match (ldsx, size) {
            (true, 1) => raw as u8 as i8 as i64 as u64,
            (true, 2) => raw as u16 as i16 as i64 as u64,
            (true, 4) => raw as u32 as i32 as i64 as u64,
            _ => raw,
        };
        Ok(Some(val))
    }
}
