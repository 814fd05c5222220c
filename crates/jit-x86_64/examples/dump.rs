//! Prints the JIT listing of a `.hex` program (one 8-byte instruction per line).
use kbpf_jit::{Backend, JitOptions};

fn main() {
    let path = std::env::args().nth(1).expect("usage: dump FILE.hex");
    let text = std::fs::read_to_string(path).expect("readable");
    let bytes: Vec<u8> = text
        .split_whitespace()
        .flat_map(|l| {
            (0..l.len()).step_by(2).map(move |i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
        })
        .collect();
    let prog = kbpf_isa::Program::from_bytes(&bytes).expect("decodes");
    let reg = kbpf_kfunc::profiles::conformance();
    print!("{}", kbpf_jit_x86_64::X86_64.dump(&prog, &reg, &JitOptions::default()).expect("compiles"));
}
