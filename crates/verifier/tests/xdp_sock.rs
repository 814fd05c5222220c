//! `PTR_TO_XDP_SOCK`: an xskmap lookup's non-NULL result is the map's socket, readable only as
//! `struct bpf_xdp_sock` (one `__u32 queue_id`), never written, never moved; and one load or
//! store may not serve two pointer kinds the kernel rewrites per type
//! (`same insn cannot be used with different pointers`). Messages and processed counts are the
//! running 6.18 kernel's for the same programs built with clang.

mod common;

use common::{accepts, rejects, verify_src};
use kbpf_verifier::{Errno, MapDef, MapKind, ProgType, VerifyOptions, VerifyOutcome};

fn run(src: &str) -> VerifyOutcome {
    let map = |fd, kind, value_size| MapDef {
        fd,
        name: format!("m{fd}"),
        kind,
        key_size: 4,
        value_size,
        max_entries: 4,
        ..MapDef::default()
    };
    let maps = vec![map(0, MapKind::XskMap, 4), map(1, MapKind::Array, 8)];
    let opts = VerifyOptions {
        prog_type: ProgType::Xdp,
        maps,
        log_level: 2,
        privileged: true,
        ..Default::default()
    };
    verify_src(src, Vec::new(), opts)
}

/// Looks up key 0 of the xskmap; `body` runs on the non-NULL socket in r0.
fn with_sock(body: &str) -> String {
    let skip = body.lines().count() + 1;
    format!(
        "r1 = 0\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\ncall 1\n\
         if r0 == 0 goto +{skip}\n{body}\nexit\nr0 = 1\nexit\n"
    )
}

#[test]
fn the_socket_reads_its_queue_id() {
    let out = run(&with_sock("r0 = *(u32 *)(r0 +0)"));
    accepts(&out);
    assert!(out.log.contains("R0=xdp_sock()"), "{}", out.log);
}

#[test]
fn the_socket_is_read_only_whole_and_fixed() {
    let cases = [
        ("r1 = 3\n*(u32 *)(r0 +0) = r1", "R0 cannot write into xdp_sock"),
        ("r0 = *(u32 *)(r0 +4)", "R0 invalid xdp_sock access off=4 size=4"),
        ("r0 = *(u16 *)(r0 +0)", "R0 invalid xdp_sock access off=0 size=2"),
        ("r0 += 1", "R0 pointer arithmetic on xdp_sock prohibited"),
    ];
    for (body, msg) in cases {
        rejects(&run(&with_sock(body)), Errno::EACCES, msg);
    }
}

#[test]
fn one_load_may_not_serve_a_socket_and_a_map_value() {
    // r6 holds either the xskmap's socket or an array value; both reach the same load
    let src = "r6 = r1\nr1 = 0\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\n\
               r7 = *(u32 *)(r6 +12)\nif r7 == 0 goto +3\nr1 = map_fd(0) ll\ngoto +2\n\
               r1 = map_fd(1) ll\ncall 1\nif r0 == 0 goto +2\nr0 = *(u32 *)(r0 +0)\nexit\nr0 = 1\nexit\n";
    rejects(&run(src), Errno::EINVAL, "same insn cannot be used with different pointers");
}

/// `if a != b` with `a` known non-NULL makes `b` non-NULL on the equal branch: the kernel's
/// `mark_ptr_not_null_reg` turns an xskmap lookup result into the socket there too, so a write
/// through it is refused (it was accepted as a map value write).
#[test]
fn an_equal_pointer_comparison_yields_the_socket() {
    let lookup = "r2 = r10\nr2 += -4\nr1 = map_fd(0) ll\ncall 1\n";
    let src = format!(
        "r1 = 0\n*(u32 *)(r10 -4) = r1\n{lookup}r6 = r0\n{lookup}if r6 == 0 goto +3\n\
         if r6 != r0 goto +2\nr1 = 3\n*(u32 *)(r0 +0) = r1\nr0 = 0\nexit\n"
    );
    rejects(&run(&src), Errno::EACCES, "R0 cannot write into xdp_sock");
    let read = src.replace("*(u32 *)(r0 +0) = r1", "r1 = *(u32 *)(r0 +0)");
    accepts(&run(&read));
}
