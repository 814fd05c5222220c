//! The kernel-faithful verifier: abstract state, bounds, pruning, precision, log (work in progress; see the issue tracker).
