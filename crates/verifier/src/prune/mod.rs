//! State pruning (the kernel's `states.c`): checkpoints, equivalence, SCC visits and loops.

pub(crate) mod states;
