//! What a special stack slot's register describes (the kernel's `dynptr` / `iter` union of
//! `bpf_reg_state`): dynptr and open-coded iterator slots. Re-exported by [`super::state`].

/// `enum bpf_dynptr_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DynptrType {
    /// `BPF_DYNPTR_TYPE_LOCAL`: program memory (map values).
    Local,
    /// `BPF_DYNPTR_TYPE_RINGBUF`: a ring buffer sample (refcounted).
    Ringbuf,
    /// `BPF_DYNPTR_TYPE_SKB`.
    Skb,
    /// `BPF_DYNPTR_TYPE_XDP`.
    Xdp,
}

impl DynptrType {
    /// `dynptr_type_str`.
    pub fn as_str(self) -> &'static str {
        match self {
            DynptrType::Local => "local",
            DynptrType::Ringbuf => "ringbuf",
            DynptrType::Skb => "skb",
            DynptrType::Xdp => "xdp",
        }
    }
    /// `dynptr_type_refcounted`.
    pub fn refcounted(self) -> bool {
        self == DynptrType::Ringbuf
    }
}

/// `enum bpf_iter_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IterState {
    /// `BPF_ITER_STATE_ACTIVE`: `next` may still return an element.
    Active,
    /// `BPF_ITER_STATE_DRAINED`: `next` returned NULL.
    Drained,
}

/// Payload of a special stack slot's register.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum StackObj {
    /// Not a dynptr or iterator slot.
    #[default]
    None,
    /// One of the two slots of a dynptr.
    Dynptr {
        /// Dynptr type.
        ty: DynptrType,
        /// The slot at the dynptr's address (lower address, higher spi).
        first_slot: bool,
    },
    /// One slot of an iterator.
    Iter {
        /// Iterator type name without `bpf_iter_` (`num`, `testmod_seq`).
        name: std::sync::Arc<str>,
        /// Active or drained.
        state: IterState,
        /// Loop nesting depth (not compared by pruning; only the infinite-loop check).
        depth: u32,
    },
}
