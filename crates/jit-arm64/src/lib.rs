//! arm64 JIT backend (dynasm aarch64) (work in progress; see the issue tracker).
