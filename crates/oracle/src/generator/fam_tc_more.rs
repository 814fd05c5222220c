//! More of the tc family: tail calls and map helpers (program arrays, packet keys), references
//! crossing bpf-to-bpf calls, the forms of the NULL check, and references joined by pruning.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;
use crate::map::{MapKind, MapSpec};

const FAM: &str = "tc";
const DATA: i16 = 76;
const DATA_END: i16 = 80;
const SK_LOOKUP_TCP: i32 = kbpf_isa::BpfFunc::SkLookupTcp as i32;
const SK_RELEASE: i32 = kbpf_isa::BpfFunc::SkRelease as i32;
const TAIL_CALL: i32 = kbpf_isa::BpfFunc::TailCall as i32;

fn case(name: String, b: &B) -> Case {
    Case::new(FAM, name, ProgType::SchedCls, b.build())
}

/// `r6 = ctx` (kept), a zeroed tuple at fp-40, then `sk_lookup_tcp`: r0 = sock_or_null.
fn lookup(b: &mut B) {
    b.i(movr(6, 1));
    for k in 1..=5 {
        b.i(st(Sz::Dw, 10, -8 * k, 0));
    }
    b.i(movr(1, 6)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -40)).i(mov(3, 12)).i(mov(4, 0)).i(mov(5, 0));
    b.i(call(SK_LOOKUP_TCP));
}

