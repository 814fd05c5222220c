//! Dynptrs on the stack (`STACK_DYNPTR`): two whole slots per `struct bpf_dynptr`, created by
//! constructors (`bpf_dynptr_from_mem`, `bpf_dynptr_from_skb`, ...) on uninitialized stack and
//! consumed by functions that take an initialized dynptr. Overwriting either slot (a store, a
//! new constructor) destroys the whole dynptr unless it holds a reference (ring buffer).
//!
//! Slices (`bpf_dynptr_data`, `bpf_dynptr_slice*`) carry the dynptr's id and are invalidated
//! with it; skb/xdp slices are packet memory (`DYNPTR_PKT`). A `CONST_PTR_TO_DYNPTR` (the
//! argument of a `bpf_user_ringbuf_drain` callback or of a global function) is an initialized
//! dynptr by itself, which may be read but not rebuilt or released.
//!
//! The kernel's `stack_slot_obj_get_spi`, `is_dynptr_reg_valid_{uninit,init}`,
//! `mark_stack_slots_dynptr`, `destroy_if_dynptr_stack_slot` and `process_dynptr_func`.

use crate::domain::state::{DynptrType, RegState, RegType, SLOT, SlotType, StackObj};
use crate::env::ctx::Call;
use crate::messages::{Bug, KfuncReject, Reject};

/// `BPF_DYNPTR_NR_SLOTS`.
pub(crate) const DYNPTR_NR_SLOTS: usize = 2;

/// Where a stack object argument lies (`stack_slot_obj_get_spi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjSpi {
    /// The object's first (highest-numbered) slot, inside the allocated stack.
    At(usize),
    /// Well placed, but beyond the stack allocated so far (`-ERANGE`).
    Range,
}

/// What a dynptr parameter expects (`ARG_PTR_TO_DYNPTR` with its `MEM_UNINIT` and
/// `DYNPTR_TYPE_*` flags; `MEM_RDONLY` only matters for `CONST_PTR_TO_DYNPTR`, not modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct DynptrArg {
    /// Constructor: the slots must not hold a dynptr yet.
    pub uninit: bool,
    /// Type the constructor creates, or the type required (`None`: any).
    pub ty: Option<DynptrType>,
    /// `bpf_dynptr_clone`: the clone shares the parent's reference instead of acquiring one.
    pub clone_ref_obj_id: u32,
}

/// `line` (if any) printed before `last`.
pub(crate) fn after(line: Option<KfuncReject>, last: KfuncReject) -> Reject {
    match line {
        Some(l) => Reject::from(l).then(last.into()),
        None => last.into(),
    }
}

impl Call<'_, '_> {
    /// `stack_slot_obj_get_spi`: `Err` carries the verbose line the kernel prints.
    pub(crate) fn stack_slot_obj_get_spi(
        &self,
        reg: &RegState,
        kind: &'static str,
        nr_slots: usize,
    ) -> Result<ObjSpi, KfuncReject> {
        if !reg.var_off.is_const() {
            return Err(KfuncReject::ObjVarOffset(kind));
        }
        let off = reg.off as i64 + reg.var_off.value as i64;
        if off % SLOT as i64 != 0 {
            return Err(KfuncReject::ObjOffset(kind, off));
        }
        let spi = (-off - 1).div_euclid(SLOT as i64);
        if spi + 1 < nr_slots as i64 {
            return Err(KfuncReject::ObjOffset(kind, off));
        }
        let allocated = self.cur.frames.get(reg.frameno as usize).map_or(0, |f| f.stack.len()) as i64;
        if spi - nr_slots as i64 + 1 < 0 || spi >= allocated {
            return Ok(ObjSpi::Range);
        }
        Ok(ObjSpi::At(spi as usize))
    }

