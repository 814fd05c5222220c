//! The tc family (`BPF_PROG_TYPE_SCHED_CLS`): `__sk_buff` field access as tc sees it, direct
//! packet access through `data`/`data_end`, socket lookups with their references (leaks, NULL
//! checks, releases, use after release, casts, socket field reads), packet-changing helpers
//! invalidating packet pointers, and the tc helpers' argument checks.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;

const FAM: &str = "tc";

/// `__sk_buff` offsets used below.
const DATA: i16 = 76;
const DATA_END: i16 = 80;
const DATA_META: i16 = 140;
const SK: i16 = 168;

/// Helper ids.
const SK_LOOKUP_TCP: i32 = kbpf_isa::BpfFunc::SkLookupTcp as i32;
const SK_LOOKUP_UDP: i32 = kbpf_isa::BpfFunc::SkLookupUdp as i32;
const SK_RELEASE: i32 = kbpf_isa::BpfFunc::SkRelease as i32;
const SK_FULLSOCK: i32 = kbpf_isa::BpfFunc::SkFullsock as i32;
const TCP_SOCK: i32 = kbpf_isa::BpfFunc::TcpSock as i32;
const GET_LISTENER_SOCK: i32 = kbpf_isa::BpfFunc::GetListenerSock as i32;
const SKC_LOOKUP_TCP: i32 = kbpf_isa::BpfFunc::SkcLookupTcp as i32;

fn case(name: String, b: &B) -> Case {
    Case::new(FAM, name, ProgType::SchedCls, b.build())
}

/// `r6 = ctx`, a zeroed 40-byte tuple at fp-40, `r1..r5` set for a lookup of `size` bytes.
fn lookup_args(b: &mut B, size: i32, netns: i32) {
    b.i(movr(6, 1));
    for k in 1..=5 {
        b.i(st(Sz::Dw, 10, -8 * k, 0));
    }
    b.i(movr(1, 6)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -40)).i(mov(3, size)).i(mov(4, netns)).i(mov(5, 0));
}

/// Every u32 offset, then random loads and stores of every size (tc's field rules).
fn ctx_access(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for off in (0..=192).step_by(4) {
        let mut b = B::new();
        b.i(ldx(Sz::W, 0, 1, off as i16)).all(ret0());
        out.push(case(format!("ctx_ld_w_{off}"), &b));
    }
    // the 8-byte fields and their neighbours
    for off in [136i16, 140, 144, 148, 152, 156, 160, 168, 172, 176, 180, 184, 188] {
        let mut b = B::new();
        b.i(ldx(Sz::Dw, 0, 1, off)).all(ret0());
        out.push(case(format!("ctx_ld_dw_{off}"), &b));
    }
    let start = out.len();
    while out.len() - start < n {
        let i = out.len();
        let sz = rng.pick(&SIZES);
        let off = if rng.chance(1, 2) {
            rng.pick(&[8i16, 12, 32, 44, 48, 64, 72, 76, 80, 140, 152, 160, 168, 176, 180, 181, 184])
        } else {
            rng.range(0, 195) as i16
        };
        let (desc, mut b) = match rng.below(4) {
            0 | 1 => {
                let mut b = B::new();
                b.i(ldx(sz, 2, 1, off));
                ("ld", b)
            }
            2 => {
                let mut b = B::new();
                b.i(mov(2, 7)).i(stx(sz, 1, 2, off));
                ("stx", b)
            }
            _ => {
                let mut b = B::new();
                b.i(st(sz, 1, off, 7));
                ("st", b)
            }
        };
        b.all(ret0());
        out.push(case(format!("{i:04}_ctx_{desc}_{}_{off}", sz.bytes()), &b));
    }
}

/// `data` + k checked against `data_end` (or `data_meta` against `data`), then a read or a
/// write near the checked length.
fn pkt(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let i = out.len();
        let k = rng.range(1, 40) as i32;
        let sz = rng.pick(&SIZES);
        let off = (k - sz.bytes() + rng.range(-2, 2) as i32).max(-1) as i16;
        let meta = rng.chance(1, 6);
        let mut b = B::new();
        if meta {
            b.i(ldx(Sz::W, 2, 1, DATA_META)).i(ldx(Sz::W, 3, 1, DATA));
        } else {
            b.i(ldx(Sz::W, 2, 1, DATA)).i(ldx(Sz::W, 3, 1, DATA_END));
        }
        b.i(movr(4, 2)).i(alu64i(Op::Add, 4, k));
        let form = rng.below(4);
        match form {
            0 => b.j(jmpr(Cond::Gt, 4, 3, 0), "out"),
            1 => b.j(jmpr(Cond::Lt, 3, 4, 0), "out"),
            2 => b.j(jmpr(Cond::Ge, 4, 3, 0), "out"),
            _ => &mut b,
        };
        let write = rng.chance(1, 3);
        if write {
            b.i(st(sz, 2, off, 1));
        } else {
            b.i(ldx(sz, 0, 2, off));
        }
        b.label("out").all(ret0());
        let what = if write { "st" } else { "ld" };
        let name =
            format!("{i:04}_pkt{}_f{form}_k{k}_{what}{}_{off}", if meta { "meta" } else { "" }, sz.bytes());
        out.push(case(name, &b));
    }
}

