//! Native functions with 0 to 12 `u64` parameters, callable from the interpreter and the JITs.

/// A native function following the C calling convention with `arity` `u64` arguments.
///
/// The variant fixes the arity, so a JIT knows how many arguments to marshal. Natives take
/// program-supplied integers that may be addresses, so they are `unsafe` to call: what each
/// argument must be is the function's prototype ([`crate::Proto::native_args`]). A plain
/// `extern "C" fn` that only computes on its arguments coerces to these types.
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum NativeFn {
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

impl NativeFn {
    /// Number of parameters.
    pub fn arity(&self) -> usize {
        match self {
            NativeFn::A0(_) => 0,
            NativeFn::A1(_) => 1,
            NativeFn::A2(_) => 2,
            NativeFn::A3(_) => 3,
            NativeFn::A4(_) => 4,
            NativeFn::A5(_) => 5,
            NativeFn::A6(_) => 6,
            NativeFn::A7(_) => 7,
            NativeFn::A8(_) => 8,
            NativeFn::A9(_) => 9,
            NativeFn::A10(_) => 10,
            NativeFn::A11(_) => 11,
            NativeFn::A12(_) => 12,
        }
    }

    /// Entry address, for JITs that emit a direct call.
    pub fn addr(&self) -> usize {
        match *self {
            NativeFn::A0(f) => f as usize,
            NativeFn::A1(f) => f as usize,
            NativeFn::A2(f) => f as usize,
            NativeFn::A3(f) => f as usize,
            NativeFn::A4(f) => f as usize,
            NativeFn::A5(f) => f as usize,
            NativeFn::A6(f) => f as usize,
            NativeFn::A7(f) => f as usize,
            NativeFn::A8(f) => f as usize,
            NativeFn::A9(f) => f as usize,
            NativeFn::A10(f) => f as usize,
            NativeFn::A11(f) => f as usize,
            NativeFn::A12(f) => f as usize,
        }
    }

    /// Calls the function with the first `arity` values of `a`.
    ///
    /// # Safety
    ///
    /// The arguments must be what the registered prototype says, as [`crate::NativeArg`]
    /// spells it out for the first `arity` values: every pointer argument is valid for the
    /// bytes the native reads or writes for the duration of the call (a memory argument for its
    /// size argument or fixed size, writable when the callee writes it); a dynptr or iterator
    /// argument points to 16 (or the iterator's size) bytes laid out as the native's structure,
    /// and a dynptr's own `data + offset .. + size` is valid memory (writable unless it is marked
    /// read-only); a constant string is NUL-terminated inside its memory; a context argument is
    /// the run-time context `kbpf::test_run` builds, with valid packet pointers; map and timer
    /// arguments are maps (timer fields) of the maps active for the run. Scalar arguments may be
    /// anything.
    #[allow(unsafe_code)]
    pub unsafe fn call(&self, a: &[u64; 12]) -> u64 {
        // SAFETY: the caller upholds the native's contract (above); the variant fixes the arity
        // so the function is called with exactly the parameters it declares.
        unsafe {
            match *self {
                NativeFn::A0(f) => f(),
                NativeFn::A1(f) => f(a[0]),
                NativeFn::A2(f) => f(a[0], a[1]),
                NativeFn::A3(f) => f(a[0], a[1], a[2]),
                NativeFn::A4(f) => f(a[0], a[1], a[2], a[3]),
                NativeFn::A5(f) => f(a[0], a[1], a[2], a[3], a[4]),
                NativeFn::A6(f) => f(a[0], a[1], a[2], a[3], a[4], a[5]),
                NativeFn::A7(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6]),
                NativeFn::A8(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]),
                NativeFn::A9(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]),
                NativeFn::A10(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]),
                NativeFn::A11(f) => f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]),
                NativeFn::A12(f) => {
                    f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11])
                }
            }
        }
    }
}
