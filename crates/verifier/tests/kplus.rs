//! Programs Linux 6.18 rejects that kbpf once accepted (the selftests' `k+` list), each with
//! the kernel's error line and errno.

use kbpf_isa::{FuncDecl, RawInsn};
use kbpf_verifier::{Errno, ProgType, VerifyOptions, verify};

fn p(v: &[(u8, u8, u8, i16, i32)]) -> Vec<RawInsn> {
    v.iter().map(|&(c, d, s, o, m)| RawInsn::new(c, d, s, o, m)).collect()
}

fn func(pc: usize, ret_scalar: bool) -> FuncDecl {
    FuncDecl { pc, name: format!("f{pc}"), nargs: 1, global: false, ret_scalar }
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