/// Tail calls and map helpers with program arrays, arrays and hashes.
pub fn tail_and_maps(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let i = out.len();
        let mut b = B::new();
        let shape = rng.below(9);
        let (desc, maps) = match shape {
            7 => {
                // per-CPU maps: constant-key nullness, percpu lookups
                let kind = rng.pick(&[MapKind::PercpuArray, MapKind::PercpuHash, MapKind::Array]);
                let key = rng.pick(&[0, 3, 4]);
                b.i(st(Sz::W, 10, -4, key)).all(ld_map(1, 0)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -4));
                if rng.chance(1, 3) {
                    b.i(mov(3, 0)).i(call(195));
                } else {
                    b.i(call(1));
                }
                if rng.chance(1, 3) {
                    b.j(jmpi(Cond::Eq, 0, 0, 0), "out");
                }
                b.i(ldx(Sz::Dw, 0, 0, 0));
                ("percpu", vec![MapSpec::keyed(kind, 8, 4, "pc")])
            }
            8 => {
                // perf event output and ring buffers, and helpers those maps refuse
                let perf = rng.chance(1, 2);
                let wrong = rng.chance(1, 3);
                b.i(movr(6, 1)).i(st(Sz::Dw, 10, -8, 0)).i(st(Sz::Dw, 10, -16, 0));
                if wrong {
                    b.all(ld_map(1, 0)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -8)).i(call(1));
                } else if perf {
                    b.i(movr(1, 6))
                        .all(ld_map(2, 0))
                        .i(ld_imm64(3, 0xffff_ffff)[0])
                        .i(ld_imm64(3, 0xffff_ffff)[1]);
                    b.i(movr(4, 10)).i(alu64i(Op::Add, 4, -16)).i(mov(5, rng.pick(&[0, 8, 16, 24])));
                    b.i(call(25));
                } else {
                    b.all(ld_map(1, 0))
                        .i(movr(2, 10))
                        .i(alu64i(Op::Add, 2, -16))
                        .i(mov(3, rng.pick(&[0, 8, 16, 24])));
                    b.i(mov(4, 0)).i(call(130));
                }
                let m = match (perf, rng.chance(1, 4)) {
                    (_, true) => MapSpec::hash(8, 8, 4, "h"),
                    (true, false) => MapSpec::keyed(MapKind::PerfEventArray, 4, 4, "ev"),
                    (false, false) => MapSpec::ringbuf(4096, "rb"),
                };
                ("events", vec![m])
            }
            6 => {
                // a tail call from a subprogram under a caller stack of `depth` bytes
                let depth = rng.pick(&[8i16, 200, 256, 264, 400]);
                b.i(movr(6, 1)).i(st(Sz::Dw, 10, -depth, 0)).i(movr(1, 6)).call("sub").all(ret0());
                b.label("sub").i(movr(6, 1)).all(ld_map(2, 0)).i(mov(3, 0)).i(call(TAIL_CALL));
                b.all(ret0());
                out.push(
                    case(format!("{i:04}_tail_call_sub_{depth}"), &b)
                        .with_maps(vec![MapSpec::prog_array(4, "jmp")]),
                );
                continue;
            }
            0 => {
                // plain tail call, index constant or not
                b.i(movr(6, 1)).i(movr(1, 6)).all(ld_map(2, 0));
                if rng.chance(1, 2) {
                    b.i(mov(3, rng.pick(&[0, 3, 100])));
                } else {
                    b.i(call(7)).i(movr(3, 0)).i(movr(1, 6)).all(ld_map(2, 0));
                }
                b.i(call(TAIL_CALL));
                ("tail_call", vec![MapSpec::prog_array(4, "jmp")])
            }
            1 => {
                // a checked packet pointer (register or spill) used after a tail call
                let spill = rng.chance(1, 2);
                b.i(movr(6, 1)).i(ldx(Sz::W, 7, 6, DATA)).i(ldx(Sz::W, 8, 6, DATA_END));
                b.i(movr(2, 7)).i(alu64i(Op::Add, 2, 4)).j(jmpr(Cond::Gt, 2, 8, 0), "out");
                if spill {
                    b.i(stx(Sz::Dw, 10, 7, -8));
                }
                b.i(movr(1, 6)).all(ld_map(2, 0)).i(mov(3, 0)).i(call(TAIL_CALL));
                if spill {
                    b.i(ldx(Sz::Dw, 7, 10, -8));
                }
                b.i(ldx(Sz::B, 0, 7, 0));
                (
                    if spill { "tail_call_pkt_spill" } else { "tail_call_pkt" },
                    vec![MapSpec::prog_array(4, "jmp")],
                )
            }
            2 => {
                // holding a socket across a tail call
                lookup(&mut b);
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0));
                b.i(movr(1, 6)).all(ld_map(2, 0)).i(mov(3, 0)).i(call(TAIL_CALL));
                b.i(movr(1, 7)).i(call(SK_RELEASE));
                ("tail_call_held_ref", vec![MapSpec::prog_array(4, "jmp")])
            }
            3 => {
                // the wrong map for the helper, or the wrong helper for the map
                let prog_array = rng.chance(1, 2);
                b.i(st(Sz::Dw, 10, -8, 0)).all(ld_map(1, 0)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -8));
                let id = rng.pick(&[1, 2, 3]);
                if id == 2 {
                    b.i(movr(3, 10)).i(alu64i(Op::Add, 3, -8)).i(mov(4, 0));
                }
                if !prog_array {
                    // tail call through an array
                    b.i(movr(1, 1)).i(ldx(Sz::W, 3, 10, -8));
                }
                b.i(call(if prog_array { id } else { TAIL_CALL }));
                let m = if prog_array { MapSpec::prog_array(4, "jmp") } else { MapSpec::array(8, 4, "arr") };
                ("map_mismatch", vec![m])
            }
            4 => {
                // map lookup keyed by packet bytes, value read back
                let k = rng.pick(&[4, 8]);
                let ks = rng.pick(&[4u32, 8]);
                b.i(movr(6, 1)).i(ldx(Sz::W, 7, 6, DATA)).i(ldx(Sz::W, 8, 6, DATA_END));
                b.i(movr(2, 7)).i(alu64i(Op::Add, 2, k)).j(jmpr(Cond::Gt, 2, 8, 0), "out");
                b.all(ld_map(1, 0)).i(movr(2, 7)).i(call(1));
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(ldx(Sz::W, 0, 0, 0));
                ("pkt_key", vec![MapSpec::hash(ks, 8, 16, "h")])
            }
            _ => {
                // a socket pointer stored into a map value, then the socket released
                lookup(&mut b);
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0));
                b.i(st(Sz::Dw, 10, -48, 0))
                    .all(ld_map(1, 0))
                    .i(movr(2, 10))
                    .i(alu64i(Op::Add, 2, -48))
                    .i(call(1));
                b.j(jmpi(Cond::Eq, 0, 0, 0), "rel").i(stx(Sz::Dw, 0, 7, 0));
                b.label("rel").i(movr(1, 7)).i(call(SK_RELEASE));
                ("sock_into_map", vec![MapSpec::hash(8, 8, 16, "h")])
            }
        };
        if !b.used("out") {
            b.j(ja(0), "out");
        }
        b.label("out").all(ret0());
        out.push(case(format!("{i:04}_{desc}"), &b).with_maps(maps));
    }
}

