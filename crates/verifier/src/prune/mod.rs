//! State pruning (the kernel's `states.c`): checkpoints, equivalence, SCC visits and loops.

mod evict;
pub(crate) mod liveness;
pub(crate) mod scc;
pub(crate) mod states;
