//! Prototypes as data: what each argument must be, what comes back, and the kfunc flags.

/// What the verifier must prove about one argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Any scalar.
    Scalar,
    /// A scalar whose value must be known (`__k`).
    Const,
    /// Size of the memory argument just before it (`__sz`; `__szk` adds [`ArgKind::Const`]).
    MemSize {
        /// Must be a known constant (`__szk`).
        constant: bool,
    },
    /// Pointer to memory of the size given by the next argument, or of a fixed size.
    Mem {
        /// Fixed size in bytes, when no size argument follows.
        size: Option<u32>,
        /// Memory may be uninitialised (the callee writes it; `__uninit`).
        uninit: bool,
    },
    /// The program's context.
    Ctx,
    /// Pointer to a kernel object of the named BTF struct.
    BtfId(String),
    /// `struct bpf_dynptr *`.
    Dynptr,
    /// Iterator state `struct bpf_iter_<name> *` (`__iter`, or the first argument of iterator kfuncs).
    Iter(String),
    /// Pointer to a read-only, NUL-terminated constant string (`__str`).
    ConstStr,
    /// `struct bpf_timer *`.
    Timer,
    /// A map pointer (`__map`, or `struct bpf_map *`).
    Map,
    /// A value of the map in argument `.0` (0-based), its value size (a helper's
    /// `ARG_PTR_TO_MAP_VALUE`).
    MapValue(usize),
    /// Arena pointer (`__arena`): register arguments only.
    Arena,
    /// `struct bpf_prog_aux *` (`__prog`): supplied by the verifier, register only.
    ProgAux,
    /// Ignored by the verifier (`__ign`).
    Ignored,
    /// Pointer to a callback subprogram.
    Callback,
}

/// One argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgProto {
    /// Parameter name as in the prototype (suffixes included), used in messages.
    pub name: String,
    /// The check.
    pub kind: ArgKind,
    /// NULL is allowed (`__opt`, `__nullable`).
    pub nullable: bool,
}

impl ArgProto {
    /// A plain scalar parameter.
    pub fn scalar(name: &str) -> ArgProto {
        ArgProto { name: name.to_string(), kind: ArgKind::Scalar, nullable: false }
    }
}

/// What a call leaves in r0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetKind {
    /// Nothing meaningful (r0 becomes unknown scalar for helpers returning void).
    Void,
    /// A scalar.
    Scalar,
    /// Pointer to a kernel object of the named BTF struct.
    BtfId(String),
    /// Pointer to memory of a known size.
    Mem(u32),
    /// Pointer to a map value (helpers like `bpf_map_lookup_elem`).
    MapValue,
}

/// kfunc flags (`KF_*`), as a small bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KfuncFlags(u32);

macro_rules! flags {
    ($($name:ident = $bit:expr, $doc:literal;)*) => {
        impl KfuncFlags {
            $(#[doc = $doc] pub const $name: KfuncFlags = KfuncFlags(1 << $bit);)*
            /// Every flag with its kernel name.
            pub const NAMED: &'static [(KfuncFlags, &'static str)] =
                &[$((KfuncFlags::$name, concat!("KF_", stringify!($name))),)*];
        }
    };
}

flags! {
    ACQUIRE = 0, "Returns a referenced object that must be released.";
    RELEASE = 1, "Releases the referenced object in r1.";
    RET_NULL = 2, "May return NULL.";
    TRUSTED_ARGS = 3, "Pointer arguments must be trusted (or referenced).";
    SLEEPABLE = 5, "Only in sleepable programs.";
    DESTRUCTIVE = 6, "Destructive (needs CAP_SYS_BOOT).";
    RCU = 7, "Arguments may be RCU-protected pointers.";
    ITER_NEW = 8, "Iterator constructor.";
    ITER_NEXT = 9, "Iterator step.";
    ITER_DESTROY = 10, "Iterator destructor.";
    RCU_PROTECTED = 11, "Only inside an RCU read section.";
    FASTCALL = 12, "Callee preserves caller-saved registers it does not use.";
}