    /// `destroy_if_dynptr_stack_slot`: a write to slot `spi` of `frame` wipes the dynptr that
    /// occupies it (both slots) and invalidates its slices.
    pub(crate) fn destroy_if_dynptr_stack_slot(&mut self, frame: usize, spi: usize) -> Result<(), Reject> {
        let Some(f) = self.cur.frames.get(frame) else { return Ok(()) };
        let Some(slot) = f.stack.get(spi) else { return Ok(()) };
        if slot.types[0] != SlotType::Dynptr {
            return Ok(());
        }
        let first = match slot.spilled.obj {
            StackObj::Dynptr { first_slot: true, .. } => spi,
            _ => spi + 1,
        };
        let (ty, id) = match f.stack.get(first).map(|s| (&s.spilled.obj, s.spilled.id)) {
            Some((StackObj::Dynptr { ty, .. }, id)) => (*ty, id),
            _ => return Err(Bug::DynptrNoFirstSlot.into()),
        };
        if first == 0 {
            return Err(Bug::DynptrFirstSlotZero.into());
        }
        if ty.refcounted() {
            return Err(KfuncReject::OverwriteRefDynptr.into());
        }
        self.log.scratch_stack(first);
        self.log.scratch_stack(first - 1);
        self.live_write(frame, 3 << (first - 1));
        let f = &mut self.cur.frames[frame];
        for s in [first, first - 1] {
            f.stack[s].types = [SlotType::Invalid; SLOT];
            f.stack[s].spilled = RegState::not_init();
        }
        // slices of this dynptr die with it (mark_reg_invalid: unknown for a privileged loader)
        let privileged = self.prog.opts.privileged;
        let dead = |r: &RegState| r.ty == RegType::Mem && r.dynptr_id == id;
        let invalid = || if privileged { RegState::unknown_scalar() } else { RegState::not_init() };
        for fr in self.cur.frames.iter_mut() {
            for r in fr.regs.iter_mut().chain(fr.stack_args.iter_mut()) {
                if dead(r) {
                    *r = invalid();
                }
            }
            for s in fr.stack.iter_mut() {
                if s.is_spill() && dead(&s.spilled) {
                    s.spilled = invalid();
                }
            }
        }
        Ok(())
    }

    /// `is_dynptr_reg_valid_uninit` (`Err`: the kernel's verbose line before the refusal).
    fn is_dynptr_reg_valid_uninit(&self, reg: &RegState) -> Result<(), Option<KfuncReject>> {
        match self.stack_slot_obj_get_spi(reg, "dynptr", DYNPTR_NR_SLOTS) {
            Ok(_) => Ok(()),
            Err(line) => Err(Some(line)),
        }
    }

    /// `is_dynptr_reg_valid_init`: the dynptr's first slot and both slots fully `STACK_DYNPTR`.
    fn is_dynptr_reg_valid_init(&self, reg: &RegState) -> Result<usize, Option<KfuncReject>> {
        let spi = match self.stack_slot_obj_get_spi(reg, "dynptr", DYNPTR_NR_SLOTS) {
            Ok(ObjSpi::At(spi)) => spi,
            Ok(ObjSpi::Range) => return Err(None),
            Err(line) => return Err(Some(line)),
        };
        let f = &self.cur.frames[reg.frameno as usize];
        if !matches!(f.stack[spi].spilled.obj, StackObj::Dynptr { first_slot: true, .. }) {
            return Err(None);
        }
        let whole = |s: usize| f.stack[s].types.iter().all(|t| *t == SlotType::Dynptr);
        if !whole(spi) || !whole(spi - 1) {
            return Err(None);
        }
        Ok(spi)
    }