/// References across bpf-to-bpf calls, NULL-check forms and pruning over references.
pub fn refs_flow(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let i = out.len();
        let mut b = B::new();
        let shape = rng.below(5);
        let desc = match shape {
            0 => {
                // the callee releases the caller's socket
                lookup(&mut b);
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(1, 0)).call("sub");
                if rng.chance(1, 3) {
                    b.i(ldx(Sz::W, 0, 1, 4)); // r1 is clobbered by the call anyway
                }
                b.label("out").all(ret0());
                b.label("sub").i(call(SK_RELEASE)).all(ret0());
                "sub_releases"
            }
            1 => {
                // the callee acquires and returns the socket (or leaks it)
                let release = rng.chance(2, 3);
                let check = rng.chance(3, 4);
                b.i(movr(6, 1)).call("sub");
                if check {
                    b.j(jmpi(Cond::Eq, 0, 0, 0), "out");
                }
                if release {
                    b.i(movr(1, 0)).i(call(SK_RELEASE));
                }
                b.label("out").all(ret0());
                b.label("sub");
                for k in 1..=5 {
                    b.i(st(Sz::Dw, 10, -8 * k, 0));
                }
                b.i(movr(2, 10)).i(alu64i(Op::Add, 2, -40)).i(mov(3, 12)).i(mov(4, 0)).i(mov(5, 0));
                b.i(call(SK_LOOKUP_TCP)).i(exit());
                "sub_acquires"
            }
            2 => {
                // NULL-check forms: ==/!= 0, 32-bit, against a register, unsigned
                lookup(&mut b);
                match rng.below(5) {
                    0 => b.j(jmpi(Cond::Ne, 0, 0, 0), "ok").all(ret0()).label("ok"),
                    1 => b.j(jmp32i(Cond::Eq, 0, 0, 0), "out"),
                    2 => b.i(mov(2, 0)).j(jmpr(Cond::Eq, 0, 2, 0), "out"),
                    3 => b.j(jmpi(Cond::Gt, 0, 0, 0), "ok").all(ret0()).label("ok"),
                    _ => b.j(jmpi(Cond::Eq, 0, 1, 0), "out"),
                };
                b.i(movr(1, 0)).i(call(SK_RELEASE));
                if !b.used("out") {
                    b.j(ja(0), "out");
                }
                b.label("out").all(ret0());
                "null_forms"
            }
            3 => {
                // a lookup on both arms of a branch, released after the join
                b.i(movr(6, 1)).i(call(7)).i(movr(9, 0));
                for k in 1..=5 {
                    b.i(st(Sz::Dw, 10, -8 * k, 0));
                }
                b.i(movr(1, 6))
                    .i(movr(2, 10))
                    .i(alu64i(Op::Add, 2, -40))
                    .i(mov(3, 12))
                    .i(mov(4, 0))
                    .i(mov(5, 0));
                b.j(jmpi(Cond::Gt, 9, 100, 0), "udp").i(call(SK_LOOKUP_TCP)).j(ja(0), "join");
                b.label("udp").i(call(85));
                b.label("join");
                if rng.chance(3, 4) {
                    b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(1, 0)).i(call(SK_RELEASE));
                }
                b.label("out").all(ret0());
                "join"
            }
            _ => {
                // a loop of lookups, each released (or one kept)
                let keep = rng.chance(1, 3);
                b.i(movr(6, 1)).i(mov(8, 0)).label("top");
                for k in 1..=5 {
                    b.i(st(Sz::Dw, 10, -8 * k, 0));
                }
                b.i(movr(1, 6))
                    .i(movr(2, 10))
                    .i(alu64i(Op::Add, 2, -40))
                    .i(mov(3, 12))
                    .i(mov(4, 0))
                    .i(mov(5, 0));
                b.i(call(SK_LOOKUP_TCP)).j(jmpi(Cond::Eq, 0, 0, 0), "next");
                if keep {
                    b.j(jmpi(Cond::Eq, 8, 2, 0), "next");
                }
                b.i(movr(1, 0)).i(call(SK_RELEASE));
                b.label("next").i(alu64i(Op::Add, 8, 1)).j(jmpi(Cond::Lt, 8, 3, 0), "top");
                b.all(ret0());
                "loop"
            }
        };
        out.push(case(format!("{i:04}_{desc}"), &b));
    }
}

