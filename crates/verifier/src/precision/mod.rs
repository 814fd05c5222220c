//! Precision tracking (the kernel's `backtrack.c`): walking the jump history backwards to mark
//! the registers and stack slots a decision depended on.

mod backtrack;

use crate::domain::state::VerifierState;
use crate::env::{Checkpoint, Program, SubprogFacts};
use crate::log::Log;

/// What precision backtracking reads and writes: it reads the program, the subprograms' facts
/// and the current state's history, and marks scalars precise in the checkpoint arena (never in
/// the current state), logging as it goes.
pub(crate) struct Precision<'e, 'a> {
    pub prog: &'e Program<'a>,
    pub subs: &'e SubprogFacts,
    pub cur: &'e VerifierState,
    pub arena: &'e mut [Checkpoint],
    pub log: &'e mut Log,
}
