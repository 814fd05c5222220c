//! The registry: helpers by id, kfuncs by BTF id.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use thiserror::Error;

use crate::native::NativeFn;
use crate::proto::Proto;

/// Whether a function is called as a helper (`call N`) or a kfunc (`call` with src 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FuncKind {
    /// Helper: at most 5 register arguments.
    Helper,
    /// kfunc: up to 12 arguments, 6..12 through r11.
    Kfunc,
}

/// One registered function.
#[derive(Clone, Debug)]
pub struct FuncDesc {
    /// Name as printed in logs (`bpf_map_lookup_elem`).
    pub name: String,
    /// Helper id or kfunc BTF id.
    pub id: i32,
    /// Helper or kfunc.
    pub kind: FuncKind,
    /// Native implementation, if this registry can run it.
    pub native: Option<NativeFn>,
    /// Prototype for the verifier.
    pub proto: Proto,
}

impl FuncDesc {
    /// What the native does with each argument ([`Proto::native_args`], with the context
    /// layout of the packet-dynptr constructors kbpf ships).
    pub fn native_args(&self) -> Vec<crate::NativeArg> {
        let packet_at = crate::vmlinux::packet_ctx_off(&self.name);
        let moves = crate::packet_helpers::packet_ctx_arg(&self.name);
        let mut v = self.proto.native_args();
        for a in &mut v {
            if let crate::NativeArg::Ctx { packet_at: p } = a {
                *p = packet_at;
                if let Some(m) = &moves {
                    *a = m.clone();
                }
            }
        }
        v
    }
}

/// Registration failures.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RegistryError {
    /// The id is taken.
    #[error("{kind:?} id {id} is already registered")]
    Duplicate {
        /// Helper or kfunc.
        kind: FuncKind,
        /// The id.
        id: i32,
    },
    /// Helpers take at most five arguments.
    #[error("helper {0} takes {1} arguments; helpers take at most 5")]
    TooManyHelperArgs(String, usize),
    /// kfuncs take at most twelve (the kernel's `gen_kfunc_arg_proto` message).
    #[error("{}", kbpf_isa::KernelMsg::TooManyArgs(.0.clone(), *.1))]
    TooManyArgs(String, usize),
    /// The native function's arity differs from the prototype's argument count.
    #[error("{0}: native function takes {1} arguments, prototype {2}")]
    ArityMismatch(String, usize, usize),
}

/// Helpers and kfuncs known to an engine.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    helpers: HashMap<i32, FuncDesc>,
    kfuncs: HashMap<i32, FuncDesc>,
    /// A view built from the functions (the verifier's kfunc table), kept until they change.
    derived: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers a helper with a native implementation and all-scalar arguments.
    pub fn add_helper(&mut self, id: i32, name: &str, f: NativeFn) -> Result<(), RegistryError> {
        self.register(FuncKind::Helper, id, name, Proto::scalars(f.arity()), Some(f))
    }

    /// Registers a kfunc with a native implementation and all-scalar arguments: one call for an
    /// `extern "C"` Rust function of up to 12 `u64` parameters.
    pub fn add_kfunc(&mut self, btf_id: i32, name: &str, f: NativeFn) -> Result<(), RegistryError> {
        self.register(FuncKind::Kfunc, btf_id, name, Proto::scalars(f.arity()), Some(f))
    }

    /// Registers a function with a full prototype; `native` may be absent (verification only).
    pub fn register(
        &mut self,
        kind: FuncKind,
        id: i32,
        name: &str,
        proto: Proto,
        native: Option<NativeFn>,
    ) -> Result<(), RegistryError> {
        let n = proto.args.len();
        match kind {
            FuncKind::Helper if n > 5 => return Err(RegistryError::TooManyHelperArgs(name.to_string(), n)),
            // a prototype alone may be longer (BTF can say so); the verifier refuses the call
            FuncKind::Kfunc if n > crate::MAX_ARGS && native.is_some() => {
                return Err(RegistryError::TooManyArgs(name.to_string(), n));
            }
            _ => {}
        }
        if let Some(f) = native
            && f.arity() != n
        {
            return Err(RegistryError::ArityMismatch(name.to_string(), f.arity(), n));
        }
        let map = match kind {
            FuncKind::Helper => &mut self.helpers,
            FuncKind::Kfunc => &mut self.kfuncs,
        };
        if map.contains_key(&id) {
            return Err(RegistryError::Duplicate { kind, id });
        }
        map.insert(id, FuncDesc { name: name.to_string(), id, kind, native, proto });
        self.derived = OnceLock::new();
        Ok(())
    }

    /// A value derived from the registered functions, built by `build` on first use and kept
    /// until a function is registered, so that a caller verifying many programs with one
    /// registry converts it once. One kind of view is cached; another kind is built each time.
    pub fn derived<T: Any + Send + Sync + Clone>(&self, build: impl Fn(&Registry) -> T) -> T {
        let slot = self.derived.get_or_init(|| Arc::new(build(self)));
        match slot.downcast_ref::<T>() {
            Some(v) => v.clone(),
            None => build(self),
        }
    }

    /// Helper by id.
    pub fn helper(&self, id: i32) -> Option<&FuncDesc> {
        self.helpers.get(&id)
    }

    /// kfunc by BTF id.
    pub fn kfunc(&self, btf_id: i32) -> Option<&FuncDesc> {
        self.kfuncs.get(&btf_id)
    }

    /// Helper by name.
    pub fn helper_by_name(&self, name: &str) -> Option<&FuncDesc> {
        self.helpers.values().find(|d| d.name == name)
    }

    /// kfunc by name.
    pub fn kfunc_by_name(&self, name: &str) -> Option<&FuncDesc> {
        self.kfuncs.values().find(|d| d.name == name)
    }

    /// All entries, helpers first, each group sorted by id.
    pub fn iter(&self) -> impl Iterator<Item = &FuncDesc> {
        let mut h: Vec<_> = self.helpers.values().collect();
        h.sort_by_key(|d| d.id);
        let mut k: Vec<_> = self.kfuncs.values().collect();
        k.sort_by_key(|d| d.id);
        h.into_iter().chain(k)
    }
}
