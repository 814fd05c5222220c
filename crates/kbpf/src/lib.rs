//! kbpf: the Linux BPF verifier and JITs as a userspace library.
//!
//! This facade owns nothing but composition: reading a program from its file form, choosing an
//! engine (interpreter or the host's JIT backend) and running it under the shared execution
//! contract (docs/interfaces.md). Each subsystem lives in its own crate, re-exported here.
//!
//! It decides verify-before-run: [`run`], [`run_module`], [`run_module_with_regions`] and
//! [`test_run`] verify every program first (with the registry and maps they run with) and
//! refuse a rejected one with [`RunError::Rejected`]; running unverified is explicit:
//! [`run_unverified_interp`] / [`run_module_unverified_interp`] (safe, interpreter only) or the
//! `unsafe` [`run_unverified`] / [`run_module_unchecked`] (native code).
//!
//! Must not touch: instruction semantics, verification rules, code generation.
#![allow(unsafe_code)] // only at the JIT boundary: `maps::run_core` and its callers, each with a SAFETY note

mod engine;
mod guard;
mod layout;
mod maps;
mod sections;
mod source;
mod test_run;
mod timers;
mod verify;

pub use engine::{
    Arch, Engine, RunError, RunOptions, backend, host_backend, run, run_unverified, run_unverified_interp,
};
pub use guard::{Unsupported, check_call, check_engine, verify_for_engine};
pub use kbpf_elf::{KconfigSource, LoadOptions, LoadedObject, LoadedProgram, ProgError, open_object};
pub use maps::{
    create_maps, resolve_maps, run_module, run_module_unchecked, run_module_unverified_interp,
    run_module_with_regions,
};
pub use source::{
    ElfFacts, Module, ProgSelect, SourceError, SourceKind, module_from_asm, module_from_object, parse_hex,
    read_module, read_module_with, read_program, read_raw_slots,
};
pub use timers::{
    CALLBACK_TAG, MAX_TIMER_FIRINGS, callback_driver, callback_token, decode_callback, driver_input,
};

pub use kbpf_elf as elf;
pub use kbpf_interp as interp;
pub use kbpf_isa as isa;
pub use kbpf_jit as jit;
pub use kbpf_kfunc as kfunc;
pub use kbpf_verifier as verifier;
pub use layout::kernel_layout;
pub use sections::{
    AttachType, KernelProgType, ProgTypeError, SUPPORTED_PROG_TYPES, attach_type_by_name,
    kernel_prog_type_by_name, kernel_prog_type_for_section, modelled, modelled_type, prog_type_by_name,
    prog_type_for_section,
};
pub use test_run::{
    CtxLayout, PacketCtx, TestRunError, TestRunOutcome, convert_ctx_accesses, pkt_v4, test_run,
};
pub use verify::{kfunc_table, verify_module};
