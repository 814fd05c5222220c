//! kbpf: the Linux BPF verifier and JITs as a userspace library.
//!
//! This facade owns nothing but composition: reading a program from its file form, choosing an
//! engine (interpreter or the host's JIT backend) and running it under the shared execution
//! contract (docs/interfaces.md). Each subsystem lives in its own crate, re-exported here.
//!
//! Must not touch: instruction semantics, verification rules, code generation.

mod engine;
mod maps;
mod sections;
mod source;
mod test_run;
mod timers;
mod verify;

pub use engine::{Arch, Engine, RunError, RunOptions, backend, host_backend, run};
pub use maps::{create_maps, resolve_maps, run_module, run_module_with_regions};
pub use source::{Module, SourceError, SourceKind, parse_hex, read_module, read_program, read_raw_slots};
pub use timers::{
    CALLBACK_TAG, MAX_TIMER_FIRINGS, callback_driver, callback_token, decode_callback, driver_input,
};

pub use kbpf_interp as interp;
pub use kbpf_isa as isa;
pub use kbpf_jit as jit;
pub use kbpf_kfunc as kfunc;
pub use kbpf_verifier as verifier;
pub use sections::{
    KernelProgType, ProgTypeError, SUPPORTED_PROG_TYPES, kernel_prog_type_for_section, prog_type_by_name,
    prog_type_for_section,
};
pub use test_run::{
    CtxLayout, PacketCtx, TestRunError, TestRunOutcome, convert_ctx_accesses, pkt_v4, test_run,
};
pub use verify::{kfunc_table, verify_module};
