//! The running kernel as an oracle: bpf() syscall wrappers for load, log and test-run (work in progress; see the issue tracker).
