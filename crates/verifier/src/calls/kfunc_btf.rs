//! Kernel objects through kfuncs: `KF_ARG_PTR_TO_BTF_ID` arguments with the trusted / RCU
//! rules of the kfunc's flags, reference release (`KF_RELEASE`), referenced returns
//! (`KF_ACQUIRE`), and the RCU read and preemption-disabled sections of
//! `bpf_rcu_read_lock`/`unlock` and `bpf_preempt_disable`/`enable`.
//!
//! The kernel's `check_kfunc_args` (the pointer part for BTF objects),
//! `process_kf_arg_ptr_to_btf_id` (sockets and maps as their kernel structs, a fixed offset
//! naming a nested struct, context projections) and the section bookkeeping of
//! `check_kfunc_call`. What is not modelled (variable or negative offsets, an offset into a
//! released object, untrusted and allocated objects) is refused as unsupported.

use crate::btf::trust::{is_rcu_reg, is_trusted_reg, reg2btf_struct};
use crate::domain::state::{
    MAYBE_NULL, MEM_PERCPU, MEM_RCU, MEM_USER, PTR_TRUSTED, PTR_UNTRUSTED, RegState, RegType,
};
use crate::env::ctx::Call;
use crate::messages::{KfuncReject, ObjMismatch, RegName, Reject, Unsupported};
use crate::protos::func_info::KfuncDecl;
use kbpf_elf::btf::Kind;

/// What the argument walk learnt about references (`meta->ref_obj_id`, `meta->release_regno`).
#[derive(Default, Clone, Copy)]
pub(crate) struct RefMeta {
    /// The referenced argument's reference.
    pub ref_obj_id: u32,
    /// The argument the release kfunc releases (1-based register number; 0: none).
    pub release_regno: u8,
}

fn unsupported(decl: &KfuncDecl, what: &str) -> Reject {
    Unsupported::TargetKfuncRule { kfunc: decl.name.clone(), why: what.to_string() }.into()
}

fn is_null(r: &RegState) -> bool {
    r.ty == RegType::Scalar && r.is_const() && r.var_off.value == 0
}

impl Call<'_, '_> {
    /// The NULL and reference part every pointer argument goes through before its kind
    /// (`check_kfunc_args`): a trusted, releasing or RCU kfunc refuses a possibly-NULL
    /// pointer, and a referenced argument is remembered (the released one for `KF_RELEASE`).
    pub(crate) fn kfunc_ptr_arg_common(
        &mut self,
        decl: &KfuncDecl,
        i: usize,
        reg: &RegState,
        regno: u8,
        refs: &mut RefMeta,
    ) -> Result<(), Reject> {
        let t = decl.traits;
        let strict = t.trusted_args || t.release || t.rcu;
        if strict && (is_null(reg) || reg.flags & MAYBE_NULL != 0) && !decl.args[i].nullable {
            return Err(KfuncReject::NullTrustedArg(i).into());
        }
        if reg.ref_obj_id != 0 {
            if t.release && refs.ref_obj_id != 0 {
                return Err(crate::messages::Bug::KfuncTwoRefArgs.into());
            }
            refs.ref_obj_id = reg.ref_obj_id;
            if t.release {
                refs.release_regno = regno;
            }
        }
        Ok(())
    }

