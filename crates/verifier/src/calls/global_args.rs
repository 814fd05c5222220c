//! Arguments of subprograms typed by their BTF prototype (`btf_prepare_func_args`): a
//! parameter is a scalar, the context, sized memory (maybe NULL unless `arg:nonnull`), a
//! trusted kernel object (`arg:trusted`), an untrusted one, an arena pointer or a dynptr.
//! Each call checks the caller's registers against them (`btf_check_func_arg_match`); a
//! global function verified on its own starts from registers of those types.

use super::helper::HelperAccess;
use crate::domain::state::{DynptrType, MAYBE_NULL, PTR_TRUSTED, RegState, RegType, StackObj};
use crate::env::ctx::Call;
use crate::messages::{Reject, Unsupported};
use kbpf_isa::{Param, ParamType};
use kbpf_passes::Errno;

/// A typed parameter (`struct bpf_subprog_arg_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GlobalArg {
    /// `ARG_ANYTHING`: a scalar.
    Anything,
    /// `ARG_PTR_TO_CTX`.
    Ctx,
    /// `ARG_PTR_TO_MEM` of `size` bytes (`PTR_MAYBE_NULL` unless `arg:nonnull`).
    Mem { size: u32, nullable: bool },
    /// `ARG_PTR_TO_BTF_ID | PTR_TRUSTED` to the kernel struct `btf_id`.
    Trusted { btf_id: u32, nullable: bool },
    /// `arg:untrusted`: anything goes.
    Untrusted,
    /// `ARG_PTR_TO_ARENA`.
    Arena,
    /// `ARG_PTR_TO_DYNPTR | MEM_RDONLY`.
    Dynptr,
}

/// Why the prototype cannot type the arguments: the line the kernel logs (if any) and its
/// errno.
pub(crate) struct Untyped(pub Option<String>, pub Errno);

fn bad(line: String) -> Untyped {
    Untyped(Some(line), Errno::EINVAL)
}

impl Call<'_, '_> {
    /// `btf_prepare_func_args` for subprogram `sub` (`None`: no BTF prototype to type it).
    pub(crate) fn prepare_func_args(&self, sub: usize) -> Option<Result<Vec<GlobalArg>, Untyped>> {
        let sa = &self.subs.stack_args;
        let global = sa.global.get(sub).copied().unwrap_or(false);
        let name = sa.name_of(sub);
        // a global function (the exception callback too) returns an int or an enum; a static
        // one failing this only loses its prototype, which kbpf does not track
        let start = self.prog.info.subprogs.list.get(sub).map(|s| s.start.index());
        let decl = self.prog.opts.funcs.iter().find(|f| Some(f.pc) == start);
        if global && decl.is_some_and(|d| !d.ret_scalar) {
            return Some(Err(bad(format!(
                "Global function {name}() doesn't return scalar. Only those are supported."
            ))));
        }
        let params = sa.params.get(sub).filter(|p| !p.is_empty())?;
        Some(params.iter().enumerate().map(|(i, p)| self.prepare_arg(i, p, global, &name)).collect())
    }

