//! Programs Linux 6.18 rejects that kbpf once accepted (the selftests' `k+` list), each with
//! the kernel's error line and errno.

use kbpf_isa::{FuncDecl, RawInsn};
use kbpf_verifier::{Errno, ProgType, VerifyOptions, verify};

fn p(v: &[(u8, u8, u8, i16, i32)]) -> Vec<RawInsn> {
    v.iter().map(|&(c, d, s, o, m)| RawInsn::new(c, d, s, o, m)).collect()
}

fn func(pc: usize, ret_scalar: bool) -> FuncDecl {
    FuncDecl {
        pc,
        name: format!("f{pc}"),
        nargs: 0,
        global: false,
        ret_scalar,
        exception_cb: false,
        params: Vec::new(),
    }
}

/// verifier_ld_ind.c `ld_abs_void_subprog_reject` / `ld_ind_void_subprog_reject`: BTF says the
/// subprogram returns void, so its LD_ABS/LD_IND (which may leave it early) is refused before
/// the walk (`check_btf_func`).
#[test]
fn ld_abs_in_void_subprog() {
    for ld in [(0x20, 0, 0, 0, 0), (0x40, 0, 7, 0, 0)] {
        let prog = p(&[
            (0x85, 0, 1, 0, 2),
            (0xb7, 0, 0, 0, 0),
            (0x95, 0, 0, 0, 0),
            (0xbf, 6, 1, 0, 0),
            (0xb7, 7, 0, 0, 0),
            ld,
            (0xb7, 0, 0, 0, 1),
            (0x95, 0, 0, 0, 0),
        ]);
        let opts = |ret_scalar| VerifyOptions {
            prog_type: ProgType::SocketFilter,
            log_level: 1,
            funcs: vec![func(0, true), func(3, ret_scalar)],
            btf_func_info: true,
            ..Default::default()
        };
        let out = verify(&prog, &opts(false));
        assert!(!out.accepted);
        assert_eq!(out.log.lines().next(), Some("LD_ABS is only allowed in functions that return 'int'."));
        assert_eq!(out.error.map(|e| e.errno()), Some(Errno::EINVAL));
        assert!(verify(&prog, &opts(true)).accepted);
    }
}

/// verifier_ld_ind.c `ld_abs_subprog_early_exit` / `ld_ind_subprog_early_exit` and
/// `*_both_paths_safe`: a failed LD_ABS/LD_IND in a called subprogram returns 0 to the caller
/// at once, so the caller's `r0 == 0` path is reachable. Log and processed count are the
/// kernel's (selftests oracle, Linux 6.18).
#[test]
fn ld_abs_early_exit_from_subprog() {
    let sub_abs = [(0xbf, 6, 1, 0, 0), (0x20, 0, 0, 0, 0), (0xb7, 0, 0, 0, 1), (0x95, 0, 0, 0, 0)];
    let sub_ind =
        [(0xbf, 6, 1, 0, 0), (0xb7, 7, 0, 0, 0), (0x40, 0, 7, 0, 0), (0xb7, 0, 0, 0, 1), (0x95, 0, 0, 0, 0)];
    let opts = |pcs: [usize; 2]| VerifyOptions {
        prog_type: ProgType::SocketFilter,
        log_level: 1,
        funcs: vec![func(0, true), func(pcs[1], true)],
        btf_func_info: true,
        ..Default::default()
    };
    for (sub, processed) in [(&sub_abs[..], 5), (&sub_ind[..], 6)] {
        let mut early = vec![
            (0x85, 0, 1, 0, 4),
            (0x55, 0, 0, 1, 0),
            (0xbf, 0, 9, 0, 0),
            (0xb7, 0, 0, 0, 0),
            (0x95, 0, 0, 0, 0),
        ];
        early.extend_from_slice(sub);
        let out = verify(&p(&early), &opts([0, 5]));
        assert!(!out.accepted);
        assert!(out.log.contains("6: (20) r0 = *(u32 *)skb[0]\nreturning from callee:\n frame1: R0=0 R6=ctx() R10=fp0\nto caller at 1:\n R0=0 R10=fp0\n") || processed == 6, "{}", out.log);
        assert!(out.log.contains("returning from callee:\n frame1: R0=0 R6=ctx()"), "{}", out.log);
        assert!(!out.log.contains("is not a scalar"), "{}", out.log);
        assert!(out.log.contains("2: (bf) r0 = r9\nR9 !read_ok\n"), "{}", out.log);
        assert_eq!(out.stats.processed_insns, processed);
        let mut both = vec![(0x85, 0, 1, 0, 2), (0xb7, 0, 0, 0, 0), (0x95, 0, 0, 0, 0)];
        both.extend_from_slice(sub);
        let out = verify(&p(&both), &opts([0, 3]));
        assert!(out.accepted, "{}", out.log);
        assert_eq!(out.stats.processed_insns, processed + 4);
    }
}

