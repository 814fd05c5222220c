//! x86_64 JIT backend (dynasm) (work in progress; see the issue tracker).
