//! Host functions as closures: a [`Linker`] registers each closure once, for the verifier (a
//! helper id or kfunc name with all-scalar arguments) and for both engines (a native entry).
//!
//! Engines call natives by address, with no room for a closure's state, so each closure gets a
//! slot and the native of slot `N` is a monomorphic `extern "C"` trampoline that finds the
//! closures of the run in progress on this thread ([`HostScope`]) and calls number `N`. The
//! trampoline catches a panic (nothing unwinds through JIT frames or the interpreter's native
//! call): the call returns 0 to the program, and the run that set the scope resumes the panic
//! once the program has returned. Arguments and results are plain `u64` values, so a closure
//! cannot be handed memory the verifier did not check.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use kbpf_kfunc::{FuncKind, NativeFn, Proto, Registry, RegistryError};
use kbpf_verifier::HostHelper;
use thiserror::Error;

/// Most closures one [`Linker`] holds.
pub const MAX_HOST_FNS: usize = 64;
/// BTF id of the first host kfunc (ids of kfuncs registered by name count up from it).
pub const HOST_KFUNC_BASE_ID: i32 = 0x6000_0000;

type Dyn = dyn Fn(&[u64; 5]) -> u64 + Send + Sync;

/// A closure that can serve as a host function: `Fn(u64, ..) -> u64` of 0 to 5 arguments.
pub trait IntoHostFn<Args>: Send + Sync + 'static {
    /// Number of arguments.
    const ARITY: usize;
    /// The closure behind a uniform signature.
    fn into_dyn(self) -> Arc<Dyn>;
}

macro_rules! into_host_fn {
    ($n:expr; $($a:ident),*) => {
        impl<F> IntoHostFn<($($a,)*)> for F
        where
            F: Fn($($a),*) -> u64 + Send + Sync + 'static,
        {
            const ARITY: usize = $n;
            #[allow(unused_variables)]
            fn into_dyn(self) -> Arc<Dyn> {
                Arc::new(move |xs: &[u64; 5]| {
                    let mut _i = 0;
                    $(let $a = { _i += 1; xs[_i - 1] };)*
                    self($($a),*)
                })
            }
        }
    };
}
// (type parameters named like values: each stands for `u64`)
#[allow(non_camel_case_types)]
mod arities {
    pub type a = u64;
    pub type b = u64;
    pub type c = u64;
    pub type d = u64;
    pub type e = u64;
}
use arities::{a, b, c, d, e};
into_host_fn!(0;);
into_host_fn!(1; a);
into_host_fn!(2; a, b);
into_host_fn!(3; a, b, c);
into_host_fn!(4; a, b, c, d);
into_host_fn!(5; a, b, c, d, e);

/// The closures of one linker.
pub(crate) struct HostTable {
    fns: Vec<Arc<Dyn>>,
}

impl HostTable {
    pub(crate) fn is_empty(&self) -> bool {
        self.fns.is_empty()
    }
}

thread_local! {
    /// The host functions of the run in progress on this thread.
    static CURRENT: RefCell<Option<Arc<HostTable>>> = const { RefCell::new(None) };
    /// The first panic a closure raised during that run (closures run on the run's thread).
    static PANIC: RefCell<Option<Box<dyn Any + Send>>> = const { RefCell::new(None) };
}

/// Makes `table` the one trampolines call on this thread until dropped; on drop it restores
/// the previous table (runs nest: a closure may run another program).
pub(crate) struct HostScope {
    prev: Option<Arc<HostTable>>,
    prev_panic: Option<Box<dyn Any + Send>>,
}

impl HostScope {
    pub(crate) fn enter(table: &Arc<HostTable>) -> HostScope {
        let prev = CURRENT.with(|c| c.replace(Some(table.clone())));
        let prev_panic = PANIC.with(|p| p.borrow_mut().take());
        HostScope { prev, prev_panic }
    }

