//! Callback helpers on programs run without a witness: the same lowering verified programs get
//! at link time (`kbpf_jit::link_lowered`), with `bpf_throw` told apart by the registry's name.

use kbpf_isa::{CallTarget, Insn, Program};
use kbpf_jit::{Lowering, func_refs, lower_callbacks, walk_key_max};
use kbpf_kfunc::Registry;
use kbpf_kfunc::callbacks::FuncRoles;
use kbpf_kfunc::maps::MapSet;

use crate::engine::RunError;

/// Program `prog_id` resolved against `maps` ([`crate::maps::resolve_prog`]) and lowered. An
/// unverified program names no exception callback (only BTF does): a throw gets the default.
pub(crate) fn lower_unverified(
    prog: &Program,
    prog_id: usize,
    maps: &MapSet,
    registry: &Registry,
) -> Result<(Program, FuncRoles), RunError> {
    let callbacks = func_refs(prog);
    let resolved = crate::maps::resolve_prog(prog, prog_id, maps)?;
    let throw_ids: Vec<i32> = prog
        .insns()
        .iter()
        .filter_map(|i| match i {
            Insn::Call(CallTarget::Kfunc { btf_id, .. })
                if registry.kfunc(*btf_id).is_some_and(|d| d.name == "bpf_throw") =>
            {
                Some(*btf_id)
            }
            _ => None,
        })
        .collect();
    let token = move |pc: usize| crate::timers::callback_token(prog_id, pc);
    let l = Lowering {
        callbacks: &callbacks,
        token: &token,
        key_max: walk_key_max(maps),
        throw_ids: &throw_ids,
        exception_cb: None,
    };
    Ok(lower_callbacks(&resolved, &l)?)
}
