//! Precision tracking (the kernel's `backtrack.c`): walking the jump history backwards to mark
//! the registers and stack slots a decision depended on.

mod backtrack;