/// Socket lookups and what may follow them.
fn sockets(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let i = out.len();
        let lookup = rng.pick(&[SK_LOOKUP_TCP, SK_LOOKUP_TCP, SK_LOOKUP_UDP, SKC_LOOKUP_TCP]);
        let size = if rng.chance(1, 6) { rng.pick(&[0, 8, 36, 37, 40, 48]) } else { rng.pick(&[12, 36]) };
        let netns = rng.pick(&[0, -1, 0]);
        let mut b = B::new();
        lookup_args(&mut b, size, netns);
        b.i(call(lookup));
        let shape = rng.below(16);
        let desc = match shape {
            0 => "leak",
            1 => {
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(1, 0)).i(call(SK_RELEASE));
                "release"
            }
            2 => {
                b.i(movr(1, 0)).i(call(SK_RELEASE));
                "release_unchecked"
            }
            3 | 4 => {
                let off = rng.range(-4, 84) as i16;
                let sz = rng.pick(&SIZES);
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0)).i(ldx(sz, 8, 0, off));
                b.i(movr(1, 7)).i(call(SK_RELEASE));
                if sz == Sz::Dw { "field_dw" } else { "field" }
            }
            5 => {
                b.i(ldx(Sz::W, 8, 0, 4)).j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(1, 0)).i(call(SK_RELEASE));
                "field_before_check"
            }
            6 => {
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0)).i(movr(1, 0)).i(call(SK_RELEASE));
                b.i(movr(1, 7)).i(call(SK_RELEASE));
                "double_release"
            }
            7 => {
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0)).i(movr(1, 0)).i(call(SK_RELEASE));
                b.i(ldx(Sz::W, 0, 7, 4));
                "use_after_release"
            }
            8 => {
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out")
                    .i(stx(Sz::Dw, 10, 0, -48))
                    .i(movr(1, 0))
                    .i(call(SK_RELEASE));
                b.i(ldx(Sz::Dw, 7, 10, -48)).i(ldx(Sz::W, 0, 7, 4));
                "spill_use_after_release"
            }
            9 => {
                let cast = rng.pick(&[SK_FULLSOCK, TCP_SOCK, GET_LISTENER_SOCK]);
                let off = rng.pick(&[0i16, 4, 8, 72, 80, 88, 108, 112]);
                let sz = rng.pick(&[Sz::W, Sz::W, Sz::Dw]);
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0)).i(movr(1, 0)).i(call(cast));
                b.j(jmpi(Cond::Eq, 0, 0, 0), "rel").i(ldx(sz, 8, 0, off));
                b.label("rel").i(movr(1, 7)).i(call(SK_RELEASE));
                "cast"
            }
            10 => {
                let cast = rng.pick(&[SK_FULLSOCK, TCP_SOCK]);
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0)).i(movr(1, 0)).i(call(cast));
                b.j(jmpi(Cond::Eq, 0, 0, 0), "rel").i(movr(1, 0)).i(call(SK_RELEASE)).j(ja(0), "out");
                b.label("rel").i(movr(1, 7)).i(call(SK_RELEASE));
                "release_cast"
            }
            11 => {
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(alu64i(Op::Add, 0, rng.pick(&[0, 4]))).i(movr(1, 0));
                b.i(call(SK_RELEASE));
                "ptr_arith"
            }
            12 => {
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(st(Sz::W, 0, 4, 1)).i(movr(1, 0)).i(call(SK_RELEASE));
                "write"
            }
            13 => {
                // released on one branch only
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0)).i(call(7));
                b.j(jmpi(Cond::Gt, 0, 100, 0), "out").i(movr(1, 7)).i(call(SK_RELEASE));
                "leak_one_branch"
            }
            14 => {
                // LD_ABS while holding a reference
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0)).i(ins(0x30, 0, 0, 0, 0));
                b.i(movr(1, 7)).i(call(SK_RELEASE));
                "ld_abs_held"
            }
            _ => {
                // the socket pointer survives a spill and a fill
                b.j(jmpi(Cond::Ne, 0, 0, 0), "chk").all(ret0()).label("chk");
                b.i(stx(Sz::Dw, 10, 0, -48)).i(ldx(Sz::Dw, 1, 10, -48)).i(call(SK_RELEASE));
                "spill_fill_release"
            }
        };
        if !b.used("out") {
            b.j(ja(0), "out");
        }
        b.label("out").all(ret0());
        out.push(case(format!("{i:04}_{}_{size}_{desc}", helper_label(lookup)), &b));
    }
}