    /// `unmark_stack_slots_dynptr`: a release helper ends the dynptr; a referenced one takes
    /// its reference, its slices and its clones with it.
    pub(crate) fn unmark_stack_slots_dynptr(&mut self, reg: &RegState) -> Result<(), Reject> {
        let spi = match self.stack_slot_obj_get_spi(reg, "dynptr", DYNPTR_NR_SLOTS) {
            Ok(ObjSpi::At(spi)) => spi,
            _ => return Err(KfuncReject::ReleaseDynptrNotOnStack.into()),
        };
        let frame = reg.frameno as usize;
        let (ty, ref_obj_id) = match &self.cur.frames[frame].stack[spi].spilled {
            r @ RegState { obj: StackObj::Dynptr { ty, .. }, .. } => (*ty, r.ref_obj_id),
            _ => return Err(KfuncReject::NoDynptrToRelease.into()),
        };
        if !ty.refcounted() {
            self.invalidate_dynptr(frame, spi);
            return Ok(());
        }
        self.release_reference(ref_obj_id);
        let clones: Vec<usize> = self.cur.frames[frame]
            .stack
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.types[0] == SlotType::Dynptr
                    && s.spilled.ref_obj_id == ref_obj_id
                    && matches!(s.spilled.obj, StackObj::Dynptr { first_slot: true, .. })
            })
            .map(|(i, _)| i)
            .collect();
        for i in clones {
            self.invalidate_dynptr(frame, i);
        }
        Ok(())
    }

    /// `invalidate_dynptr`: both slots of the dynptr whose first slot is `spi` become invalid.
    fn invalidate_dynptr(&mut self, frame: usize, spi: usize) {
        if spi == 0 {
            return;
        }
        let f = &mut self.cur.frames[frame];
        for s in [spi, spi - 1] {
            f.stack[s].types = [SlotType::Invalid; SLOT];
            f.stack[s].spilled = RegState::not_init();
        }
        self.log.scratch_stack(spi);
        self.log.scratch_stack(spi - 1);
        self.live_write(frame, 3 << (spi - 1));
    }

    /// (type, id, ref_obj_id) of the initialized dynptr `reg` points to.
    pub(crate) fn dynptr_info(&self, reg: &RegState) -> Option<(DynptrType, u32, u32)> {
        if let (RegType::ConstDynptr, StackObj::Dynptr { ty, .. }) = (reg.ty, &reg.obj) {
            return Some((*ty, reg.id, reg.ref_obj_id));
        }
        let spi = self.is_dynptr_reg_valid_init(reg).ok()?;
        let s = &self.cur.frames[reg.frameno as usize].stack[spi].spilled;
        match s.obj {
            StackObj::Dynptr { ty, .. } => Some((ty, s.id, s.ref_obj_id)),
            _ => None,
        }
    }

    /// (id, ref_obj_id) of the initialized dynptr `reg` points to.
    pub(crate) fn dynptr_ids(&self, reg: &RegState) -> Option<(u32, u32)> {
        if reg.ty == RegType::ConstDynptr {
            return Some((reg.id, reg.ref_obj_id));
        }
        let spi = self.is_dynptr_reg_valid_init(reg).ok()?;
        let s = &self.cur.frames[reg.frameno as usize].stack[spi].spilled;
        Some((s.id, s.ref_obj_id))
    }

    /// One 8-byte unknown-data write of the constructor (`check_mem_access(.., BPF_DW,
    /// BPF_WRITE, -1)` on a stack slot): destroys a dynptr there and scrubs spills and
    /// iterator bytes to `STACK_MISC`.
    fn dynptr_init_write(&mut self, frame: usize, spi: usize) -> Result<(), Reject> {
        self.destroy_if_dynptr_stack_slot(frame, spi)?;
        self.live_write(frame, 1 << spi);
        self.log.scratch_stack(spi);
        if let Some(s) = self.cur.frames.get_mut(frame).and_then(|f| f.stack.get_mut(spi)) {
            s.spilled = RegState::not_init();
            s.types = [SlotType::Misc; SLOT];
        }
        Ok(())
    }

    /// `mark_stack_slots_dynptr`.
    fn mark_stack_slots_dynptr(
        &mut self,
        reg: &RegState,
        ty: DynptrType,
        insn_idx: usize,
        clone_ref_obj_id: u32,
    ) -> Result<(), Reject> {
        let spi = match self.stack_slot_obj_get_spi(reg, "dynptr", DYNPTR_NR_SLOTS) {
            Ok(ObjSpi::At(spi)) => spi,
            Ok(ObjSpi::Range) => return Err(Bug::DynptrBeyondStack.into()),
            Err(line) => return Err(line.into()),
        };
        let frame = reg.frameno as usize;
        self.destroy_if_dynptr_stack_slot(frame, spi)?;
        self.destroy_if_dynptr_stack_slot(frame, spi - 1)?;
        let id = self.new_id();
        let ref_obj_id = match (ty.refcounted(), clone_ref_obj_id) {
            (false, _) => 0,
            (true, 0) => self.acquire_reference(insn_idx),
            (true, id) => id,
        };
        let f = &mut self.cur.frames[frame];
        for (s, first_slot) in [(spi, true), (spi - 1, false)] {
            let mut r = RegState::known(0);
            r.ty = RegType::Scalar;
            r.id = id;
            r.ref_obj_id = ref_obj_id;
            r.obj = StackObj::Dynptr { ty, first_slot };
            f.stack[s].spilled = r;
            f.stack[s].types = [SlotType::Dynptr; SLOT];
        }
        self.live_write(frame, 3 << (spi - 1));
        self.log.scratch_stack(spi);
        self.log.scratch_stack(spi - 1);
        Ok(())
    }

    /// `process_dynptr_func`: argument `argno` (0-based; `regno` names it in stack messages)
    /// is a dynptr pointer `reg`.
    pub(crate) fn process_dynptr_func(
        &mut self,
        reg: &RegState,
        regno: u8,
        argno: usize,
        want: DynptrArg,
        insn_idx: usize,
    ) -> Result<(), Reject> {
        if reg.ty == RegType::ConstDynptr {
            // already the first slot of an initialized dynptr, never a constructor's target
            if want.uninit {
                return Err(KfuncReject::DynptrNotUninit.into());
            }
            let have = self.dynptr_info(reg).map(|(t, ..)| t);
            return match want.ty {
                Some(t) if have != Some(t) => Err(KfuncReject::DynptrType(t.as_str(), argno).into()),
                _ => Ok(()),
            };
        }
        if reg.ty != RegType::Stack {
            return Err(KfuncReject::DynptrNotStack(argno).into());
        }
        if want.uninit {
            if let Err(line) = self.is_dynptr_reg_valid_uninit(reg) {
                return Err(after(line, KfuncReject::DynptrNotUninit));
            }
            for i in (0..16).step_by(SLOT) {
                self.mem().check_stack_access_within_bounds(
                    regno,
                    reg,
                    reg.off as i64 + i,
                    SLOT as i64,
                    true,
                )?;
                let off = reg.off as i64 + reg.var_off.value as i64 + i;
                let spi = ((-off - 1) / SLOT as i64) as usize;
                self.dynptr_init_write(reg.frameno as usize, spi)?;
            }
            let ty = want.ty.ok_or(Reject::Bug(Bug::DynptrCtorNoType))?;
            return self.mark_stack_slots_dynptr(reg, ty, insn_idx, want.clone_ref_obj_id);
        }
        let spi = match self.is_dynptr_reg_valid_init(reg) {
            Ok(spi) => spi,
            Err(line) => {
                return Err(after(line, KfuncReject::DynptrNotInit(argno)));
            }
        };
        // mark_dynptr_read
        self.live_read(reg.frameno as usize, 1 << spi);
        self.live_read(reg.frameno as usize, 1 << (spi - 1));
        self.log.scratch_stack(spi);
        self.log.scratch_stack(spi - 1);
        if let Some(t) = want.ty {
            let have = match self.cur.frames[reg.frameno as usize].stack[spi].spilled.obj {
                StackObj::Dynptr { ty, .. } => ty,
                _ => return Err(Bug::DynptrSlotNoType.into()),
            };
            if have != t {
                return Err(KfuncReject::DynptrType(t.as_str(), argno).into());
            }
        }
        Ok(())
    }
}

