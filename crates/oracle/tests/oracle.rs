//! Live kernel tests: they need `bpf()` (root on Linux x86_64), so they are `#[ignore]`d and
//! `cargo xtask test` runs them with `--ignored` where the oracle is available.

use std::os::fd::AsFd;

use kbpf_oracle::generator::asm::*;
use kbpf_oracle::{
    Errno, LoadRequest, LogLevel, MapSpec, ProgType, create_maps, jited_image, load, map_update, skip_reason,
    test_run, xlated,
};

/// Run with `--ignored` where the oracle is missing, the test fails saying why.
macro_rules! need_oracle {
    () => {
        if let Some(why) = skip_reason() {
            panic!("{why}");
        }
    };
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn accepts_and_reports_stats() {
    need_oracle!();
    let mut req = LoadRequest::new(ProgType::SocketFilter);
    req.log_level = LogLevel::LEVEL1 | LogLevel::STATS;
    let v = load(&[mov(0, 42), exit()], &req);
    assert!(v.accepted, "{}", v.log);
    assert_eq!(v.errno, None);
    assert_eq!(v.error_line, None);
    assert_eq!(v.stats.processed_insns, Some(2));
    assert_eq!(v.stats.total_states, Some(0));
    assert!(v.stats.verification_time_us.is_some());
    assert_eq!(v.stats.stack_depth, Some(vec![0]));
    assert!(v.fd.is_none(), "fd closed unless keep_fd");
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn rejects_with_errno_and_error_line() {
    need_oracle!();
    let req = LoadRequest::new(ProgType::SocketFilter);
    let v = load(&[movr(0, 2), exit()], &req);
    assert!(!v.accepted);
    assert_eq!(v.errno, Some(Errno::EACCES));
    assert_eq!(v.error_line.as_deref(), Some("R2 !read_ok"));
    let v = load(&[mov(0, 0), alu64i(Op::Lsh, 0, 64), exit()], &req);
    assert_eq!(v.errno, Some(Errno::EINVAL));
    assert_eq!(v.error_line.as_deref(), Some("invalid shift 64"));
    // Level 0: no log, no error line, still the errno.
    let mut quiet = req.clone();
    quiet.log_level = LogLevel::NONE;
    let v = load(&[exit()], &quiet);
    assert_eq!(v.errno, Some(Errno::EACCES));
    assert_eq!(v.log, "");
    assert_eq!(v.error_line, None);
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn level2_log_has_instruction_trace() {
    need_oracle!();
    let mut req = LoadRequest::new(ProgType::Xdp);
    req.log_level = LogLevel::LEVEL2;
    let v = load(&[mov(0, 2), exit()], &req);
    assert!(v.accepted);
    assert!(v.log.contains("0: (b7) r0 = 2"), "{}", v.log);
    assert_eq!(v.stats.verification_time_us, None, "no stats bit");
    assert_eq!(v.stats.processed_insns, Some(2));
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn test_run_returns_r0_and_duration() {
    need_oracle!();
    let mut req = LoadRequest::new(ProgType::SocketFilter);
    req.keep_fd = true;
    // r0 = skb->mark + 1
    let v = load(&[ldx(Sz::W, 0, 1, 8), alu64i(Op::Add, 0, 1), exit()], &req);
    let fd = v.fd.expect("kept fd");
    let mut ctx = vec![0u8; 192];
    ctx[8..12].copy_from_slice(&41u32.to_le_bytes());
    let r = test_run(fd.as_fd(), &ctx, &[0u8; 64], 100).expect("test run");
    assert_eq!(r.retval, 42);
    assert!(r.duration_ns > 0);
    let jit = jited_image(fd.as_fd()).expect("jit image");
    assert!(!jit.is_empty());
    let x = xlated(fd.as_fd()).expect("xlated");
    assert_eq!(x.len() % 8, 0);
    assert!(x.len() >= 24);
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn maps_are_substituted_by_index() {
    need_oracle!();
    let specs = vec![MapSpec::array(8, 2, "oracle_t")];
    let maps = create_maps(&specs).expect("map");
    map_update(&maps[0], &1u32.to_le_bytes(), &77u64.to_le_bytes()).expect("update");
    let mut p = vec![st(Sz::W, 10, -4, 1)];
    p.extend(ld_map(1, 0));
    p.extend([
        movr(2, 10),
        alu64i(Op::Add, 2, -4),
        call(1),
        jmpi(Cond::Eq, 0, 0, 2),
        ldx(Sz::Dw, 0, 0, 0),
        exit(),
    ]);
    p.extend(ret0());
    let mut req = LoadRequest::new(ProgType::SocketFilter);
    req.map_fds = maps.iter().map(|m| m.raw()).collect();
    req.keep_fd = true;
    let v = load(&p, &req);
    assert!(v.accepted, "{}", v.log);
    let r = test_run(v.fd.as_ref().expect("fd").as_fd(), &[], &[0u8; 64], 1).expect("run");
    assert_eq!(r.retval, 77);
    // Out-of-bounds read of the same map: rejected with the kernel's two-line message tail.
    let last = p.len() - 4;
    p[last] = ldx(Sz::Dw, 0, 0, 4);
    let v = load(&p, &req);
    assert_eq!(v.errno, Some(Errno::EACCES));
    assert_eq!(v.error_line.as_deref(), Some("R0 min value is outside of the allowed memory range"));
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn syscall_type_is_loaded_sleepable() {
    need_oracle!();
    let v = load(&[mov(0, 1), exit()], &LoadRequest::new(ProgType::Syscall));
    assert!(v.accepted, "{}", v.log);
}

#[test]
fn available_matches_skip_reason() {
    assert_eq!(kbpf_oracle::available().is_ok(), skip_reason().is_none());
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn random_slots_never_panic() {
    need_oracle!();
    let mut rng = kbpf_oracle::generator::Rng::new(99);
    let req = LoadRequest::new(ProgType::SocketFilter);
    let mut accepted = 0;
    for _ in 0..300 {
        let len = rng.range(1, 12) as usize;
        let mut p: Vec<kbpf_oracle::RawInsn> = (0..len)
            .map(|_| {
                let b = rng.next_u64().to_le_bytes();
                kbpf_oracle::RawInsn::from_bytes(b)
            })
            .collect();
        if rng.chance(1, 2) {
            p.push(exit());
        }
        let v = load(&p, &req);
        assert_eq!(v.accepted, v.errno.is_none());
        if v.accepted {
            accepted += 1;
        } else {
            assert!(v.errno.is_some());
        }
    }
    assert!(accepted < 300);
}
