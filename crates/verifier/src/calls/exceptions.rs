//! `bpf_throw`: an exceptional exit. The path ends at the call, after the leak and lock-section
//! checks under the name `bpf_throw`; with the default exception callback the cookie becomes
//! the program's return value, so it is checked like one.
//!
//! Not modelled (refused as unsupported): a program with its own exception callback (the
//! kernel verifies it as a program of its own) and programs with callback subprograms (the
//! kernel refuses a throw reachable from one before the walk).

use crate::env::ctx::Call;
use crate::messages::{Reject, Unsupported};
use crate::protos::func_info::KfuncDecl;

/// The kfunc that throws.
pub(crate) const THROW: &str = "bpf_throw";

impl Call<'_, '_> {
    /// `check_kfunc_call`'s part for `bpf_throw`, after its arguments.
    pub(crate) fn check_throw(&mut self, decl: &KfuncDecl) -> Result<(), Reject> {
        let unsupported = |why: &str| -> Reject {
            Unsupported::TargetKfuncRule { kfunc: decl.name.clone(), why: why.into() }.into()
        };
        if self.prog.opts.funcs.iter().any(|f| f.exception_cb) {
            return Err(unsupported("a custom exception callback"));
        }
        if (0..self.prog.table().len()).any(|i| self.prog.callee_at(i).is_some_and(|(_, is_ref)| is_ref)) {
            return Err(unsupported("bpf_throw in a program with callback subprograms"));
        }
        // check_return_code on the cookie: a range only some types have
        let range = match &self.prog.attach {
            Some(a) => a.retval_range(),
            None => self.prog.ops().retval_range(),
        };
        if range.is_some() {
            return Err(unsupported("the return range of the cookie"));
        }
        Ok(())
    }

    /// Whether the call at `btf_id` is `bpf_throw` (the path ends after it).
    pub(crate) fn kfunc_throws(&self, btf_id: i32) -> bool {
        self.prog.opts.kfuncs.get(btf_id).is_some_and(|k| k.name == THROW && k.unmodelled.is_none())
    }
}