/// The rarer tc helpers with a stack buffer of `len` bytes (initialized or not) and a variant
/// argument: tunnel keys and options, xfrm state, fib lookup, syncookies, sk_assign, csum level,
/// cgroup classid, redirect_neigh/peer, check_mtu, skb_set_tstamp.
pub fn more_helpers(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let i = out.len();
        let mut b = B::new();
        let id = rng.pick(&[
            20, 21, 29, 30, 66, 69, 100, 110, 124, 135, 151, 152, 155, 163, 192, 105, 120, 122, 176, 177,
            204, 206, 207,
        ]);
        let len = rng.pick(&[4, 8, 16, 28, 44, 64, 72]);
        let init = rng.chance(1, 2);
        let odd = rng.chance(1, 4);
        b.i(movr(6, 1));
        if init {
            for k in 1..=8 {
                b.i(st(Sz::Dw, 10, -8 * k, 0));
            }
        }
        let buf = |b: &mut B, r: u8| {
            b.i(movr(r, 10)).i(alu64i(Op::Add, r, if odd { -62 } else { -64 }));
        };
        match id {
            20 | 21 | 29 | 30 => {
                b.i(movr(1, 6));
                buf(&mut b, 2);
                b.i(mov(3, len)).i(mov(4, 0));
            }
            66 => {
                b.i(movr(1, 6)).i(mov(2, 0));
                buf(&mut b, 3);
                b.i(mov(4, len)).i(mov(5, 0));
            }
            69 => {
                b.i(movr(1, 6));
                buf(&mut b, 2);
                b.i(mov(3, len)).i(mov(4, 0));
            }
            100 | 110 | 124 => {
                lookup(&mut b);
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0));
                if id == 124 {
                    b.i(movr(1, 6)).i(movr(2, if odd { 6 } else { 7 })).i(mov(3, 0));
                } else {
                    b.i(movr(1, if odd { 6 } else { 7 }))
                        .i(movr(2, 10))
                        .i(alu64i(Op::Add, 2, -40))
                        .i(mov(3, 20));
                    b.i(movr(4, 10)).i(alu64i(Op::Add, 4, -40)).i(mov(5, len.min(40)));
                }
                b.i(call(id)).i(movr(1, 7)).i(call(SK_RELEASE));
                b.label("out").all(ret0());
                out.push(case(format!("{i:04}_more_{}_{len}_{odd}", helper_label(id)), &b));
                continue;
            }
            152 => {
                b.i(mov(1, 1));
                if odd {
                    b.i(mov(2, 0));
                } else {
                    buf(&mut b, 2);
                }
                b.i(mov(3, if rng.chance(1, 3) { 0 } else { len })).i(mov(4, 0));
            }
            163 => {
                b.i(movr(1, 6)).i(mov(2, 0));
                buf(&mut b, 3);
                b.i(mov(4, 0)).i(mov(5, 0));
            }
            105 => {
                // strtol(buf, len, flags, &res)
                buf(&mut b, 1);
                b.i(mov(2, len.min(32))).i(mov(3, 0)).i(movr(4, 10)).i(alu64i(
                    Op::Add,
                    4,
                    if odd { -4 } else { -8 },
                ));
            }
            120 => {
                b.i(mov(1, 0)).i(mov(2, 0));
                buf(&mut b, 3);
                b.i(mov(4, len));
            }
            122 => {
                b.i(if odd { mov(1, 0) } else { movr(1, 6) });
            }
            176 | 177 => {
                buf(&mut b, 1);
                b.i(mov(2, len));
                if id == 177 {
                    b.i(mov(3, 0)).i(mov(4, if odd { 8 } else { 0 }));
                } else {
                    b.i(mov(3, 0));
                }
            }
            204 | 206 | 207 => {
                // raw syncookies on packet headers (or the stack)
                if odd {
                    buf(&mut b, 1);
                    b.i(movr(2, 10)).i(alu64i(Op::Add, 2, -24));
                } else {
                    let k = rng.pick(&[40, 60, 64]);
                    b.i(ldx(Sz::W, 7, 6, DATA)).i(ldx(Sz::W, 8, 6, DATA_END)).i(movr(2, 7)).i(alu64i(
                        Op::Add,
                        2,
                        k,
                    ));
                    b.j(jmpr(Cond::Gt, 2, 8, 0), "out").i(movr(1, 7)).i(movr(2, 7)).i(alu64i(Op::Add, 2, 20));
                }
                b.i(mov(3, 20));
            }
            _ => {
                b.i(movr(1, if odd { 10 } else { 6 })).i(mov(2, 1)).i(mov(3, 0));
            }
        }
        b.i(call(id));
        if rng.chance(1, 2) {
            b.i(ldx(Sz::Dw, 0, 10, -64));
        }
        if b.used("out") {
            b.j(ja(0), "out").label("out");
        }
        b.all(ret0());
        let init = if init { "i" } else { "u" };
        out.push(case(format!("{i:04}_more_{}_{len}_{init}{}", helper_label(id), odd as u8), &b));
    }
}

