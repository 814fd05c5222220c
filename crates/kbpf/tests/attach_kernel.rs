//! Expected attach types against the running kernel: `BPF_PROG_LOAD`'s attach check (a
//! `syscall` program takes none: `EINVAL` before the verifier, no log; socket filters, tc and
//! xdp ignore it), xdp's `egress_ifindex` (readable by `BPF_XDP_DEVMAP` programs only) and
//! `BPF_PROG_TEST_RUN`'s refusal of devmap and cpumap programs. kbpf's verdict, errno and log
//! are the kernel's.
//! Needs `bpf()`: `#[ignore]`d, run by `cargo xtask test` with `--ignored` where the oracle works.

use std::os::fd::AsFd;

use kbpf::isa::{AttachType, RawInsn};
use kbpf::kfunc::profiles;
use kbpf::verifier::{ProgType, VerifyOptions};
use kbpf::{Engine, RunOptions, SourceKind, TestRunError};
use kbpf_oracle::compare::normalize_log;
use kbpf_oracle::{LoadRequest, LogLevel, load, skip_reason};

const ORACLE: &str =
    "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)";

/// `r0 = xdp_md->egress_ifindex; r0 = 0; exit`.
fn egress() -> Vec<RawInsn> {
    vec![RawInsn::new(0x61, 0, 1, 20, 0), RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)]
}

/// `r0 = 0; exit`.
fn ret0() -> Vec<RawInsn> {
    vec![RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)]
}

fn oracle_type(pt: ProgType) -> kbpf_oracle::ProgType {
    match pt {
        ProgType::SocketFilter => kbpf_oracle::ProgType::SocketFilter,
        ProgType::SchedCls => kbpf_oracle::ProgType::SchedCls,
        ProgType::Xdp => kbpf_oracle::ProgType::Xdp,
        ProgType::Syscall => kbpf_oracle::ProgType::Syscall,
        ProgType::Mem { .. } => unreachable!("no kernel type"),
        other => unreachable!("{other:?}: not loaded here"),
    }
}

/// Loads `slots` as `pt` with `attach` into the kernel and into kbpf; returns whether the
/// kernel accepted, after checking that kbpf agrees on verdict, errno and log.
fn same_verdict(pt: ProgType, attach: Option<AttachType>, slots: &[RawInsn]) -> bool {
    let mut req = LoadRequest::new(oracle_type(pt));
    req.log_level = LogLevel::LEVEL1;
    req.expected_attach_type = attach.map_or(0, AttachType::number);
    let k = load(slots, &req);
    let opts =
        VerifyOptions { prog_type: pt, log_level: 1, expected_attach_type: attach, ..Default::default() };
    let ours = kbpf::verifier::verify(slots, &opts);
    let case = format!("{pt:?} {attach:?}");
    assert_eq!(ours.accepted, k.accepted, "{case}: kbpf {:?}, kernel log {}", ours.error, k.log);
    assert_eq!(
        ours.error.as_ref().map(|e| format!("{:?}", e.errno())),
        k.errno.map(|e| format!("{e:?}")),
        "{case}"
    );
    assert_eq!(normalize_log(&ours.log), normalize_log(&k.log), "{case}");
    k.accepted
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn egress_ifindex_needs_devmap() {
    if let Some(why) = skip_reason() {
        panic!("{why}: {ORACLE}");
    }
    assert!(same_verdict(ProgType::Xdp, Some(AttachType::XdpDevmap), &egress()));
    for other in [None, Some(AttachType::Xdp), Some(AttachType::XdpCpumap)] {
        assert!(!same_verdict(ProgType::Xdp, other, &egress()), "{other:?}");
    }
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn load_attach_check_matches_the_kernel() {
    if let Some(why) = skip_reason() {
        panic!("{why}: {ORACLE}");
    }
    // types that ignore the expected attach type load with a nonsense one
    let nonsense =
        [Some(AttachType::TraceFentry), Some(AttachType::XdpDevmap), Some(AttachType::TraceKprobeSession)];
    for pt in [ProgType::SocketFilter, ProgType::SchedCls, ProgType::Xdp] {
        for a in nonsense {
            assert!(same_verdict(pt, a, &ret0()), "{pt:?} {a:?}");
        }
    }
    // a syscall program takes none: EINVAL with an empty log
    assert!(same_verdict(ProgType::Syscall, None, &ret0()));
    for a in [Some(AttachType::Xdp), Some(AttachType::TraceFentry)] {
        assert!(!same_verdict(ProgType::Syscall, a, &ret0()), "{a:?}");
        let opts = VerifyOptions {
            prog_type: ProgType::Syscall,
            log_level: 1,
            expected_attach_type: a,
            ..Default::default()
        };
        let out = kbpf::verifier::verify(&ret0(), &opts);
        assert!(matches!(out.error.as_ref().map(|e| e.reject()), Some(kbpf::verifier::Reject::Attach(_))));
        assert_eq!(out.log, "");
    }
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn devmap_and_cpumap_programs_do_not_test_run() {
    if let Some(why) = skip_reason() {
        panic!("{why}: {ORACLE}");
    }
    let dir = std::env::temp_dir().join(format!("kbpf-attach-kernel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prog.s");
    std::fs::write(&path, "r0 = 2\nexit\n").unwrap();
    let m = kbpf::read_module(&path, SourceKind::Asm, &profiles::testmod(), None).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let maps = kbpf::create_maps(&m).unwrap();
    let pkt = kbpf::pkt_v4();
    for attach in [None, Some(AttachType::Xdp), Some(AttachType::XdpDevmap), Some(AttachType::XdpCpumap)] {
        let mut req = LoadRequest::new(kbpf_oracle::ProgType::Xdp);
        req.expected_attach_type = attach.map_or(0, AttachType::number);
        req.keep_fd = true;
        let k = load(&m.slots, &req);
        assert!(k.accepted, "{attach:?}: {}", k.log);
        let kernel = kbpf_oracle::test_run(k.fd.as_ref().unwrap().as_fd(), &[], &pkt, 1);
        let opts =
            VerifyOptions { prog_type: ProgType::Xdp, expected_attach_type: attach, ..Default::default() };
        let ours = kbpf::test_run(
            &m,
            &maps,
            &profiles::testmod(),
            opts,
            Engine::Interp,
            &pkt,
            RunOptions::default(),
        );
        match (kernel, ours) {
            (Ok(k), Ok(o)) => assert_eq!(u64::from(k.retval), o.retval, "{attach:?}"),
            (Err(e), Err(TestRunError::AttachType(a))) => {
                assert_eq!(format!("{e:?}"), "EINVAL", "{attach:?}");
                assert_eq!(Some(a), attach);
            }
            (k, o) => panic!("{attach:?}: kernel {k:?}, kbpf {o:?}"),
        }
    }
}