/// `skb->sk`: a nullable `sock_common` without a reference.
fn skb_sk(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let i = out.len();
        let mut b = B::new();
        b.i(ldx(Sz::Dw, 2, 1, SK));
        let shape = rng.below(5);
        let desc = match shape {
            0 => {
                let off = rng.range(0, 80) as i16;
                let sz = rng.pick(&[Sz::B, Sz::H, Sz::W, Sz::W]);
                b.j(jmpi(Cond::Eq, 2, 0, 0), "out").i(ldx(sz, 0, 2, off));
                "field"
            }
            1 => {
                b.i(ldx(Sz::W, 0, 2, 4));
                "unchecked"
            }
            2 => {
                b.j(jmpi(Cond::Eq, 2, 0, 0), "out").i(movr(1, 2)).i(call(SK_RELEASE));
                "release"
            }
            3 => {
                let cast = rng.pick(&[SK_FULLSOCK, TCP_SOCK, GET_LISTENER_SOCK]);
                b.j(jmpi(Cond::Eq, 2, 0, 0), "out").i(movr(1, 2)).i(call(cast));
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(ldx(Sz::W, 0, 0, rng.pick(&[4i16, 8, 16, 100])));
                "cast"
            }
            _ => {
                b.i(movr(1, 2)).i(call(SK_FULLSOCK));
                "cast_unchecked"
            }
        };
        b.label("out").all(ret0());
        out.push(case(format!("{i:04}_skb_sk_{desc}"), &b));
    }
}

/// A checked packet pointer kept in a register or a spill slot across a helper call that may
/// or may not change packet data.
fn pkt_invalidation(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    // (id, args after ctx)
    const HELPERS: &[(i32, &[i32])] = &[
        (39, &[0]),      // skb_pull_data
        (9, &[0, 0, 0]), // skb_store_bytes (src/len set below)
        (10, &[0, 0, 0, 0]),
        (11, &[0, 0, 0, 0]),
        (13, &[1, 0]),    // clone_redirect
        (18, &[0x81, 5]), // skb_vlan_push
        (19, &[]),        // skb_vlan_pop
        (31, &[8, 0]),    // skb_change_proto
        (38, &[64, 0]),   // skb_change_tail
        (43, &[0, 0]),    // skb_change_head
        (50, &[0, 0, 0]), // skb_adjust_room
        (34, &[]),        // get_hash_recalc
        (46, &[]),        // get_socket_cookie
        (17, &[]),        // get_cgroup_classid
        (41, &[]),        // set_hash_invalid
        (40, &[0]),       // csum_update
        (23, &[]),        // redirect (no ctx)
        (7, &[]),         // get_prandom_u32 (no ctx)
    ];
    for _ in 0..n {
        let i = out.len();
        let (id, args) = rng.pick(HELPERS);
        let spill = rng.chance(1, 3);
        let mut b = B::new();
        b.i(movr(6, 1)).i(ldx(Sz::W, 7, 6, DATA)).i(ldx(Sz::W, 8, 6, DATA_END));
        b.i(movr(2, 7)).i(alu64i(Op::Add, 2, 8)).j(jmpr(Cond::Gt, 2, 8, 0), "out");
        if spill {
            b.i(stx(Sz::Dw, 10, 7, -8));
        }
        match id {
            23 => {
                b.i(mov(1, 1)).i(mov(2, 0));
            }
            7 => {}
            9 => {
                b.i(st(Sz::Dw, 10, -16, 0)).i(movr(1, 6)).i(mov(2, 0)).i(movr(3, 10));
                b.i(alu64i(Op::Add, 3, -16)).i(mov(4, 4)).i(mov(5, 0));
            }
            _ => {
                b.i(movr(1, 6));
                for (k, v) in args.iter().enumerate() {
                    b.i(mov(k as u8 + 2, *v));
                }
            }
        }
        b.i(call(id));
        if spill {
            b.i(ldx(Sz::Dw, 7, 10, -8));
        }
        b.i(ldx(Sz::B, 0, 7, rng.pick(&[0i16, 4])));
        b.label("out").all(ret0());
        out.push(case(
            format!("{i:04}_pktinv_{}{}", helper_label(id), if spill { "_spill" } else { "" }),
            &b,
        ));
    }
}