impl KfuncFlags {
    /// No flags.
    pub const NONE: KfuncFlags = KfuncFlags(0);

    /// Both sets of flags.
    pub const fn union(self, other: KfuncFlags) -> KfuncFlags {
        KfuncFlags(self.0 | other.0)
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: KfuncFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Kernel names of the flags set.
    pub fn names(self) -> Vec<&'static str> {
        KfuncFlags::NAMED.iter().filter(|(f, _)| self.contains(*f)).map(|(_, n)| *n).collect()
    }
}

impl std::ops::BitOr for KfuncFlags {
    type Output = KfuncFlags;
    fn bitor(self, rhs: KfuncFlags) -> KfuncFlags {
        KfuncFlags(self.0 | rhs.0)
    }
}

/// A full prototype.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proto {
    /// Arguments in order (up to 12 for kfuncs, 5 for helpers).
    pub args: Vec<ArgProto>,
    /// Return.
    pub ret: Option<RetKind>,
    /// kfunc flags.
    pub flags: KfuncFlags,
    /// Program types allowed to call it (`None`: all).
    pub prog_types: Option<Vec<kbpf_isa::KernelProgType>>,
}

impl Proto {
    /// `n` scalar arguments returning a scalar.
    pub fn scalars(n: usize) -> Proto {
        Proto {
            args: (0..n).map(|i| ArgProto::scalar(&format!("a{}", i + 1))).collect(),
            ret: Some(RetKind::Scalar),
            ..Proto::default()
        }
    }
}

/// What a native does with one argument: what an engine that does not trust the program must
/// check before calling it (the interpreter does; JIT code relies on the verifier). A native
/// that dereferences its arguments carries one per parameter ([`crate::NativeFn::contract`]);
/// [`Proto::native_args`] derives the same from a prototype (kbpf's natives agree with theirs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NativeArg {
    /// Used as a number, never dereferenced.
    Value,
    /// Memory the native reads (and writes, when `write`).
    Mem {
        /// How many bytes.
        len: MemLen,
        /// The native writes it.
        write: bool,
        /// NULL is allowed (the native then touches nothing).
        nullable: bool,
    },
    /// A string that must be NUL-terminated inside its memory.
    Str,
    /// A 16-byte `struct bpf_dynptr` the native writes; when `init`, it also reads it, so its
    /// contents (`data + offset`, `size`) must describe live memory.
    Dynptr {
        /// The native reads the dynptr (it is not an `__uninit` output).
        init: bool,
    },
    /// Iterator state of `size` bytes, read and written. kbpf's iterators hold plain integers,
    /// so any contents are safe.
    Iter {
        /// `sizeof(struct bpf_iter_<name>)`.
        size: u32,
    },
    /// The program's context.
    Ctx {
        /// Offset of the host `data`/`data_end` pointers the native reads from a run-time
        /// packet context (`bpf_dynptr_from_skb`/`_xdp`); `None`: the native does not read it.
        packet_at: Option<u64>,
    },
    /// The program's context, a packet context the test run built, whose packet the native may
    /// move and rewrite: the host pointers at `at` are `data`, `data_end`, `data_meta`, then
    /// the bounds of the packet's whole buffer, `head` and `end` (headroom and tailroom
    /// included; [`crate::packet_helpers`]). The native reads and writes those five pointers
    /// and any byte of `head..end`, keeping `head <= data_meta <= data <= data_end <= end`.
    PacketCtx {
        /// Offset of the host pointers (the uapi structure's size).
        at: u64,
    },
    /// A packet context of either layout ([`NativeArg::PacketCtx`] at the offset its kind tag
    /// names, [`crate::packet_helpers::ctx_kind_at`]), for helpers the skb and xdp types share.
    AnyPacketCtx,
    /// A map of the run.
    Map,
    /// A value of the map in argument `map` (its value size), read by the native.
    MapValue {
        /// The argument holding the map (0-based).
        map: usize,
        /// NULL is allowed (the native then reads nothing).
        nullable: bool,
    },
    /// A `struct bpf_timer` field of a map value of the run.
    Timer,
    /// Nothing an engine can check; calling the native with a program-supplied value is refused.
    Unchecked(&'static str),
}

