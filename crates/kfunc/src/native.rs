//! Native functions with 0 to 12 `u64` parameters, callable from the interpreter and the JITs.

use crate::proto::NativeArg;

/// Function pointers of 0 to 12 `u64` parameters that may dereference them.
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum RawNative {
    A0(unsafe extern "C" fn() -> u64),
    A1(unsafe extern "C" fn(u64) -> u64),
    A2(unsafe extern "C" fn(u64, u64) -> u64),
    A3(unsafe extern "C" fn(u64, u64, u64) -> u64),
    A4(unsafe extern "C" fn(u64, u64, u64, u64) -> u64),
    A5(unsafe extern "C" fn(u64, u64, u64, u64, u64) -> u64),
    A6(unsafe extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64),
    A7(unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64) -> u64),
    A8(unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> u64),
    A9(unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64, u64) -> u64),
    A10(unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64, u64, u64) -> u64),
    A11(unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64) -> u64),
    A12(unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64) -> u64),
}

/// A native function following the C calling convention with `arity` `u64` arguments.
///
/// `NativeFn::A0(f)` .. `NativeFn::A12(f)` wrap a safe `extern "C" fn`: whatever values it
/// gets, it answers for what it does with them. A native that dereferences its arguments is
/// an `unsafe extern "C" fn` and carries its contract, one [`NativeArg`] per parameter, bound to
/// the pointer by the `unsafe` [`NativeFn::with_contract`]: engines check the arguments against
/// that contract (never against a prototype someone registered it with), so no registry built
/// in safe code can make an engine pass it something it would misuse.
#[derive(Clone, Copy, Debug)]
pub struct NativeFn {
    raw: RawNative,
    contract: Option<&'static [NativeArg]>,
}

macro_rules! safe_ctors {
    ($($name:ident($($a:ident),*);)*) => {
        #[allow(non_snake_case)]
        impl NativeFn {
            $(
                #[doc = concat!("A safe native of the arity `", stringify!($name), "` names.")]
                pub fn $name(f: extern "C" fn($($a),*) -> u64) -> NativeFn {
                    NativeFn { raw: RawNative::$name(f), contract: None }
                }
            )*
        }
    };
}

safe_ctors! {
    A0();
    A1(u64);
    A2(u64, u64);
    A3(u64, u64, u64);
    A4(u64, u64, u64, u64);
    A5(u64, u64, u64, u64, u64);
    A6(u64, u64, u64, u64, u64, u64);
    A7(u64, u64, u64, u64, u64, u64, u64);
    A8(u64, u64, u64, u64, u64, u64, u64, u64);
    A9(u64, u64, u64, u64, u64, u64, u64, u64, u64);
    A10(u64, u64, u64, u64, u64, u64, u64, u64, u64, u64);
    A11(u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64);
    A12(u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64);
}

impl NativeFn {
    /// A native that dereferences its arguments as `contract` says (one entry per parameter;
    /// otherwise `None`).
    ///
    /// # Safety
    ///
    /// Called with arguments that satisfy `contract` (what [`NativeArg`] spells out for each:
    /// memory valid for the size, strings NUL-terminated inside their memory, dynptrs whose
    /// views are valid memory, ...), `f` touches no other memory than that and the native's own
    /// state, and returns.
    #[allow(unsafe_code)]
    pub unsafe fn with_contract(raw: RawNative, contract: &'static [NativeArg]) -> Option<NativeFn> {
        let f = NativeFn { raw, contract: Some(contract) };
        (contract.len() == f.arity()).then_some(f)
    }

    /// What the native does with each argument; `None` for a safe native (any values will do).
    pub fn contract(&self) -> Option<&'static [NativeArg]> {
        self.contract
    }

    /// Number of parameters.
    pub fn arity(&self) -> usize {
        match self.raw {
            RawNative::A0(_) => 0,
            RawNative::A1(_) => 1,
            RawNative::A2(_) => 2,
            RawNative::A3(_) => 3,
            RawNative::A4(_) => 4,
            RawNative::A5(_) => 5,
            RawNative::A6(_) => 6,
            RawNative::A7(_) => 7,
            RawNative::A8(_) => 8,
            RawNative::A9(_) => 9,
            RawNative::A10(_) => 10,
            RawNative::A11(_) => 11,
            RawNative::A12(_) => 12,
        }
    }

    /// Entry address, for JITs that emit a direct call.
    pub fn addr(&self) -> usize {
        match self.raw {
            RawNative::A0(f) => f as usize,
            RawNative::A1(f) => f as usize,
            RawNative::A2(f) => f as usize,
            RawNative::A3(f) => f as usize,
            RawNative::A4(f) => f as usize,
            RawNative::A5(f) => f as usize,
            RawNative::A6(f) => f as usize,
            RawNative::A7(f) => f as usize,
            RawNative::A8(f) => f as usize,
            RawNative::A9(f) => f as usize,
            RawNative::A10(f) => f as usize,
            RawNative::A11(f) => f as usize,
            RawNative::A12(f) => f as usize,
        }
    }

    /// Calls the function with the first `arity` values of `a`.
    ///
    /// # Safety
    ///
    /// The arguments satisfy [`NativeFn::contract`] (nothing to satisfy for a safe native):
    /// every pointer argument is valid for the bytes the native reads or writes for the
    /// duration of the call (a memory argument for its size argument or fixed size, writable
    /// when the callee writes it); a dynptr or iterator argument points to 16 (or the
    /// iterator's size) bytes laid out as the native's structure, and a dynptr's own
    /// `data + offset .. + size` is valid memory (writable unless it is marked read-only); a
    /// string is NUL-terminated inside its memory; a context argument is the run-time context
    /// `kbpf::test_run` builds, with valid packet pointers; map and timer arguments are maps
    /// (timer fields) of the maps active for the run.
    #[allow(unsafe_code)]
    pub unsafe fn call(&self, a: &[u64; 12]) -> u64 {
        // SAFETY: the caller upholds the native's contract (above); the variant fixes the arity
        // so the function is called with exactly the parameters it declares.
        unsafe {
            match self.raw {
                RawNative::A0(f) => f(),
                RawNative::A1(f) => f(a[0]),
                RawNative::A2(f) => f(a[0], a[1]),
                RawNative::A3(f) => f(a[0], a[1], a[2]),
                RawNative::A4(f) => f(a[0], a[1], a[2], a[3]),
                RawNative::A5(f) => f(a[0], a[1], a[2], a[3], a[4]),
                RawNative::A6(f) => f(a[0], a[1], a[2], a[3], a[4], a[5]),
                RawNative::A7(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6]),
                RawNative::A8(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]),
                RawNative::A9(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]),
                RawNative::A10(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]),
                RawNative::A11(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]),
                RawNative::A12(f) => {
                    f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11])
                }
            }
        }
    }
}