    /// Ends the scope and resumes a panic a closure raised during it.
    pub(crate) fn finish(self) {
        let payload = PANIC.with(|p| p.borrow_mut().take());
        drop(self);
        if let Some(p) = payload {
            std::panic::resume_unwind(p);
        }
    }
}

impl Drop for HostScope {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
        let prev_panic = self.prev_panic.take();
        PANIC.with(|p| *p.borrow_mut() = prev_panic);
    }
}

/// Calls closure `slot` of the current table; 0 without one (a registry used outside a run of
/// its linker) or after a panic, which is kept for [`HostScope::finish`].
fn dispatch(slot: usize, args: [u64; 5]) -> u64 {
    let Some(table) = CURRENT.with(|c| c.borrow().clone()) else { return 0 };
    let Some(f) = table.fns.get(slot) else { return 0 };
    match catch_unwind(AssertUnwindSafe(|| f(&args))) {
        Ok(v) => v,
        Err(p) => {
            PANIC.with(|slot| {
                let mut slot = slot.borrow_mut();
                if slot.is_none() {
                    *slot = Some(p);
                }
            });
            0
        }
    }
}

extern "C" fn t0<const N: usize>() -> u64 {
    dispatch(N, [0; 5])
}
extern "C" fn t1<const N: usize>(a: u64) -> u64 {
    dispatch(N, [a, 0, 0, 0, 0])
}
extern "C" fn t2<const N: usize>(a: u64, b: u64) -> u64 {
    dispatch(N, [a, b, 0, 0, 0])
}
extern "C" fn t3<const N: usize>(a: u64, b: u64, c: u64) -> u64 {
    dispatch(N, [a, b, c, 0, 0])
}
extern "C" fn t4<const N: usize>(a: u64, b: u64, c: u64, d: u64) -> u64 {
    dispatch(N, [a, b, c, d, 0])
}
extern "C" fn t5<const N: usize>(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    dispatch(N, [a, b, c, d, e])
}

macro_rules! trampoline_table {
    ($($n:literal)*) => {
        /// The trampoline of `slot` for `arity` arguments.
        fn trampoline(arity: usize, slot: usize) -> Option<NativeFn> {
            Some(match arity {
                0 => NativeFn::A0(*[$(t0::<$n> as extern "C" fn() -> u64),*].get(slot)?),
                1 => NativeFn::A1(*[$(t1::<$n> as extern "C" fn(u64) -> u64),*].get(slot)?),
                2 => NativeFn::A2(*[$(t2::<$n> as extern "C" fn(u64, u64) -> u64),*].get(slot)?),
                3 => NativeFn::A3(*[$(t3::<$n> as extern "C" fn(u64, u64, u64) -> u64),*].get(slot)?),
                4 => NativeFn::A4(*[$(t4::<$n> as extern "C" fn(u64, u64, u64, u64) -> u64),*].get(slot)?),
                5 => NativeFn::A5(*[$(t5::<$n> as extern "C" fn(u64, u64, u64, u64, u64) -> u64),*].get(slot)?),
                _ => return None,
            })
        }
    };
}
trampoline_table!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
    32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);

/// Why a host function could not be registered.
#[derive(Debug, Error)]
pub enum LinkError {
    /// The kernel already defines this helper id (it would change what a kernel program means).
    #[error("helper id {0} is the kernel's {1}; host helpers take ids the kernel does not use")]
    KernelHelper(i32, String),
    /// The registry refused it (duplicate id, arity).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// More closures than [`MAX_HOST_FNS`].
    #[error("a linker holds at most {MAX_HOST_FNS} host functions")]
    TooMany,
    /// A kfunc of that name exists already.
    #[error("kfunc {0} is already registered")]
    DuplicateKfunc(String),
}

