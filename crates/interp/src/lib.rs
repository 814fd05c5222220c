//! Reference interpreter: the semantics every other engine is compared against.
//!
//! Owns: the execution semantics of every instruction `kbpf-isa` decodes, the run-time memory
//! model (input buffer plus one 512-byte stack per live bpf-to-bpf frame, every access checked),
//! bpf-to-bpf frames with the stack-argument slots of r11, helper/kfunc calls through a
//! `kbpf-kfunc` registry, the hidden `may_goto` counter and an instruction budget. Safe Rust
//! except the call into a native (module `args`), which happens only after every argument was
//! checked against the memory live at that moment and the native's prototype
//! (`kbpf_kfunc::NativeArg`): the interpreter is memory-safe for any program, verified or not.
//! Maps: the map helpers, `bpf_tail_call` (several programs in one [`Vm`]) and map-value memory
//! go through a checked `kbpf_kfunc::maps::HostEnv` ([`Vm::run_env`]), never a raw pointer.
//!
//! Must not touch: verification (a program that the verifier would reject still runs here until
//! it does something the interpreter cannot do safely, which is then an [`InterpError`]: a wild
//! access, a bad helper or kfunc argument ([`InterpError::BadArgument`])), code
//! generation, instruction encoding.
//!
//! Performance: the program is pre-decoded into 16-byte ops (jump targets resolved to op
//! indices, helpers to native function pointers) and run by one `match` loop with registers in a
//! local array. A jump to a `ja` (a loop header) goes to the end of the chain, charging the
//! skipped `ja`s to the budget. The stack is kept per thread between runs and a frame is zeroed
//! when a run first reaches it. About 1.1-1.9 ns of CPU per BPF instruction on the benchmark
//! programs (`cargo xtask bench`, or `cargo run --release -p kbpf-interp --example
//! interp_bench`).
//!
//! Execution contract (docs/interfaces.md): `r1` = host address of the input buffer (0 if it is
//! empty), `r2` = its length, `r10` = top of the frame's 512-byte stack; the result is `r0` at
//! the main function's `exit`.
//!
//! Choices where the kernel has no user-visible answer:
//! * `may_goto`: each frame has a hidden counter set to [`BPF_MAX_LOOPS`] on entry to the
//!   function (as the kernel's fixup initialises one counter per subprogram at its start); a
//!   `may_goto` jumps when the counter is zero and otherwise decrements it and falls through.
//! * `LD_ABS`/`LD_IND`: the input buffer is the packet (or the extra region
//!   [`VmOptions::ld_abs_region`] names, for an skb context); an out-of-bounds load ends the
//!   whole program with `r0 = 0`, as the kernel's rewrite does.
//! * `callx reg` calls the helper whose id is the register value (uBPF convention).
//! * Stack arguments: each frame owns 7 outgoing slots; `*(u64 *)(r11 - 8k) = v` writes slot
//!   `k-1` of the current frame, `r = *(u64 *)(r11 + 8k)` reads slot `k-1` of the caller's
//!   frame; kfuncs get r1..r5 then the current frame's slots.
//! * Every frame starts zeroed: the main program's at each run, a callee's at each call, a
//!   tail-called program's when it replaces its caller. The kernel leaves stack a privileged
//!   program never wrote undefined; kbpf's JITs zero each function's BPF stack in its prologue,
//!   so all engines give such a read the same bytes.
//! * Memory a helper or kfunc returns a pointer to is accessible only if the caller passed it to
//!   [`Vm::run_with_regions`]; the interpreter never dereferences host memory it was not given.
//!   Accesses outside the input buffer and the live stacks leave the hot loop, are retried
//!   against those regions and the loop resumes, so plain runs pay nothing for the feature.
//! * Callbacks: `bpf_loop` and `bpf_for_each_map_elem` arrive lowered to BPF drivers
//!   (`kbpf_jit::lower_callbacks`; [`Vm::with_roles`] says which functions are drivers, whose
//!   frames do not count against `MAX_CALL_FRAMES`); `call THROW_ID` (`bpf_throw`) drops every
//!   frame and runs the exception function in the main function's place.
//! * `LD_IMM64` pseudo sources (maps, BTF ids, functions) and `addr_space_cast` are
//!   [`InterpError::Unsupported`] when executed.

mod args;
mod compile;
mod error;
mod exec;
mod host;
mod mem;
mod vm;

pub use compile::runs_helper_itself;
pub use error::InterpError;
pub use exec::{Observer, Step};
pub use vm::{BPF_MAX_LOOPS, DEFAULT_INSN_BUDGET, RunStats, Vm, VmOptions};
