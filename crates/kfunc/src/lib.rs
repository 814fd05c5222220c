//! Helpers and kfuncs as data.
//!
//! Owns: the registry that maps a helper id or kfunc BTF id to its name, argument count and the
//! native function that runs it ([`NativeFn`]), shared by the interpreter (which calls the
//! function pointer) and the JITs (which emit a call to its address). Prototypes for the verifier
//! (argument kinds, flags, program types) grow here too.
//!
//! Must not touch: instruction semantics, verification logic, code generation.

mod native;
pub mod profiles;
mod registry;

pub use native::NativeFn;
pub use registry::{FuncDesc, FuncKind, Registry, RegistryError};
