//! Project automation: `cargo xtask test|conformance|kernel-diff|bench|fuzz`.

fn main() {}
