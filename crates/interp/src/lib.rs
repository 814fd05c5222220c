//! Reference interpreter: the semantics every other engine is compared against (work in progress; see the issue tracker).