    /// `KF_ARG_PTR_TO_BTF_ID`: argument `i` in `regno` points to struct `want` (`type_id` in the
    /// target BTF).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_kfunc_btf_obj(
        &mut self,
        decl: &KfuncDecl,
        i: usize,
        reg: &RegState,
        regno: u8,
        want: &str,
        type_id: u32,
        has_ptr: bool,
    ) -> Result<(), Reject> {
        let t = decl.traits;
        if decl.args[i].nullable && is_null(reg) {
            return Ok(());
        }
        // sockets and maps stand for their kernel structs (`reg2btf_ids`), at offset 0
        let have_id = match reg.ty {
            RegType::BtfId => reg.btf_id,
            ty if let Some(name) = reg2btf_struct(ty) => {
                let btf = self.prog.opts.btf.as_ref();
                match btf.and_then(|b| b.find_by_name_kind(name, Kind::Struct)) {
                    Some(id) => id,
                    None => {
                        return Err(unsupported(decl, "a socket or map pointer without its target struct"));
                    }
                }
            }
            // any other pointer is checked as memory of the struct's size
            _ if has_ptr => return Err(KfuncReject::NotScalarStruct(i, want.to_string()).into()),
            _ => return Err(unsupported(decl, "memory for a struct argument")),
        };
        check_trusted_arg(decl, reg, regno)?;
        // a fixed offset names a nested struct (`btf_struct_ids_match` walks to it); a
        // negative or variable one, or one into a released object, is not modelled
        let released = t.release && reg.ref_obj_id != 0;
        if reg.off < 0 || !reg.var_off.is_const() || reg.var_off.value != 0 || (reg.off != 0 && released) {
            return Err(unsupported(decl, "an offset into a struct argument"));
        }
        if reg.flags & (PTR_UNTRUSTED | MEM_USER | MEM_PERCPU) != 0 && reg.flags & MEM_RCU == 0 {
            return Err(unsupported(decl, "an untrusted pointer for a struct argument"));
        }
        if reg.flags & crate::domain::state::MEM_ALLOC != 0 {
            return Err(unsupported(decl, "an allocated object for a struct argument"));
        }
        // process_kf_arg_ptr_to_btf_id: acquiring and releasing kfuncs want the exact type,
        // others accept a struct whose first member is it
        // (and no-cast aliases: `nf_conn___init` is no `nf_conn`)
        let strict = t.acquire || released || self.nocast_alias(have_id, type_id);
        let matched =
            self.prog.opts.btf.as_ref().is_some_and(|b| {
                crate::btf::walk::struct_ids_match(b, have_id, reg.off as u32, type_id, strict)
            });
        // a kfunc taking a context projection (`struct __sk_buff`) takes its kernel struct
        let have = self.btf_struct_name(have_id);
        if !matched && !is_projection_of(want, &have) {
            if have.is_empty() {
                return Err(unsupported(decl, "a struct argument of an unnamed type"));
            }
            return Err(KfuncReject::BtfObjMismatch(Box::new(ObjMismatch {
                kfunc: decl.name.clone(),
                argno: i,
                want: want.to_string(),
                reg: RegName::R(regno),
                have,
            }))
            .into());
        }
        Ok(())
    }

    /// `__btf_type_is_scalar_struct`: a struct or union of scalars, arrays of scalars and such
    /// structs, nested at most three deep.
    pub(crate) fn scalar_struct(&self, id: u32, depth: u32) -> bool {
        use kbpf_elf::btf::BtfType as B;
        let Some(btf) = self.prog.opts.btf.as_ref() else { return false };
        let Some((_, B::Struct { members, .. } | B::Union { members, .. })) = btf.0.resolve(id) else {
            return false;
        };
        members.iter().all(|m| match btf.0.resolve(m.type_id) {
            Some((mid, B::Struct { .. } | B::Union { .. })) => {
                depth < 3 && self.scalar_struct(mid, depth + 1)
            }
            Some((_, B::Array { elem, nelems, .. })) => {
                *nelems != 0
                    && matches!(
                        btf.0.resolve(*elem),
                        Some((_, B::Int { .. } | B::Enum { .. } | B::Enum64 { .. }))
                    )
            }
            Some((_, B::Int { .. } | B::Enum { .. } | B::Enum64 { .. })) => true,
            _ => false,
        })
    }

    /// `btf_type_ids_nocast_alias`: the two names agree up to their `___` flavour suffix.
    fn nocast_alias(&self, a: u32, b: u32) -> bool {
        let essential = |n: String| match n.rfind("___") {
            Some(p) => n[..p].to_string(),
            None => n,
        };
        let (a, b) = (self.btf_struct_name(a), self.btf_struct_name(b));
        !a.is_empty() && essential(a) == essential(b)
    }

    fn btf_struct_name(&self, id: u32) -> String {
        self.prog.opts.btf.as_ref().and_then(|b| b.get(id)).map(|t| t.name().to_string()).unwrap_or_default()
    }

    /// After the arguments: the RCU and preemption sections a call opens or closes, then the
    /// RCU protection the kfunc needs (`check_kfunc_call`).
    pub(crate) fn kfunc_sections(&mut self, decl: &KfuncDecl) -> Result<(), Reject> {
        let name = decl.name.as_str();
        let (rcu_lock, rcu_unlock) = (name == "bpf_rcu_read_lock", name == "bpf_rcu_read_unlock");
        let (preempt_off, preempt_on) = (name == "bpf_preempt_disable", name == "bpf_preempt_enable");
        if self.cur.active_rcu_lock {
            if rcu_lock {
                return Err(KfuncReject::NestedRcuLock(decl.name.clone()).into());
            } else if rcu_unlock {
                // RCU pointers outlive the section only as untrusted pointers
                crate::check::branch::for_each_reg(self.cur, |r| {
                    if r.flags & MEM_RCU != 0 {
                        r.flags &= !(MEM_RCU | MAYBE_NULL);
                        r.flags |= PTR_UNTRUSTED;
                    }
                });
                self.cur.active_rcu_lock = false;
            } else if decl.traits.sleepable {
                return Err(unsupported(decl, "a sleepable kfunc in an RCU read section"));
            }
        } else if rcu_lock {
            self.cur.active_rcu_lock = true;
        } else if rcu_unlock {
            return Err(KfuncReject::UnmatchedRcuUnlock(decl.name.clone()).into());
        }
        if self.cur.active_preempt_locks > 0 {
            if preempt_off {
                self.cur.active_preempt_locks += 1;
            } else if preempt_on {
                self.cur.active_preempt_locks -= 1;
            } else if decl.traits.sleepable {
                return Err(unsupported(decl, "a sleepable kfunc with preemption disabled"));
            }
        } else if preempt_off {
            self.cur.active_preempt_locks = 1;
        } else if preempt_on {
            return Err(KfuncReject::UnmatchedPreemptEnable(decl.name.clone()).into());
        }
        // in_rcu_cs: a section, or a program that cannot sleep
        if decl.traits.rcu_protected
            && !self.cur.active_rcu_lock
            && self.cur.active_locks == 0
            && self.in_sleepable()
        {
            return Err(KfuncReject::RcuProtected(decl.name.clone()).into());
        }
        Ok(())
    }

    /// r0 of `bpf_rdonly_cast(obj, btf_id__k)`: an untrusted pointer to the struct of that id
    /// in the target BTF.
    pub(crate) fn rdonly_cast_ret(&mut self, decl: &KfuncDecl, id: Option<u64>) -> Result<RegState, Reject> {
        let Some(id) = id else { return Err(crate::messages::Bug::SliceNoConstSize.into()) };
        if id == 0 {
            return Err(unsupported(decl, "a cast to void"));
        }
        let ty = u32::try_from(id).ok().and_then(|i| self.prog.opts.btf.as_ref().and_then(|b| b.get(i)));
        match ty {
            None => Err(KfuncReject::RdonlyCastUnknown(id).into()),
            // btf_type_is_struct: a union too
            Some(kbpf_elf::btf::BtfType::Struct { .. } | kbpf_elf::btf::BtfType::Union { .. }) => {
                let mut r = RegState::pointer(RegType::BtfId);
                r.btf_id = id as u32;
                r.flags = PTR_UNTRUSTED;
                Ok(r)
            }
            Some(_) => Err(KfuncReject::RdonlyCastType.into()),
        }
    }

    /// r0 of a kfunc returning a kernel object: `PTR_TO_BTF_ID` of `type_id`, possibly NULL
    /// (`KF_RET_NULL`), referenced when the kfunc acquires.
    pub(crate) fn kfunc_btf_obj_ret(&mut self, decl: &KfuncDecl, type_id: u32, insn_idx: usize) -> RegState {
        let mut r = RegState::pointer(RegType::BtfId);
        r.btf_id = type_id;
        // the kernel's context behind the program's
        if decl.name == "bpf_cast_to_kern_ctx" {
            r.flags |= PTR_TRUSTED;
        }
        // 6.18 trusts no element of an iterator that is not RCU-protected (an RCU-protected
        // iterator's is an RCU pointer: those iterators are not modelled)
        if decl.iter == Some(crate::protos::func_info::IterRole::Next) {
            r.flags |= PTR_UNTRUSTED;
        }
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

/// `btf_is_projection_of`: `projection` is the program-visible view of kernel struct `kernel`.
fn is_projection_of(projection: &str, kernel: &str) -> bool {
    matches!((projection, kernel), ("__sk_buff", "sk_buff") | ("xdp_md", "xdp_buff"))
}

/// The trust a kfunc with `KF_TRUSTED_ARGS`, `KF_RELEASE` or `KF_RCU` asks of a pointer
/// argument: trusted, or (`KF_RCU`) an RCU pointer.
pub(crate) fn check_trusted_arg(decl: &KfuncDecl, reg: &RegState, regno: u8) -> Result<(), Reject> {
    let t = decl.traits;
    if (t.trusted_args || t.release || t.rcu) && !is_trusted_reg(reg) {
        if !t.rcu {
            return Err(KfuncReject::MustBeTrusted(RegName::R(regno)).into());
        }
        if !is_rcu_reg(reg) {
            return Err(KfuncReject::MustBeRcu(RegName::R(regno)).into());
        }
    }
    Ok(())
}