impl Call<'_, '_> {
    /// Helper memory on the stack over dynptr / iterator bytes (`check_stack_range_initialized`):
    /// a helper may not write a dynptr's bytes (`raw_mode`) nor read special slots as data.
    pub(crate) fn check_stack_range_special(
        &self,
        regno: u8,
        reg: &RegState,
        size: i64,
        write: bool,
    ) -> Result<(), Reject> {
        let (min_off, max_off) = if reg.var_off.is_const() {
            let m = reg.var_off.value as i64 + reg.off as i64;
            (m, m)
        } else {
            (reg.b64.smin + reg.off as i64, reg.b64.smax + reg.off as i64)
        };
        let Some(f) = self.cur.frames.get(reg.frameno as usize) else { return Ok(()) };
        for i in min_off..max_off + size {
            let slot = (-i - 1) as usize;
            let Some(t) = f.stack.get(slot / SLOT).map(|s| s.types[slot % SLOT]) else { continue };
            if write && t == SlotType::Dynptr {
                return Err(KfuncReject::DynptrWrite(i).into());
            }
            if !write && matches!(t, SlotType::Dynptr | SlotType::Iter) && reg.var_off.is_const() {
                return Err(Reject::InvalidStackReadReg(regno.into(), min_off, i - min_off, size));
            }
        }
        Ok(())
    }
}
