//! The kbpf command-line tool.

fn main() {}