/// Why a memory argument without a size argument cannot be checked.
pub const UNSIZED_MEM: &str = "memory argument without a size argument";
/// Why an arena pointer cannot be checked.
pub const ARENA: &str = "arena pointer (kbpf has no arena)";

impl NativeArg {
    /// A plain value.
    pub const V: NativeArg = NativeArg::Value;
    /// An initialized dynptr.
    pub const DYNPTR: NativeArg = NativeArg::Dynptr { init: true };
    /// A dynptr the native initializes.
    pub const DYNPTR_OUT: NativeArg = NativeArg::Dynptr { init: false };

    /// Memory of the size in argument `size_arg`.
    pub const fn mem(size_arg: usize, write: bool, nullable: bool) -> NativeArg {
        NativeArg::Mem { len: MemLen::Arg(size_arg), write, nullable }
    }

    /// Memory of `n` bytes the native reads.
    pub const fn fixed(n: u32, nullable: bool) -> NativeArg {
        NativeArg::Mem { len: MemLen::Fixed(n), write: false, nullable }
    }
}

/// Length of a [`NativeArg::Mem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemLen {
    /// A fixed number of bytes.
    Fixed(u32),
    /// The value of argument `.0` (0-based), taken as the full 64-bit register.
    Arg(usize),
}

impl Proto {
    /// What a native with this prototype does with each argument.
    pub fn native_args(&self) -> Vec<NativeArg> {
        (0..self.args.len()).map(|i| self.native_arg(i)).collect()
    }

    fn native_arg(&self, i: usize) -> NativeArg {
        let Some(a) = self.args.get(i) else { return NativeArg::Unchecked("no such argument") };
        match &a.kind {
            ArgKind::Scalar | ArgKind::Const | ArgKind::MemSize { .. } | ArgKind::Ignored => NativeArg::Value,
            ArgKind::Mem { size: Some(n), uninit } => {
                NativeArg::Mem { len: MemLen::Fixed(*n), write: *uninit, nullable: a.nullable }
            }
            ArgKind::Mem { size: None, uninit } => match self.args.get(i + 1).map(|n| &n.kind) {
                Some(ArgKind::MemSize { .. }) => {
                    NativeArg::Mem { len: MemLen::Arg(i + 1), write: *uninit, nullable: a.nullable }
                }
                _ => NativeArg::Unchecked("memory argument without a size argument"),
            },
            ArgKind::Ctx => NativeArg::Ctx { packet_at: None },
            ArgKind::BtfId(name) => crate::testmod::object_arg(name, a.nullable)
                .unwrap_or(NativeArg::Unchecked("pointer to a kernel object kbpf does not model")),
            ArgKind::Dynptr => NativeArg::Dynptr { init: !a.name.ends_with("__uninit") },
            ArgKind::Iter(name) => NativeArg::Iter { size: crate::vmlinux::iter_state_size(name) },
            ArgKind::ConstStr => NativeArg::Str,
            ArgKind::Timer => NativeArg::Timer,
            ArgKind::Map => NativeArg::Map,
            ArgKind::MapValue(map) => NativeArg::MapValue { map: *map, nullable: a.nullable },
            ArgKind::Arena => NativeArg::Unchecked(ARENA),
            ArgKind::ProgAux => NativeArg::Unchecked("program aux pointer (supplied by the verifier)"),
            ArgKind::Callback => NativeArg::Unchecked("callback"),
        }
    }
}
