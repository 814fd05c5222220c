//! Helpers and kfuncs as data.
//!
//! Owns: the registry that maps a helper id or kfunc BTF id to its name, prototype (argument
//! kinds, return kind, `KF_*` flags, allowed program types as `kbpf_isa::KernelProgType`; helpers
//! by `kbpf_isa::BpfFunc`, never by number) and the native function that runs it
//! ([`NativeFn`], with the contract of what it dereferences, [`NativeArg`]). The interpreter calls the function pointer, the JITs emit a call to its
//! address, the verifier reads the prototype. Prototypes can be imported from BTF
//! ([`btf_import`]), with the flags and program types of Linux 6.18's kfunc id sets ([`sets`]). The objects helpers work on live here too: [`maps`] is the map runtime
//! (maps of a run, the map helpers' natives, tail-call resolution).
//!
//! Must not touch: instruction semantics, verification logic, code generation.

pub mod btf_import;
pub mod callbacks;
mod check_mtu;
mod csum;
pub mod maps;
mod native;
pub mod packet_helpers;
pub mod profiles;
mod proto;
pub mod redirect;
mod registry;
pub mod run_prog;
pub mod sets;
pub mod skb_helpers;
pub mod sock_helpers;
mod strings;
pub mod testmod;
pub mod vmlinux;
pub mod xdp_helpers;

pub use native::{NativeFn, RawNative};
pub use proto::{ARENA, ArgKind, ArgProto, KfuncFlags, MemLen, NativeArg, Proto, RetKind, UNSIZED_MEM};
pub use registry::{FuncDesc, FuncKind, Registry, RegistryError};
pub use vmlinux::iter_state_size;

/// Most arguments of a kfunc or BPF function (`MAX_BPF_FUNC_ARGS`).
pub const MAX_ARGS: usize = 12;
