//! Allocated objects: `bpf_obj_new_impl` / `bpf_percpu_obj_new_impl` (an object of a local
//! type of the program's BTF, `PTR_TO_BTF_ID | MEM_ALLOC`, referenced, possibly NULL),
//! `bpf_obj_drop_impl` / `bpf_percpu_obj_drop_impl` (release) and `bpf_refcount_acquire_impl`
//! (a new reference to a refcounted object).
//!
//! The kernel's `KF_ARG_PTR_TO_ALLOC_BTF_ID` and `KF_ARG_PTR_TO_REFCOUNTED_KPTR` argument
//! cases of `check_kfunc_args` and the `bpf_obj_new` return of `check_special_kfunc`. The
//! graph kfuncs (lists, rbtrees) and `bpf_spin_lock` are not modelled: an object may carry
//! such fields because every use of them is refused (directly, or as unsupported).

use crate::btf::local::{is_scalar_struct, struct_meta};
use crate::btf::record::FieldKind;
use crate::domain::state::{MAYBE_NULL, MEM_ALLOC, MEM_PERCPU, NON_OWN_REF, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::alloc::PERCPU_OBJ_MAX_SIZE;
use crate::messages::{AllocReject, CallReject, Reject, TypeName, Unsupported};
use crate::protos::func_info::KfuncDecl;
use kbpf_elf::btf::BtfType;

/// `bpf_obj_new_impl`.
pub(crate) const OBJ_NEW: &str = "bpf_obj_new_impl";
/// `bpf_percpu_obj_new_impl`.
pub(crate) const PERCPU_OBJ_NEW: &str = "bpf_percpu_obj_new_impl";
/// `bpf_obj_drop_impl`.
pub(crate) const OBJ_DROP: &str = "bpf_obj_drop_impl";
/// `bpf_percpu_obj_drop_impl`.
pub(crate) const PERCPU_OBJ_DROP: &str = "bpf_percpu_obj_drop_impl";
/// `bpf_refcount_acquire_impl`.
pub(crate) const REFCOUNT_ACQUIRE: &str = "bpf_refcount_acquire_impl";

fn unsupported(decl: &KfuncDecl, why: &str) -> Reject {
    Unsupported::TargetKfuncRule { kfunc: decl.name.clone(), why: why.to_string() }.into()
}

/// An unknown number where an object is expected: most likely a kptr loaded from a map value,
/// which kbpf still reads as a scalar (kptr fields are not modelled), so no verdict.
fn scalar_for_object(decl: &KfuncDecl, reg: &RegState) -> Result<(), Reject> {
    if reg.ty == RegType::Scalar && !reg.var_off.is_const() {
        return Err(unsupported(decl, "an unknown scalar for an allocated object (a kptr load?)"));
    }
    Ok(())
}

impl Call<'_, '_> {
    /// `check_func_arg_reg_off` for an object argument of a kfunc: a released one must point
    /// at its start; map values, memory and scalars may carry any offset (the argument's own
    /// checks follow), BTF pointers a fixed one, anything else none.
    pub(crate) fn kfunc_arg_reg_off(&self, reg: &RegState, regno: u8, release: bool) -> Result<(), Reject> {
        if release && reg.off != 0 {
            return Err(CallReject::ReleaseOffset(regno.into()).into());
        }
        let fixed_off_ok = match reg.ty {
            RegType::MapValue
            | RegType::MapKey
            | RegType::Stack
            | RegType::Packet
            | RegType::PacketMeta
            | RegType::Mem
            | RegType::Scalar => return Ok(()),
            RegType::BtfId => true,
            _ => false,
        };
        let ty = TypeName::new(reg.ty, reg.flags);
        if reg.off < 0 {
            return Err(Reject::NegativeOffsetPtr(ty, regno.into(), reg.off));
        }
        if !fixed_off_ok && reg.off != 0 {
            return Err(Reject::ModifiedPtr(ty, regno.into(), reg.off));
        }
        if !reg.var_off.is_const() || reg.var_off.value != 0 {
            return Err(Reject::VarCtxAccess(ty, reg.var_off.to_string()));
        }
        Ok(())
    }

    /// `KF_ARG_PTR_TO_ALLOC_BTF_ID` (`__alloc`): the object `bpf_obj_drop_impl` or
    /// `bpf_percpu_obj_drop_impl` frees. Returns its local type id.
    pub(crate) fn check_alloc_obj_arg(
        &mut self,
        decl: &KfuncDecl,
        i: usize,
        reg: &RegState,
        regno: u8,
    ) -> Result<u32, Reject> {
        scalar_for_object(decl, reg)?;
        super::kfunc_btf::check_trusted_arg(decl, reg, regno)?;
        self.kfunc_arg_reg_off(reg, regno, decl.traits.release && reg.ref_obj_id != 0)?;
        let name = decl.name.as_str();
        if reg.ty == RegType::BtfId && reg.flags == MEM_ALLOC {
            if name != OBJ_DROP {
                return Err(AllocReject::ExpectedObjDrop(i).into());
            }
        } else if reg.ty == RegType::BtfId && reg.flags == MEM_ALLOC | MEM_PERCPU {
            if name != PERCPU_OBJ_DROP {
                return Err(AllocReject::ExpectedPercpuObjDrop(i).into());
            }
        } else {
            return Err(AllocReject::ExpectedAlloc(i).into());
        }
        if reg.ref_obj_id == 0 {
            return Err(AllocReject::NotReferenced.into());
        }
        Ok(reg.btf_id)
    }

    /// `KF_ARG_PTR_TO_REFCOUNTED_KPTR` (`__refcounted_kptr`): an owning or non-owning
    /// reference to an object with a `bpf_refcount`. Returns its local type id.
    pub(crate) fn check_refcounted_arg(
        &mut self,
        decl: &KfuncDecl,
        i: usize,
        reg: &RegState,
        regno: u8,
    ) -> Result<u32, Reject> {
        scalar_for_object(decl, reg)?;
        super::kfunc_btf::check_trusted_arg(decl, reg, regno)?;
        self.kfunc_arg_reg_off(reg, regno, decl.traits.release && reg.ref_obj_id != 0)?;
        if reg.ty != RegType::BtfId || reg.flags & MEM_ALLOC == 0 {
            return Err(AllocReject::NotOwningOrNonOwning(i).into());
        }
        if reg.flags & NON_OWN_REF != 0 {
            return Err(unsupported(decl, "a non-owning reference"));
        }
        let Some(btf) = self.prog.opts.prog_btf.clone() else {
            return Err(crate::messages::Bug::KfuncNoProgBtf(decl.name.clone()).into());
        };
        let kernel = self.prog.opts.btf.clone();
        let rec = struct_meta(&btf, reg.btf_id, kernel.as_deref()).map_err(|w| unsupported(decl, w))?;
        let Some(rec) = rec else {
            return Err(crate::messages::Bug::KfuncNoRecord(decl.name.clone()).into());
        };
        if !rec.has(FieldKind::Refcount) {
            return Err(AllocReject::NoRefcount(i).into());
        }
        Ok(reg.btf_id)
    }

    /// r0 of `bpf_obj_new_impl` / `bpf_percpu_obj_new_impl(local_type_id__k, ...)`.
    pub(crate) fn obj_new_ret(
        &mut self,
        decl: &KfuncDecl,
        type_id: Option<u64>,
        insn_idx: usize,
    ) -> Result<RegState, Reject> {
        let Some(type_id) = type_id else {
            return Err(crate::messages::Bug::KfuncNoTypeId(decl.name.clone()).into());
        };
        let type_id = u32::try_from(type_id).map_err(|_| AllocReject::TypeIdRange)?;
        let Some(btf) = self.prog.opts.prog_btf.clone() else {
            return Err(AllocReject::NoProgBtf.into());
        };
        // `__btf_type_is_struct`: a struct, modifiers not skipped (no union, no typedef)
        let size = match btf.get(type_id) {
            Some(BtfType::Struct { size, .. }) => *size,
            _ => return Err(AllocReject::NotStruct.into()),
        };
        let percpu = decl.name == PERCPU_OBJ_NEW;
        let kernel = self.prog.opts.btf.clone();
        let meta = struct_meta(&btf, type_id, kernel.as_deref()).map_err(|w| unsupported(decl, w))?;
        if percpu {
            if size > PERCPU_OBJ_MAX_SIZE {
                return Err(AllocReject::PercpuTooBig(size).into());
            }
            if !is_scalar_struct(&btf, type_id, 0) {
                return Err(AllocReject::PercpuNotScalars.into());
            }
            if meta.is_some() {
                return Err(AllocReject::PercpuSpecialFields.into());
            }
        }
        let mut r = RegState::pointer(RegType::BtfId);
        r.btf_id = type_id;
        r.flags = MEM_ALLOC | if percpu { MEM_PERCPU } else { 0 };
        Ok(self.referenced_or_null(r, decl, insn_idx))
    }

    /// r0 of `bpf_refcount_acquire_impl`: another reference to the argument's object, which
    /// cannot fail for an owning reference (the object is alive: `is_kfunc_ret_null`).
    pub(crate) fn refcount_acquire_ret(
        &mut self,
        decl: &KfuncDecl,
        type_id: Option<u32>,
        insn_idx: usize,
    ) -> Result<RegState, Reject> {
        let Some(type_id) = type_id else {
            return Err(crate::messages::Bug::KfuncNoRecord(decl.name.clone()).into());
        };
        let mut r = RegState::pointer(RegType::BtfId);
        r.btf_id = type_id;
        r.flags = MEM_ALLOC;
        // only owning references reach here (non-owning ones are refused as unsupported)
        let owning = KfuncDecl { ret_null: false, ..decl.clone() };
        Ok(self.referenced_or_null(r, &owning, insn_idx))
    }

    /// `KF_RET_NULL` then `KF_ACQUIRE` on r0, as `check_kfunc_call` marks them.
    fn referenced_or_null(&mut self, mut r: RegState, decl: &KfuncDecl, insn_idx: usize) -> RegState {
        if decl.ret_null {
            r.flags |= MAYBE_NULL;
            r.id = self.new_id();
        }
        if decl.traits.acquire {
            let id = self.acquire_reference(insn_idx);
            if decl.ret_null {
                r.id = id;
            }
            r.ref_obj_id = id;
        }
        r
    }
}
