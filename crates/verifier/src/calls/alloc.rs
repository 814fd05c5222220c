//! Allocated objects: `bpf_obj_new_impl` / `bpf_percpu_obj_new_impl` (an object of a local
//! type of the program's BTF, `PTR_TO_BTF_ID | MEM_ALLOC`, referenced, possibly NULL),
//! `bpf_obj_drop_impl` / `bpf_percpu_obj_drop_impl` (release) and `bpf_refcount_acquire_impl`
//! (a new reference to a refcounted object).
//!
//! The kernel's `KF_ARG_PTR_TO_ALLOC_BTF_ID` and `KF_ARG_PTR_TO_REFCOUNTED_KPTR` argument
//! cases of `check_kfunc_args` and the `bpf_obj_new` return of `check_special_kfunc`. The
//! graph kfuncs are [`super::graph`]'s; kptrs holding such objects are `check::kptr`'s.

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

/// The two kinds of allocated objects, each with its own constructor and destructor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    /// `bpf_obj_new_impl` / `bpf_obj_drop_impl`.
    Plain,
    /// `bpf_percpu_obj_new_impl` / `bpf_percpu_obj_drop_impl`.
    Percpu,
}

impl Flavor {
    /// The flavour a kfunc creates or frees.
    fn of_kfunc(name: &str) -> Option<Flavor> {
        match name {
            OBJ_NEW | OBJ_DROP => Some(Flavor::Plain),
            PERCPU_OBJ_NEW | PERCPU_OBJ_DROP => Some(Flavor::Percpu),
            _ => None,
        }
    }

    /// The type flags of such an object.
    fn flags(self) -> u16 {
        match self {
            Flavor::Plain => MEM_ALLOC,
            Flavor::Percpu => MEM_ALLOC | MEM_PERCPU,
        }
    }

    /// The flavour `reg` points to: exactly its flags, no others.
    fn of_reg(reg: &RegState) -> Option<Flavor> {
        [Flavor::Plain, Flavor::Percpu]
            .into_iter()
            .find(|f| reg.ty == RegType::BtfId && reg.flags == f.flags())
    }

    /// The error for an object of this flavour passed to the other's destructor.
    fn wrong_drop(self, i: usize) -> Reject {
        match self {
            Flavor::Plain => AllocReject::ExpectedObjDrop(i).into(),
            Flavor::Percpu => AllocReject::ExpectedPercpuObjDrop(i).into(),
        }
    }
}

/// An unknown number where an object is expected: no verdict (a pointer kbpf lost track of
/// is read as a number, e.g. through a path kbpf does not model).
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

    /// What both object arguments go through first: the trust the kfunc asks for and the
    /// offset rule of `check_kfunc_arg_reg_off`.
    fn object_arg_common(&mut self, decl: &KfuncDecl, reg: &RegState, regno: u8) -> Result<(), Reject> {
        scalar_for_object(decl, reg)?;
        super::kfunc_btf::check_trusted_arg(decl, reg, regno)?;
        self.kfunc_arg_reg_off(reg, regno, decl.traits.release && reg.ref_obj_id != 0)
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
        self.object_arg_common(decl, reg, regno)?;
        let Some(have) = Flavor::of_reg(reg) else { return Err(AllocReject::ExpectedAlloc(i).into()) };
        if Flavor::of_kfunc(&decl.name) != Some(have) {
            return Err(have.wrong_drop(i));
        }
        if reg.ref_obj_id == 0 {
            return Err(AllocReject::NotReferenced.into());
        }
        Ok(reg.btf_id)
    }

    /// `KF_ARG_PTR_TO_REFCOUNTED_KPTR` (`__refcounted_kptr`): an owning or non-owning
    /// reference to an object with a `bpf_refcount`. Returns its local type id and whether
    /// the reference is owning (`meta->arg_owning_ref`).
    pub(crate) fn check_refcounted_arg(
        &mut self,
        decl: &KfuncDecl,
        i: usize,
        reg: &RegState,
        regno: u8,
    ) -> Result<(u32, bool), Reject> {
        self.object_arg_common(decl, reg, regno)?;
        if reg.ty != RegType::BtfId || reg.flags & MEM_ALLOC == 0 {
            return Err(AllocReject::NotOwningOrNonOwning(i).into());
        }
        let owning = reg.flags & NON_OWN_REF == 0;
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
        Ok((reg.btf_id, owning))
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
        let Some(flavor) = Flavor::of_kfunc(&decl.name) else {
            return Err(crate::messages::Bug::KfuncNoTypeId(decl.name.clone()).into());
        };
        let kernel = self.prog.opts.btf.clone();
        let meta = struct_meta(&btf, type_id, kernel.as_deref()).map_err(|w| unsupported(decl, w))?;
        if flavor == Flavor::Percpu {
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
        self.aux.record_struct_meta(kbpf_isa::SlotIdx::new(insn_idx), meta.map(|_| type_id))?;
        let mut r = RegState::pointer(RegType::BtfId);
        r.btf_id = type_id;
        r.flags = flavor.flags();
        Ok(self.referenced_or_null(r, decl, insn_idx))
    }

    /// r0 of `bpf_refcount_acquire_impl`: another reference to the argument's object, which
    /// cannot fail for an owning reference (the object is alive: `is_kfunc_ret_null`); a
    /// non-owning one may name an object whose count already reached zero.
    pub(crate) fn refcount_acquire_ret(
        &mut self,
        decl: &KfuncDecl,
        arg: Option<(u32, bool)>,
        insn_idx: usize,
    ) -> Result<RegState, Reject> {
        let Some((type_id, owning)) = arg else {
            return Err(crate::messages::Bug::KfuncNoRecord(decl.name.clone()).into());
        };
        let mut r = RegState::pointer(RegType::BtfId);
        r.btf_id = type_id;
        r.flags = MEM_ALLOC;
        let decl = KfuncDecl { ret_null: decl.ret_null && !owning, ..decl.clone() };
        Ok(self.referenced_or_null(r, &decl, insn_idx))
    }

    /// `insn_aux->kptr_struct_meta` of the allocation kfunc call at `insn_idx` for the local
    /// type `type_id`: the same on every path.
    pub(crate) fn record_struct_meta(
        &mut self,
        decl: &KfuncDecl,
        type_id: u32,
        insn_idx: usize,
    ) -> Result<(), Reject> {
        let Some(btf) = self.prog.opts.prog_btf.clone() else {
            return Err(crate::messages::Bug::KfuncNoProgBtf(decl.name.clone()).into());
        };
        let kernel = self.prog.opts.btf.clone();
        let meta = struct_meta(&btf, type_id, kernel.as_deref()).map_err(|w| unsupported(decl, w))?;
        self.aux.record_struct_meta(kbpf_isa::SlotIdx::new(insn_idx), meta.map(|_| type_id))
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
