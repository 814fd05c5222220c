//! A differential harness for refactorings of the walk: every opcode with a spread of register
//! numbers, offsets and immediates, after three register states, as two program types, with
//! stack arguments on and off. Each case's verdict, error, error instruction and level-2 log are
//! hashed; it writes one line per opcode and register pair (the cases' combined hash) to the
//! file named by its argument; two builds agree when their files are identical (`cmp`):
//! `cargo run --release -p kbpf-verifier --example walk_digest -- FILE`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;

use kbpf_isa::RawInsn;
use kbpf_verifier::{ProgType, VerifyOptions, verify};

/// Register states before the slot: none, scalars, pointers (stack, context, a scalar).
fn prefixes() -> Vec<Vec<RawInsn>> {
    let r = RawInsn::new;
    let scalars: Vec<RawInsn> = (0..10).map(|d| r(0xb7, d, 0, 0, 0)).collect();
    let pointers = vec![
        r(0xb7, 0, 0, 0, 0),
        r(0xbf, 2, 10, 0, 0),
        r(0x07, 2, 0, 0, -8),
        r(0xbf, 3, 1, 0, 0),
        r(0xb7, 4, 0, 0, 4),
        r(0xb7, 5, 0, 0, -1),
        r(0x7b, 10, 4, -8, 0),
    ];
    vec![vec![], scalars, pointers]
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: walk_digest FILE");
        std::process::exit(2);
    };
    let file = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::BufWriter::new(file);
    let regs: [u8; 5] = [0, 1, 10, 11, 12];
    let offs: [i16; 6] = [0, 1, -8, 8, 16, 32];
    let imms: [i32; 7] = [0, 1, 16, 32, 64, -1, 1 << 16];
    let types = [ProgType::SocketFilter, ProgType::SchedCls];
    let mut n = 0u64;
    for code in 0..=255u8 {
        for &dst in &regs {
            for &src in &regs {
                let mut h = DefaultHasher::new();
                for &off in &offs {
                    for &imm in &imms {
                        let slot = RawInsn::new(code, dst, src, off, imm);
                        for (pi, pre) in prefixes().iter().enumerate() {
                            let mut p = pre.clone();
                            p.push(slot);
                            if code == 0x18 {
                                p.push(RawInsn::new(0, 0, 0, 0, 0));
                            }
                            p.extend([RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)]);
                            for (ti, &pt) in types.iter().enumerate() {
                                for stack_args in [false, true] {
                                    let opts = VerifyOptions {
                                        prog_type: pt,
                                        stack_args,
                                        log_level: 2,
                                        ..VerifyOptions::default()
                                    };
                                    let o = verify(&p, &opts);
                                    let err = o.error.as_ref().map(|e| (e.message().to_string(), e.insn()));
                                    (off, imm, pi, ti, stack_args, o.accepted, err, &o.log).hash(&mut h);
                                    n += 1;
                                }
                            }
                        }
                    }
                }
                if let Err(e) = writeln!(out, "{code:02x} {dst} {src} {:016x}", h.finish()) {
                    eprintln!("{path}: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    }
    println!("{n} cases");
}