/// Host functions for the verifier and the engines, registered once: wasmtime's
/// `Linker::func_wrap`, rbpf's `register_helper`.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// let seen = Arc::new(AtomicU64::new(0));
/// let mut linker = kbpf::Linker::new();
/// let s = seen.clone();
/// linker.func_wrap(1000, "host_add", move |a: u64, b: u64| { s.fetch_add(1, Ordering::Relaxed); a + b })?;
/// linker.kfunc_wrap("host_twice", |x: u64| 2 * x)?;
/// // r0 = host_twice(host_add(r1 = 20, r2 = 1))
/// let src = "r1 = 20\nr2 = 1\ncall 1000\nr1 = r0\ncall host_twice\nexit\n";
/// let verified = kbpf::Object::from_asm(src, &linker)?.main()?.verify(&linker, &kbpf::VerifyConfig::mem(0))?;
/// for engine in [kbpf::Engine::Interp, kbpf::Engine::Jit] {
///     assert_eq!(verified.compile(engine)?.run(&mut [])?, 42);
/// }
/// assert_eq!(seen.load(Ordering::Relaxed), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Linker {
    pub(crate) registry: Arc<Registry>,
    pub(crate) table: Arc<HostTable>,
    pub(crate) helpers: Vec<HostHelper>,
}

impl Default for Linker {
    fn default() -> Self {
        Linker::new()
    }
}

impl Linker {
    /// The kernel helpers kbpf can run without a kernel (map helpers, `bpf_ktime_get_ns`,
    /// `bpf_get_prandom_u32`, ... `profiles::kernel()`), the vmlinux dynptr and iterator
    /// kfuncs and kbpf's test kfuncs (`profiles::testmod()`, the CLI's set).
    pub fn new() -> Linker {
        Linker::with_registry(kbpf_kfunc::profiles::testmod())
    }

    /// A linker over `registry`'s natives (e.g. `Registry::new()` for nothing at all).
    pub fn with_registry(registry: Registry) -> Linker {
        Linker {
            registry: Arc::new(registry),
            table: Arc::new(HostTable { fns: Vec::new() }),
            helpers: Vec::new(),
        }
    }

    /// The functions engines and the verifier see.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn add(
        &mut self,
        f: Arc<Dyn>,
        arity: usize,
        kind: FuncKind,
        id: i32,
        name: &str,
    ) -> Result<(), LinkError> {
        let slot = self.table.fns.len();
        let native = trampoline(arity, slot).ok_or(LinkError::TooMany)?;
        let mut registry = (*self.registry).clone();
        registry.register(kind, id, name, Proto::scalars(arity), Some(native))?;
        let mut fns = self.table.fns.clone();
        fns.push(f);
        self.registry = Arc::new(registry);
        self.table = Arc::new(HostTable { fns });
        Ok(())
    }

    /// Registers `f` as helper `id` (`call ID` in a program), with as many scalar arguments as
    /// `f` takes (0..=5). Ids the kernel defines are refused.
    pub fn func_wrap<A, F: IntoHostFn<A>>(
        &mut self,
        id: i32,
        name: &str,
        f: F,
    ) -> Result<&mut Self, LinkError> {
        if let Some(k) = kbpf_verifier::helper_names::helper_name(id) {
            return Err(LinkError::KernelHelper(id, k));
        }
        let arity = F::ARITY;
        self.add(f.into_dyn(), arity, FuncKind::Helper, id, name)?;
        self.helpers.push(HostHelper { id, name: name.to_string(), args: arity as u8 });
        Ok(self)
    }

    /// Registers `f` as kfunc `name` (`call NAME` in assembly) with scalar arguments; returns
    /// its BTF id (from [`HOST_KFUNC_BASE_ID`] up).
    pub fn kfunc_wrap<A, F: IntoHostFn<A>>(&mut self, name: &str, f: F) -> Result<i32, LinkError> {
        if self.registry.kfunc_by_name(name).is_some() {
            return Err(LinkError::DuplicateKfunc(name.to_string()));
        }
        let id = HOST_KFUNC_BASE_ID + self.table.fns.len() as i32;
        self.add(f.into_dyn(), F::ARITY, FuncKind::Kfunc, id, name)?;
        Ok(id)
    }
}

impl std::fmt::Debug for Linker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("host_fns", &self.table.fns.len())
            .field("helpers", &self.helpers)
            .finish()
    }
}