/// Random mixes of the tc operations over r7..r9 (ctx in r6): lookups, NULL checks, releases,
/// field reads, spills and fills, packet checks and accesses, packet-changing calls and
/// data-dependent skips that make paths join (pruning over references and packet ranges).
pub fn mix(rng: &mut Rng, out: &mut Vec<Case>, n: usize) {
    const SKIPS: [&str; 6] = ["s0", "s1", "s2", "s3", "s4", "s5"];
    for _ in 0..n {
        let i = out.len();
        let mut b = B::new();
        b.i(movr(6, 1));
        for k in 1..=5 {
            b.i(st(Sz::Dw, 10, -8 * k, 0));
        }
        let steps = rng.range(4, 10) as usize;
        let mut open_skip: Option<&'static str> = None;
        let mut nskip = 0;
        for _ in 0..steps {
            let r = rng.range(7, 9) as u8;
            let r2 = rng.range(7, 9) as u8;
            match rng.below(12) {
                0 | 1 => {
                    b.i(movr(1, 6)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -40)).i(mov(3, 12)).i(mov(4, 0));
                    b.i(mov(5, 0)).i(call(rng.pick(&[SK_LOOKUP_TCP, 85, 99]))).i(movr(r, 0));
                }
                2 => {
                    b.j(jmpi(rng.pick(&[Cond::Eq, Cond::Eq, Cond::Ne]), r, 0, 0), "out");
                }
                3 => {
                    b.i(movr(1, r)).i(call(SK_RELEASE));
                }
                4 => {
                    b.i(ldx(rng.pick(&[Sz::W, Sz::W, Sz::H, Sz::B]), 0, r, rng.pick(&[0i16, 4, 12, 44, 72])));
                }
                5 => {
                    let slot = rng.pick(&[-48i16, -56]);
                    if rng.chance(1, 2) {
                        b.i(stx(Sz::Dw, 10, r, slot));
                    } else {
                        b.i(ldx(Sz::Dw, r, 10, slot));
                    }
                }
                6 => {
                    b.i(ldx(Sz::W, r, 6, DATA)).i(ldx(Sz::W, 0, 6, DATA_END)).i(movr(2, r));
                    b.i(alu64i(Op::Add, 2, rng.pick(&[4, 8, 14]))).j(jmpr(Cond::Gt, 2, 0, 0), "out");
                }
                7 => {
                    if rng.chance(1, 3) {
                        b.i(st(Sz::B, r, rng.pick(&[0i16, 3, 8]), 1));
                    } else {
                        b.i(ldx(Sz::B, 0, r, rng.pick(&[0i16, 3, 8])));
                    }
                }
                8 => {
                    b.i(movr(1, 6)).i(mov(2, 0)).i(call(rng.pick(&[39, 34, 39, 19])));
                }
                9 => {
                    b.i(movr(r, r2));
                }
                10 if open_skip.is_none() && nskip < SKIPS.len() => {
                    let l = SKIPS[nskip];
                    nskip += 1;
                    b.i(call(7)).j(jmpi(Cond::Gt, 0, 1000, 0), l);
                    open_skip = Some(l);
                }
                _ => {
                    if let Some(l) = open_skip.take() {
                        b.label(l);
                    } else {
                        b.i(mov(r, rng.range(0, 3) as i32));
                    }
                }
            }
        }
        if let Some(l) = open_skip.take() {
            b.label(l);
        }
        if !b.used("out") {
            b.j(ja(0), "out");
        }
        b.label("out").all(ret0());
        out.push(case(format!("{i:04}_mix_{steps}"), &b));
    }
}
