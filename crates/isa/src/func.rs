//! Function declarations that travel beside the instructions (BTF `func_info`, `.func`).

/// A declared function: where it starts and how many arguments it takes.
///
/// The verifier and the JITs learn a subprogram's argument count (and so its stack arguments)
/// only from these, like the kernel learns it from BTF `FUNC_PROTO`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncDecl {
    /// Slot index of the first instruction.
    pub pc: usize,
    /// Name.
    pub name: String,
    /// Number of parameters (may exceed the 12 allowed: the verifier rejects it then).
    pub nargs: u32,
    /// Global linkage (verified independently by the kernel).
    pub global: bool,
    /// The prototype returns an int or an enum (BTF `btf_type_is_small_int` / any enum): only
    /// such subprograms may use LD_ABS/LD_IND or tail calls. `.func` declarations declare
    /// int-returning functions.
    pub ret_scalar: bool,
    /// The entry point's exception callback (an `exception_callback:` decl tag names it): it
    /// may not be called directly.
    pub exception_cb: bool,
    /// The parameters' BTF shapes, when the declaration comes from BTF (empty otherwise:
    /// every parameter is then a scalar). A global function's arguments are typed by them.
    pub params: Vec<Param>,
}

/// One parameter as BTF declares it: what the verifier needs to type a global function's
/// argument (`btf_prepare_func_args`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Param {
    /// The type, modifiers and typedefs skipped.
    pub ty: ParamType,
    /// The `arg:` declaration tags without the prefix (`ctx`, `nonnull`, `trusted`, ...).
    pub tags: Vec<String>,
}

/// A parameter's type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// An integer or an enum.
    #[default]
    Scalar,
    /// A pointer.
    Ptr {
        /// The pointee's name (modifiers skipped; empty for an anonymous or unnamed type).
        name: String,
        /// The pointee's BTF kind as the kernel prints it (`STRUCT`, `INT`, `UNKN` for void).
        kind: String,
        /// The pointee's size, if it has one.
        size: Option<u32>,
        /// The first typedef met on the way to the pointee, qualifiers skipped (a kprobe
        /// parameter `bpf_user_pt_regs_t *` takes the context whatever the typedef names).
        typedef: Option<String>,
    },
    /// Anything else, by its kernel kind name (`STRUCT`, `FLOAT`, ...).
    Other(String),
}
