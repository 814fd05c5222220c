//! kbpf facade: composes the ISA, verifier, interpreter and JITs (work in progress; see the issue tracker).
