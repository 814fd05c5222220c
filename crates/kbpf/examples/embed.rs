//! Embedding kbpf: a host function with state, a program that calls it and counts in a map,
//! verified once, compiled once, run many times. `cargo run -p kbpf --example embed`.
//!
//! The same steps work for a clang object: `kbpf::Object::open("prog.o", &linker)?` and
//! `obj.program("my_func")?`, whose section gives the program type.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kbpf::{Engine, Linker, Object, VerifyConfig};

/// Per run: r0 = scale(input word), and hits[0] += 1.
const PROGRAM: &str = "
.map hits, array, 4, 8, 1
    r6 = *(u64 *)(r1 + 0)      ; the input buffer is the context
    r1 = r6
    call scale                 ; a host kfunc, by name
    r7 = r0
    r1 = r7
    call 1000                  ; a host helper, by id
    r1 = hits ll
    r2 = r10
    r2 += -4
    *(u32 *)(r10 - 4) = 0
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r1 = 1
    lock *(u64 *)(r0 + 0) += r1
out:
    r0 = r7
    exit
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Host functions: closures with captured state, registered once for the verifier and
    // both engines.
    let factor = 3;
    let logged = Arc::new(AtomicU64::new(0));
    let mut linker = Linker::new();
    linker.kfunc_wrap("scale", move |x: u64| x * factor)?;
    let l = logged.clone();
    linker.func_wrap(1000, "log_value", move |v: u64| {
        l.fetch_add(v, Ordering::Relaxed);
        0
    })?;

    // Open, pick, verify (8-byte context), compile once.
    let obj = Object::from_asm(PROGRAM, &linker)?;
    let verified = obj.main()?.verify(&linker, &VerifyConfig::mem(8))?;
    println!("verified: {} instructions processed", verified.stats().processed_insns);
    let handle = verified.compile(Engine::Jit)?;

    // Run many times.
    let mut total = 0;
    for i in 1..=10u64 {
        total += handle.run(&mut i.to_le_bytes())?;
    }
    let hits = handle.map("hits").ok_or("no map hits")?;
    let runs: u64 = hits.get(&0u32)?.unwrap_or(0);
    println!("sum of results {total}, host saw {}, map counted {runs} runs", logged.load(Ordering::Relaxed));
    assert_eq!((total, logged.load(Ordering::Relaxed), runs), (165, 165, 10));

    // The interpreter runs the same verified program with maps of its own.
    let interp = verified.compile(Engine::Interp)?;
    assert_eq!(interp.run(&mut 7u64.to_le_bytes())?, 21);
    println!("ok");
    Ok(())
}
