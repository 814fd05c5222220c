//! Kernel diff for map programs: the same program and maps loaded into the running kernel
//! (`BPF_PROG_LOAD` + `BPF_PROG_TEST_RUN` as a socket filter, the input as the packet) give
//! the same return values, run after run, as kbpf's interpreter and JIT. The examples read
//! their input through the context pointer; for the kernel they read it with legacy packet
//! loads (`r0 = *(u8 *)skb[N]`), which kbpf runs on its input buffer the same way.
//! Needs `bpf()`: `#[ignore]`d, run by `cargo xtask test` with `--ignored` where the oracle works.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use kbpf::kfunc::profiles;
use kbpf::verifier::{ProgType, VerifyOptions};
use kbpf::{Engine, SourceKind};
mod mapgen;

use kbpf_oracle::{
    LoadRequest, MapKind, MapSpec as KMap, create_map, load, map_update, skip_reason, test_run,
};

/// Runs `file` `inputs.len()` times in the kernel, returning the retvals (low 32 bits of r0).
fn kernel_runs(m: &kbpf::Module, inputs: &[&[u8]]) -> Vec<u64> {
    let mut fds = Vec::new();
    for s in &m.maps {
        let kind = match s.map_type {
            kbpf::isa::MapType::Hash => MapKind::Hash,
            kbpf::isa::MapType::Array => MapKind::Array,
            t => panic!("the oracle creates hash and array maps, not {t}"),
        };
        let spec = KMap {
            kind,
            key_size: s.key_size,
            value_size: s.value_size,
            max_entries: s.max_entries,
            name: s.name.clone(),
            flags: 0,
            data: None,
            frozen: false,
        };
        let fd = create_map(&spec).expect("map create");
        // initial contents (global data), value by value
        for (i, chunk) in s.data.chunks(s.value_size as usize).enumerate() {
            let mut v = chunk.to_vec();
            v.resize(s.value_size as usize, 0);
            map_update(&fd, &(i as u32).to_le_bytes(), &v).expect("map update");
        }
        fds.push(fd);
    }
    let mut req = LoadRequest::new(kbpf_oracle::ProgType::SocketFilter);
    req.map_fds = fds.iter().map(|f| f.raw()).collect();
    req.keep_fd = true;
    let v = load(&m.slots, &req);
    assert!(v.accepted, "kernel rejects: {}", v.log);
    let fd = v.fd.expect("fd kept");
    let _ = fd.as_raw_fd();
    // The kernel pulls the Ethernet header before a socket filter runs: `skb[0]` is the first
    // byte after it.
    let frame = |i: &[u8]| [&[0u8; 14][..], &packet(i)].concat();
    inputs.iter().map(|i| test_run(fd.as_fd(), &[], &frame(i), 1).expect("test run").retval as u64).collect()
}

/// The input, at least 16 bytes.
fn packet(i: &[u8]) -> Vec<u8> {
    let mut p = i.to_vec();
    p.resize(p.len().max(16), 0);
    p
}

/// `rX = *(u8 *)(r6 +N)` (a context byte) becomes `r0 = *(u8 *)skb[N]; rX = r0`.
fn with_packet_loads(src: &str) -> String {
    let mut out = String::new();
    for line in src.lines() {
        let t = line.trim();
        if let Some((dst, rest)) = t.split_once(" = *(u8 *)(r6 +")
            && let Some(n) = rest.strip_suffix(')')
        {
            out += &format!("    r0 = *(u8 *)skb[{n}]\n    {dst} = r0\n");
        } else {
            out += line;
            out.push('\n');
        }
    }
    out
}

fn kbpf_runs(m: &kbpf::Module, engine: Engine, inputs: &[&[u8]]) -> Vec<u64> {
    let linker = kbpf::Linker::with_registry(profiles::testmod());
    let prog = kbpf::Prog::from(m.clone());
    // Socket filters with LD_ABS, compared with the kernel's run of the same program: kbpf has
    // no socket-filter test run, so they run unverified (one handle: the maps persist).
    let h = match engine {
        Engine::Interp => prog.load_unverified(&linker, &kbpf::CompileOptions::default()),
        // SAFETY: the running kernel loaded (verified) this very program as a socket filter in
        // `kernel_runs` first; its accesses are bounds-checked LD_ABS and map values.
        Engine::Jit => unsafe { prog.compile_unverified(&linker, engine, &kbpf::CompileOptions::default()) },
    }
    .unwrap();
    inputs
        .iter()
        .map(|i| {
            let mut mem = packet(i);
            let r = h.run(&mut mem);
            r.unwrap() & 0xffff_ffff
        })
        .collect()
}

