//! `bpf_throw`: an exceptional exit. The path ends at the call, after the leak and lock-section
//! checks under the name `bpf_throw`. With the default exception callback the cookie becomes
//! the program's return value, so it is checked like one; a program's own callback (the
//! `exception_callback:` decl tag) is a global subprogram of one integer argument, verified
//! after the main program and returning like it.
//!
//! No callback may throw, nor anything a callback calls: `check_max_stack_depth` refuses it
//! after the walk (the pipeline's call-chain pass, from the subprograms the walk set up as
//! callbacks and the exception callback).

use crate::calls::global_args::{GlobalArg, Untyped};
use crate::env::ctx::Call;
use crate::messages::{KfuncReject, Reject, Unsupported};
use crate::protos::func_info::KfuncDecl;

/// The kfunc that throws.
pub(crate) const THROW: &str = "bpf_throw";

impl Call<'_, '_> {
    /// `check_kfunc_call`'s part for `bpf_throw`, after its arguments.
    pub(crate) fn check_throw(&mut self, decl: &KfuncDecl) -> Result<(), Reject> {
        // the program's own callback makes the cookie its argument, not the return value
        if self.subs.exception_cb.is_some() {
            return Ok(());
        }
        // check_return_code on the cookie: a range only some types have
        let range = match &self.prog.attach {
            Some(a) => a.retval_range(),
            None => self.prog.ops().retval_range(),
        };
        if range.is_some() {
            let why = "the return range of the cookie".into();
            return Err(Unsupported::TargetKfuncRule { kfunc: decl.name.clone(), why }.into());
        }
        Ok(())
    }

    /// Whether the call at `btf_id` is `bpf_throw` (the path ends after it).
    pub(crate) fn kfunc_throws(&self, btf_id: i32) -> bool {
        self.prog.opts.kfuncs.get(btf_id).is_some_and(|k| k.name == THROW && k.unmodelled.is_none())
    }
}

/// `do_check_common` for the exception callback: its prototype must type (the line
/// `btf_prepare_func_args` logged) and take exactly one scalar.
pub(crate) fn check_exception_cb_proto(
    prepared: Option<&Result<Vec<GlobalArg>, Untyped>>,
    nargs: u32,
) -> Result<(), Reject> {
    match prepared {
        Some(Err(Untyped(line, errno))) => {
            Err(KfuncReject::ExceptionCbProto(line.clone().unwrap_or_default(), *errno).into())
        }
        Some(Ok(args)) if nargs == 1 && args.first() == Some(&GlobalArg::Anything) => Ok(()),
        // a declaration without BTF parameters (`.func`): every parameter is a scalar
        None if nargs == 1 => Ok(()),
        _ => Err(KfuncReject::ExceptionCbArgs.into()),
    }
}