    fn prepare_arg(&self, i: usize, p: &Param, global: bool, fname: &str) -> Result<GlobalArg, Untyped> {
        let tag = |t: &str| p.tags.iter().any(|x| x == t);
        if !p.tags.is_empty() && !global {
            return Err(Untyped(
                Some(format!("arg#{i} type tag is not supported in static functions")),
                Errno::EOPNOTSUPP,
            ));
        }
        let known = ["ctx", "trusted", "untrusted", "nonnull", "nullable", "arena"];
        if p.tags.iter().any(|t| !known.contains(&t.as_str())) {
            return Err(Untyped(Some(format!("arg#{i} has unsupported set of tags")), Errno::EOPNOTSUPP));
        }
        let invalid = || bad(format!("arg#{i} has invalid combination of tags"));
        let ParamType::Ptr { name, kind, size, typedef } = &p.ty else {
            if !p.tags.is_empty() {
                return Err(bad(format!("arg#{i} has pointer tag, but is not a pointer type")));
            }
            return match &p.ty {
                ParamType::Scalar => Ok(GlobalArg::Anything),
                ParamType::Other(k) if global => {
                    Err(bad(format!("Arg#{i} type {k} in {fname}() is not supported yet.")))
                }
                _ => Err(Untyped(None, Errno::EINVAL)),
            };
        };
        if tag("ctx") || self.is_prog_ctx_type(name, kind, typedef.as_deref()) {
            if p.tags.iter().any(|t| t != "ctx") {
                return Err(invalid());
            }
            return Ok(GlobalArg::Ctx);
        }
        if kind == "STRUCT" && name == "bpf_dynptr" {
            if !p.tags.is_empty() {
                return Err(invalid());
            }
            return Ok(GlobalArg::Dynptr);
        }
        if tag("trusted") {
            if tag("nonnull") {
                return Err(invalid());
            }
            // the kernel matches the local type as a CO-RE candidate: `___flavor` suffixes drop
            let essential = kbpf_elf::core::essential_name(name);
            let btf_id = self
                .prog
                .opts
                .btf
                .as_ref()
                .and_then(|b| b.find_by_name_kind(essential, kbpf_elf::btf::Kind::Struct));
            let Some(btf_id) = btf_id else {
                let line = format!("arg#{i} reference type('{kind} {name}') has no matches");
                return Err(Untyped(Some(line), Errno::ENOENT));
            };
            return Ok(GlobalArg::Trusted { btf_id, nullable: tag("nullable") });
        }
        if tag("untrusted") {
            return Ok(GlobalArg::Untrusted);
        }
        if tag("arena") {
            if p.tags.iter().any(|t| t != "arena") {
                return Err(invalid());
            }
            return Ok(GlobalArg::Arena);
        }
        if !global {
            return Err(Untyped(None, Errno::EINVAL));
        }
        if tag("nullable") {
            return Err(invalid());
        }
        let Some(size) = size else {
            return Err(bad(format!(
                "arg#{i} reference type('{kind} {name}') size cannot be determined: -22"
            )));
        };
        Ok(GlobalArg::Mem { size: *size, nullable: !tag("nonnull") })
    }

    /// `btf_is_prog_ctx_type`: a pointer to this program type's context struct (by name, or
    /// the kernel struct it projects, or the struct a typedef context names) takes the context.
    fn is_prog_ctx_type(&self, name: &str, kind: &str, typedef: Option<&str>) -> bool {
        let ops = self.prog.opts.prog_type.ops();
        let ctx = ops.ctx_type_name();
        if ops.kernel_type() == Some(kbpf_isa::KernelProgType::Kprobe) && typedef == Some(ctx) {
            return true;
        }
        if !matches!(kind, "STRUCT" | "UNION") || ctx.is_empty() {
            return false;
        }
        let projection = (ctx == "__sk_buff" && name == "sk_buff") || (ctx == "xdp_md" && name == "xdp_buff");
        let target = ops.ctx_typedef_target();
        projection || name == ctx || (!target.is_empty() && name == target)
    }

    /// `btf_check_func_arg_match` for one typed argument in register `regno`: `Err` = the
    /// line to log and the errno.
    pub(crate) fn check_global_arg(&mut self, i: usize, arg: &GlobalArg) -> Result<(), Untyped> {
        let regno = i as u8 + 1;
        let reg = self.cur.cur().regs[regno as usize].clone();
        let is_null = reg.is_const() && reg.var_off.value == 0;
        match arg {
            GlobalArg::Anything if reg.ty != RegType::Scalar => Err(bad(format!("R{regno} is not a scalar"))),
            GlobalArg::Anything | GlobalArg::Untrusted => Ok(()),
            GlobalArg::Ctx => {
                self.mem().check_ptr_off_reg(regno).map_err(|e| Untyped(Some(e.to_string()), e.errno()))?;
                if reg.ty != RegType::Ctx {
                    return Err(bad(format!("arg#{i} expects pointer to ctx")));
                }
                Ok(())
            }
            GlobalArg::Mem { size, nullable } => {
                if is_null {
                    return Ok(());
                }
                let saved = reg.clone();
                self.cur.cur_mut().regs[regno as usize].flags &= !MAYBE_NULL;
                let checked = self.check_mem_reg(regno, *size);
                self.cur.cur_mut().regs[regno as usize] = saved;
                checked.map_err(|e| Untyped(Some(e.to_string()), Errno::EINVAL))?;
                if !nullable && reg.flags & MAYBE_NULL != 0 {
                    return Err(bad(format!("arg#{i} is expected to be non-NULL")));
                }
                Ok(())
            }
            GlobalArg::Arena if !matches!(reg.ty, RegType::Scalar) => {
                Err(bad(format!("R{regno} is not a pointer to arena or scalar.")))
            }
            GlobalArg::Arena => Ok(()),
            GlobalArg::Trusted { btf_id, nullable } => {
                if is_null && *nullable {
                    return Ok(());
                }
                self.check_trusted_arg(regno, &reg, *btf_id, *nullable)
            }
            GlobalArg::Dynptr => {
                // check_func_arg_reg_off, then process_dynptr_func for a read-only dynptr
                let line = |e: Reject| Untyped(Some(e.to_string()), e.errno());
                if reg.ty != RegType::Stack {
                    self.mem().check_ptr_off_reg(regno).map_err(line)?;
                }
                let want = super::dynptr::DynptrArg::default();
                self.process_dynptr_func(&reg, regno, i, want, 0).map_err(line)
            }
        }
    }

