//! Verify-before-run: the facade, not its callers, decides that a program runs only after the
//! verifier accepted it, with the kfuncs of the registry it runs with and the maps of the module
//! it runs with, so the witness and the run agree by construction; and a function the verifier
//! accepts but an engine cannot call is reported when verifying for that engine.

use std::borrow::Cow;

use kbpf_kfunc::{FuncKind, Registry};
use kbpf_verifier::{CallKind, CalledFn, Verified, VerifyOptions, VerifyOutcome};
use thiserror::Error;

use crate::engine::{Engine, RunError};
use crate::source::Module;

/// A helper or kfunc the verifier accepts that an engine cannot run with a registry.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{engine} cannot run {} {name} (id {id}): {why}", kind_name(*.kind))]
pub struct Unsupported {
    /// Helper or kfunc.
    pub kind: CallKind,
    /// The name the verifier checked.
    pub name: String,
    /// Helper id or kfunc BTF id.
    pub id: i32,
    /// The engine.
    pub engine: Engine,
    /// Why not.
    pub why: String,
}

fn kind_name(k: CallKind) -> &'static str {
    match k {
        CallKind::Helper => "helper",
        CallKind::Kfunc => "kfunc",
    }
}

/// Whether `engine` can run every helper and kfunc `v` calls with `registry` ([`check_call`]).
pub fn check_engine(v: &Verified, registry: &Registry, engine: Engine) -> Result<(), Unsupported> {
    v.calls().iter().try_for_each(|c| check_call(c, registry, engine))
}

/// Whether `engine` can run `c` with `registry`: the registry has it under the verified name,
/// with a native of the verified arity, or the engine implements it itself (the interpreter's
/// map, tail-call and timer helpers; the JIT's tail calls; on both, the callback helpers and
/// `bpf_throw`, through `kbpf_jit::lower_callbacks`).
pub fn check_call(c: &CalledFn, registry: &Registry, engine: Engine) -> Result<(), Unsupported> {
    let err = |why: String| Unsupported { kind: c.kind, name: c.name.clone(), id: c.id, engine, why };
    match engine {
        // the facade always gives JIT code a tail-call hook
        Engine::Jit => kbpf_jit::check_call(c, registry, true).map_err(|e| err(e.to_string())),
        Engine::Interp => {
            let kind = match c.kind {
                CallKind::Helper => kbpf_kfunc::FuncKind::Helper,
                CallKind::Kfunc => kbpf_kfunc::FuncKind::Kfunc,
            };
            // lowered to drivers, or unwound by the engine (`bpf_throw`)
            if kbpf_kfunc::callbacks::lowered(kind, &c.name) {
                return Ok(());
            }
            let desc = match c.kind {
                CallKind::Helper => registry.helper(c.id),
                CallKind::Kfunc => registry.kfunc(c.id),
            };
            let Some(desc) = desc else { return Err(err("not in the registry".into())) };
            if desc.name != c.name {
                return Err(err(format!("the registry's id {} is {}", c.id, desc.name)));
            }
            match desc.native {
                _ if c.kind == CallKind::Helper && kbpf_interp::runs_helper_itself(&c.name) => Ok(()),
                Some(f) if f.arity() != c.arity as usize => {
                    Err(err(format!("native takes {} arguments, verified {}", f.arity(), c.arity)))
                }
                Some(_) => Ok(()),
                None => Err(err("no native implementation".into())),
            }
        }
    }
}

/// Verifies `module` for `engine` with `registry`'s kfuncs: the verifier's outcome (log and
/// verdict untouched) and, for an accepted program, whether the engine can run what it calls.
pub fn verify_for_engine(
    module: &Module,
    mut opts: VerifyOptions,
    registry: &Registry,
    engine: Engine,
) -> (VerifyOutcome, Option<Unsupported>) {
    if opts.kfuncs.is_empty() {
        opts.kfuncs = crate::kfunc_table(registry);
    }
    let out = crate::verify_module(module, opts);
    let unsupported = out.witness.as_ref().and_then(|w| check_engine(w, registry, engine).err());
    (out, unsupported)
}

/// Verifies every program of `module` (the main one, then the tail-call targets) with `vopts`
/// and checks that `engine` can run them: their witnesses, in program-id order, and the registry
/// to run them with ([`with_target_kfuncs`]).
pub(crate) fn verify_programs<'r>(
    module: &Module,
    vopts: VerifyOptions,
    registry: &'r Registry,
    engine: Engine,
) -> Result<(Vec<Verified>, Cow<'r, Registry>), RunError> {
    let modules = program_modules(module);
    let mut out = Vec::with_capacity(modules.len());
    for m in &modules {
        let o = crate::verify_module(m, vopts.clone());
        let w = match (o.error, o.witness) {
            (Some(e), _) => return Err(RunError::Rejected(e)),
            (None, Some(w)) => w,
            (None, None) => return Err(RunError::Bug("an accepted program without a witness")),
        };
        out.push(w);
    }
    let registry = with_target_kfuncs(registry, &out);
    for w in &out {
        check_engine(w, &registry, engine)?;
    }
    Ok((out, registry))
}

/// `registry` with the target kernel's kfuncs the witnesses call (verified under the target's
/// BTF ids, `target_kfuncs`) added under those ids, where the registry has a native of the same
/// name (kbpf's natives of the kernel's kfuncs carry kbpf's own ids).
fn with_target_kfuncs<'r>(registry: &'r Registry, witnesses: &[Verified]) -> Cow<'r, Registry> {
    let missing: Vec<_> = witnesses
        .iter()
        .flat_map(|w| w.calls())
        .filter(|c| c.kind == CallKind::Kfunc && registry.kfunc(c.id).is_none())
        .filter_map(|c| Some((c.id, registry.kfunc_by_name(&c.name)?)))
        .collect();
    if missing.is_empty() {
        return Cow::Borrowed(registry);
    }
    let mut r = registry.clone();
    for (id, d) in missing {
        // a second call of the same kfunc is already there
        let _ = r.register(FuncKind::Kfunc, id, &d.name, d.proto.clone(), d.native);
    }
    Cow::Owned(r)
}

/// The modules the verifier checks for `module`: the main program, then each tail-call target
/// with the same maps (the kernel verifies each program on its own).
pub(crate) fn program_modules(module: &Module) -> Vec<Module> {
    let mut modules = vec![module.clone()];
    for p in &module.progs {
        modules.push(Module {
            slots: p.program.to_slots(),
            lines: None,
            funcs: p.funcs.clone(),
            progs: Vec::new(),
            literal_fds: Vec::new(),
            // line info travels with the main program only
            line_info: Vec::new(),
            btf_func_info: false,
            ..module.clone()
        });
    }
    modules
}