fn check(name: &str, inputs: &[&[u8]]) {
    if let Some(why) = skip_reason() {
        panic!("{why}");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    let text = with_packet_loads(&std::fs::read_to_string(&path).unwrap());
    let tmp = std::env::temp_dir().join(format!("kbpf-kdiff-{}-{name}", std::process::id()));
    std::fs::write(&tmp, text).unwrap();
    let m = kbpf::read_module(&tmp, SourceKind::Asm, &profiles::testmod(), None).unwrap();
    let out =
        kbpf::verify_module(&m, VerifyOptions { prog_type: ProgType::SocketFilter, ..Default::default() });
    assert!(out.accepted, "{name}: kbpf rejects: {:?}", out.error);
    let want = kernel_runs(&m, inputs);
    for e in [Engine::Interp, Engine::Jit] {
        assert_eq!(kbpf_runs(&m, e, inputs), want, "{name} on {e:?}");
    }
    eprintln!("{name}: kernel and kbpf agree on {want:?}");
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn map_counter_matches_the_kernel() {
    check("map_counter.s", &[b"a\x03\0\0", b"a\x01\0\0", b"\0\0\0\0", b"x\x04\0\0"]);
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn global_data_matches_the_kernel() {
    check("global_data.s", &[b"\0\0\0\0", b"\0\0\0\0"]);
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn hash_sum_matches_the_kernel() {
    check("map_sum.s", &[b"a\x03\0\0", b"a\x01\0\0", b"b\x07\0\0", b"a\x05\0\0"]);
}

/// Rejections that involve maps: kbpf's message is the kernel's.
#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn map_rejections_match_the_kernel() {
    if let Some(why) = skip_reason() {
        panic!("{why}");
    }
    let cases = [
        ".map h, hash, 4, 8, 1\n r2 = h ll\n r3 = 0\n call bpf_tail_call\n r0 = 0\n exit\n",
        ".map a, array, 4, 8, 2\n r1 = map_value(a, 0)\n r0 = 0\n exit\n",
        ".map a, array, 4, 8, 1\n r1 = map_value(a, 8)\n r0 = 0\n exit\n",
        ".map h, hash, 4, 8, 1\n r1 = map_value(h, 0)\n r0 = 0\n exit\n",
        ".map a, array, 4, 8, 1\n r1 = 0\n *(u64 *)(r10 -8) = r1\n r2 = r10\n r2 += -8\n r1 = a ll\n call bpf_map_delete_elem\n r0 = 0\n exit\n",
        ".map h, hash, 4, 8, 1\n r2 = r10\n r2 += -8\n r1 = h ll\n call bpf_map_lookup_elem\n r0 = 0\n exit\n",
    ];
    for (n, src) in cases.iter().enumerate() {
        let tmp = std::env::temp_dir().join(format!("kbpf-kdiff-{}-rej{n}.s", std::process::id()));
        std::fs::write(&tmp, src).unwrap();
        let m = kbpf::read_module(&tmp, SourceKind::Asm, &profiles::testmod(), None).unwrap();
        let ours = kbpf::verify_module(&m, VerifyOptions { log_level: 1, ..Default::default() });
        let fds: Vec<_> = m
            .maps
            .iter()
            .map(|s| {
                let kind =
                    if s.map_type == kbpf::isa::MapType::Hash { MapKind::Hash } else { MapKind::Array };
                create_map(&KMap {
                    kind,
                    key_size: s.key_size,
                    value_size: s.value_size,
                    max_entries: s.max_entries,
                    name: s.name.clone(),
                    flags: 0,
                    data: None,
                    frozen: false,
                })
                .unwrap()
            })
            .collect();
        let mut req = LoadRequest::new(kbpf_oracle::ProgType::SocketFilter);
        req.map_fds = fds.iter().map(|f| f.raw()).collect();
        let k = load(&m.slots, &req);
        assert_eq!(ours.accepted, k.accepted, "case {n}: {:?} vs {}", ours.error, k.log);
        let our_line = ours.error.as_ref().map(|e| e.message().to_string());
        // the kernel prints "expected prog array map for tail call" without a newline, so its
        // log's next line ("verification time ...") runs on
        let k_line = k.error_line.map(|l| l.split("verification time").next().unwrap_or("").to_string());
        assert_eq!(our_line, k_line, "case {n}");
        assert_eq!(
            ours.error.map(|e| format!("{:?}", e.errno())),
            k.errno.map(|e| format!("{e:?}")),
            "case {n}"
        );
    }
}

/// Random map-operation sequences (every update flag, deletes, keys beyond an array, a hash map
/// that fills up): the kernel's helpers and kbpf's give the same results, run after run.
#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn random_map_programs_match_the_kernel() {
    if let Some(why) = skip_reason() {
        panic!("{why}");
    }
    let mut rng = mapgen::Lcg(0xfeed);
    for k in 0..40 {
        let src = mapgen::program(&mut rng, 20);
        let tmp = std::env::temp_dir().join(format!("kbpf-kdiff-{}-rand{k}.s", std::process::id()));
        std::fs::write(&tmp, &src).unwrap();
        let m = kbpf::read_module(&tmp, SourceKind::Asm, &profiles::testmod(), None).unwrap();
        let inputs: [&[u8]; 3] = [b"", b"", b""];
        let want = kernel_runs(&m, &inputs);
        for e in [Engine::Interp, Engine::Jit] {
            assert_eq!(kbpf_runs(&m, e, &inputs), want, "program {k} on {e:?}:\n{src}");
        }
    }
}