/// Argument checks of the skb helpers and helpers tc may not call.
fn helper_args(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let i = out.len();
        let mut b = B::new();
        b.i(movr(6, 1));
        let shape = rng.below(7);
        let desc = match shape {
            0 | 1 => {
                // skb_load_bytes(skb, off, fp-k, len)
                let k = rng.pick(&[8, 16, 32]);
                let len = rng.pick(&[0, 1, 4, 8, 16, 17, 32, 33]);
                let init = rng.chance(1, 2);
                if init {
                    for s in (1..=k / 8).map(|x| -8 * x) {
                        b.i(st(Sz::Dw, 10, s as i16, 0));
                    }
                }
                b.i(movr(1, 6))
                    .i(mov(2, rng.pick(&[0, 14])))
                    .i(movr(3, 10))
                    .i(alu64i(Op::Add, 3, -k))
                    .i(mov(4, len));
                b.i(call(26));
                if rng.chance(1, 2) {
                    b.i(ldx(Sz::Dw, 0, 10, -8));
                }
                "load_bytes"
            }
            2 => {
                // skb_store_bytes from the stack (read: must be initialized for unprivileged only)
                let len = rng.pick(&[0, 4, 8, 9]);
                b.i(st(Sz::Dw, 10, -8, 1));
                b.i(movr(1, 6))
                    .i(mov(2, 0))
                    .i(movr(3, 10))
                    .i(alu64i(Op::Add, 3, -8))
                    .i(mov(4, len))
                    .i(mov(5, 0));
                b.i(call(9));
                "store_bytes"
            }
            3 => {
                // csum_diff(from, from_size, to, to_size, seed)
                let fs = rng.pick(&[0, 4, 8, 12]);
                let ts = rng.pick(&[0, 4, 8]);
                b.i(st(Sz::Dw, 10, -8, 0)).i(st(Sz::Dw, 10, -16, 0));
                if rng.chance(1, 3) {
                    b.i(mov(1, 0));
                } else {
                    b.i(movr(1, 10)).i(alu64i(Op::Add, 1, -8));
                }
                b.i(mov(2, fs)).i(movr(3, 10)).i(alu64i(Op::Add, 3, -16)).i(mov(4, ts)).i(mov(5, 0));
                b.i(call(28));
                "csum_diff"
            }
            4 => {
                // a ctx-taking helper given something else
                let id = rng.pick(&[34, 46, 39, 10, 19, 17]);
                let bad = rng.pick(&[0u8, 1, 2]);
                match bad {
                    0 => b.i(movr(1, 6)),
                    1 => b.i(movr(1, 10)),
                    _ => b.i(mov(1, 0)),
                };
                for r in 2..=5 {
                    b.i(mov(r, 0));
                }
                b.i(call(id));
                "ctx_arg"
            }
            5 => {
                // helpers of other program types
                let id = rng.pick(&[14, 15, 16, 35, 44, 54, 65, 47, 24, 48, 32, 97, 79]);
                b.i(movr(1, 6)).i(mov(2, 0)).i(mov(3, 0));
                b.i(call(id));
                "other"
            }
            _ => {
                // the tc return value is not range-checked; return the helper's result
                let id = rng.pick(&[23, 13, 7]);
                b.i(movr(1, if id == 13 { 6 } else { 1 })).i(mov(2, 1)).i(mov(3, 0));
                if id == 23 {
                    b.i(mov(1, 2));
                }
                b.i(call(id)).i(exit());
                out.push(case(format!("{i:04}_helper_ret_{}", helper_label(id)), &b));
                continue;
            }
        };
        b.all(ret0());
        out.push(case(format!("{i:04}_helper_{desc}"), &b));
    }
}

/// The tc family: about `n` cases.
pub fn tc(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    let share = |k: usize| n * k / 100;
    ctx_access(rng, &mut out, share(10));
    pkt(rng, &mut out, share(8));
    sockets(rng, &mut out, share(18));
    skb_sk(rng, &mut out, share(6));
    pkt_invalidation(rng, &mut out, share(10));
    super::fam_tc_more::tail_and_maps(rng, &mut out, share(10));
    super::fam_tc_more::refs_flow(rng, &mut out, share(10));
    super::fam_tc_more::more_helpers(rng, &mut out, share(12));
    super::fam_tc_more::mix(rng, &mut out, share(16));
    let rest = n.saturating_sub(out.len());
    helper_args(rng, &mut out, rest);
    out
}