/// exceptions_fail.c `reject_exception_cb_call_static_func`: the entry point's exception
/// callback (a global function) is called from a static subprogram; the kernel verifies the
/// call like any global one, then `check_max_stack_depth` refuses it, without a newline.
#[test]
fn exception_cb_called_directly() {
    // main: call static_func; static_func: r1 = ctx->tstamp; call exception_cb1; cb: r0 = r1
    let prog = p(&[
        (0x85, 0, 1, 0, 1),
        (0x95, 0, 0, 0, 0),
        (0x79, 1, 1, 152, 0),
        (0x85, 0, 1, 0, 1),
        (0x95, 0, 0, 0, 0),
        (0xbf, 0, 1, 0, 0),
        (0x95, 0, 0, 0, 0),
    ]);
    let cb = |exception_cb| FuncDecl {
        pc: 5,
        name: "exception_cb1".into(),
        nargs: 1,
        global: true,
        ret_scalar: true,
        exception_cb,
        params: Vec::new(),
    };
    let opts = |exception_cb| VerifyOptions {
        prog_type: ProgType::SchedCls,
        log_level: 1,
        funcs: vec![
            FuncDecl {
                pc: 0,
                name: "main".into(),
                nargs: 1,
                global: true,
                ret_scalar: true,
                exception_cb: false,
                params: Vec::new(),
            },
            FuncDecl {
                pc: 2,
                name: "static_func".into(),
                nargs: 1,
                global: false,
                ret_scalar: true,
                exception_cb: false,
                params: Vec::new(),
            },
            cb(exception_cb),
        ],
        btf_func_info: true,
        ..Default::default()
    };
    let out = verify(&prog, &opts(true));
    assert!(!out.accepted, "{}", out.log);
    // the kernel's message has no newline: the statistics line follows on the same line
    let tail = "is safe for any args that match its prototype\ninsn 3 cannot call exception cb directlyprocessed 7 insns";
    assert!(out.log.contains(tail), "{}", out.log);
    assert_eq!(out.error.map(|e| e.errno()), Some(Errno::EINVAL));
    assert_eq!(out.stats.processed_insns, 7);
    assert!(verify(&prog, &opts(false)).accepted);
}

/// test_xdp_context_test_run.c `xdp_context`, test_xdp_do_redirect.c `xdp_redirect`: the
/// running 6.18 build offers `bpf_xdp_adjust_meta` to no xdp program, whatever the expected
/// attach type (kernel-checked with 0, `BPF_XDP`, `BPF_XDP_DEVMAP` and frags).
#[test]
fn xdp_adjust_meta_refused() {
    let prog = p(&[(0xb7, 2, 0, 0, 8), (0x85, 0, 0, 0, 54), (0xb7, 0, 0, 0, 2), (0x95, 0, 0, 0, 0)]);
    let opts = VerifyOptions { prog_type: ProgType::Xdp, log_level: 1, ..Default::default() };
    let out = verify(&prog, &opts);
    assert!(!out.accepted);
    assert!(
        out.log
            .contains("\nprogram of this type cannot use helper bpf_xdp_adjust_meta#54\nprocessed 2 insns"),
        "{}",
        out.log
    );
    assert_eq!(out.error.map(|e| e.errno()), Some(Errno::EINVAL));
}
