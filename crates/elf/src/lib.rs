//! ELF object loader for clang -target bpf output (work in progress; see the issue tracker).
