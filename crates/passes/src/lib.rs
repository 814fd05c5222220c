//! Static passes over the instruction slice: subprograms, CFG, postorder, const-fold, liveness (work in progress; see the issue tracker).
