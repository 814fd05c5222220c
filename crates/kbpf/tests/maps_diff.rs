//! Random map programs, interpreter against the host JIT: sequences of lookups (with writes
//! through the returned pointer), updates with every flag and deletes on a hash map and an
//! array map, keys in and out of range. The interpreter runs the map helpers through its
//! checked environment, JIT code through the natives; results and map contents must agree.
//! `KBPF_MAP_DIFF_PROGRAMS=N` (default 150) sizes the run.

use kbpf::kfunc::profiles;
use kbpf::{Engine, RunOptions, SourceKind};

mod support;

mod mapgen;

use mapgen::{Lcg, program};

#[test]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    ignore = "no JIT backend for this host architecture"
)]
fn random_map_programs_agree_across_engines() {
    assert!(kbpf::host_backend().is_some(), "no JIT backend for this host architecture");
    let n: usize = std::env::var("KBPF_MAP_DIFF_PROGRAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    let registry = profiles::testmod();
    let dir = std::env::temp_dir().join(format!("kbpf-map-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Lcg(0x5eed);
    for k in 0..n {
        let src = program(&mut rng, 24);
        let path = dir.join(format!("p{k}.s"));
        std::fs::write(&path, &src).unwrap();
        let m = kbpf::read_module(&path, SourceKind::Asm, &registry, None).unwrap();
        let mut results = Vec::new();
        for engine in [Engine::Interp, Engine::Jit] {
            let h = support::handle(&m, engine, &registry, 8, RunOptions::default())
                .unwrap_or_else(|e| panic!("program {k} on {engine:?}: {e}\n{src}"));
            let rets: Vec<u64> = (0..2)
                .map(|_| {
                    h.run(&mut [0; 8]).unwrap_or_else(|e| panic!("program {k} on {engine:?}: {e}\n{src}"))
                })
                .collect();
            let dump: Vec<_> = h.map_set().iter().map(|m| m.entries()).collect();
            results.push((rets, dump));
        }
        assert_eq!(results[0], results[1], "program {k} (interp, jit):\n{src}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
