//! State pruning (the kernel's `states.c`): checkpoints, equivalence, SCC visits and loops.

pub(crate) mod scc;
pub(crate) mod states;