    /// `check_mem_reg`: `size` bytes readable and writable through `regno`.
    fn check_mem_reg(&mut self, regno: u8, size: u32) -> Result<(), Reject> {
        self.check_helper_mem_access(regno, size as i64, HelperAccess::Read, true)?;
        self.check_helper_mem_access(regno, size as i64, HelperAccess::Write, true)
    }

    /// `check_reg_type` for `ARG_PTR_TO_BTF_ID | PTR_TRUSTED` (`kernel_type_ptr_types`).
    fn check_trusted_arg(
        &self,
        regno: u8,
        reg: &RegState,
        btf_id: u32,
        nullable: bool,
    ) -> Result<(), Untyped> {
        let mut flags = reg.flags;
        if nullable {
            flags &= !MAYBE_NULL;
        }
        let trusted = reg.ty == RegType::BtfId && (flags == PTR_TRUSTED || reg.ref_obj_id != 0 && flags == 0);
        if !trusted {
            let t = crate::messages::TypeName::new(reg.ty, reg.flags);
            return Err(Untyped(
                Some(format!("R{regno} type={t} expected=ptr_, trusted_ptr_, rcu_ptr_")),
                Errno::EACCES,
            ));
        }
        let Some(btf) = self.prog.opts.btf.as_ref() else { return Err(Untyped(None, Errno::ENOTSUPP)) };
        let off = u32::try_from(reg.off).unwrap_or(u32::MAX);
        if !crate::btf::walk::struct_ids_match(btf, reg.btf_id, off, btf_id, false) {
            let (have, want) = (crate::btf::type_name(btf, reg.btf_id), crate::btf::type_name(btf, btf_id));
            return Err(Untyped(
                Some(format!("R{regno} is of type {have} but {want} is expected")),
                Errno::EACCES,
            ));
        }
        Ok(())
    }

    /// The register a global function verified on its own finds for typed argument `arg`.
    pub(crate) fn global_arg_reg(&mut self, arg: &GlobalArg) -> Result<RegState, Reject> {
        Ok(match arg {
            GlobalArg::Anything | GlobalArg::Arena => RegState::unknown_scalar(),
            GlobalArg::Ctx => RegState::pointer(RegType::Ctx),
            GlobalArg::Untrusted => {
                return Err(Reject::Unsupported(Unsupported::Feature(
                    "arg:untrusted arguments of global functions",
                )));
            }
            GlobalArg::Mem { size, nullable } => {
                let mut r = RegState::pointer(RegType::Mem);
                r.mem_size = *size;
                if *nullable {
                    r.flags = MAYBE_NULL;
                    r.id = self.new_id();
                }
                r
            }
            GlobalArg::Trusted { btf_id, nullable } => {
                let mut r = RegState::pointer(RegType::BtfId);
                r.btf_id = *btf_id;
                r.flags = PTR_TRUSTED | if *nullable { MAYBE_NULL } else { 0 };
                r.id = self.new_id();
                r
            }
            // a local dynptr, as far as the function can tell
            GlobalArg::Dynptr => {
                let mut r = RegState::pointer(RegType::ConstDynptr);
                r.id = self.new_id();
                r.obj = StackObj::Dynptr { ty: DynptrType::Local, first_slot: true };
                r
            }
        })
    }
}
