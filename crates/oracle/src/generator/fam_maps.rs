//! Map and helper families: map value access with and without null checks, helper arguments.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;
use crate::map::MapSpec;

fn pick_map(rng: &mut Rng) -> MapSpec {
    let vs = rng.pick(&[4u32, 8, 12, 16, 48]);
    if rng.chance(1, 2) {
        MapSpec::array(vs, rng.pick(&[1u32, 4, 16]), "arr")
    } else {
        MapSpec::hash(8, vs, 16, "hash")
    }
}

/// Lookup then load/store into the value, with or without the null check, at and past bounds.
pub fn map_value(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "map_value";
    let mut out = Vec::new();
    for i in 0..n {
        let m = pick_map(rng);
        let vs = m.value_size as i32;
        let sz = rng.pick(&SIZES);
        let off = match rng.below(8) {
            0 => rng.range(-4, -1) as i32,
            1 | 2 => vs - sz.bytes() + rng.range(1, 2) as i32,
            _ => (vs - sz.bytes() - rng.range(0, 3) as i32).max(0),
        };
        // 0: none, 1: arithmetic before the check, else a proper check.
        let check = if rng.chance(1, 4) { rng.below(2) } else { rng.range(2, 4) as u64 };
        let mut b = B::new();
        b.all(map_lookup(0, -8));
        let cdesc = match check {
            0 => "nochk",
            1 => {
                b.i(alu64i(Op::Add, 0, 0)).j(jmpi(Cond::Eq, 0, 0, 0), "out");
                "arith_then_chk"
            }
            2 => {
                b.j(jmpi(Cond::Ne, 0, 0, 0), "ok").j(ja(0), "out").label("ok");
                "chk_ne"
            }
            _ => {
                b.j(jmpi(Cond::Eq, 0, 0, 0), "out");
                "chk_eq"
            }
        };
        let kind = rng.below(3);
        let kdesc = match kind {
            0 => {
                b.i(ldx(sz, 1, 0, off as i16));
                "ld"
            }
            1 => {
                b.i(st(sz, 0, off as i16, 1));
                "st"
            }
            _ => {
                b.i(mov(1, 9)).i(stx(sz, 0, 1, off as i16));
                "stx"
            }
        };
        b.label("out").all(ret0());
        let name = format!("{i:04}_{:?}_vs{vs}_{cdesc}_{kdesc}{}_{off}", m.kind, sz.bytes()).to_lowercase();
        out.push(Case::new(fam, name, ProgType::SocketFilter, b.build()).with_maps(vec![m]));
    }
    out
}

#[derive(Clone, Copy)]
enum Arg {
    Map,
    Ctx,
    Scalar(i32),
    StackInit(i16),
    StackUninit(i16),
    Uninit,
    MapValueOrNull,
}

fn set_arg(b: &mut B, reg: u8, a: Arg) {
    match a {
        Arg::Map => {
            b.all(ld_map(reg, 0));
        }
        Arg::Ctx => {
            if reg != 1 {
                b.i(movr(reg, 6));
            } else {
                b.i(movr(1, 6));
            }
        }
        Arg::Scalar(v) => {
            b.i(mov(reg, v));
        }
        Arg::StackInit(off) => {
            b.i(st(Sz::Dw, 10, off, 0));
            if off + 8 <= -8 {
                b.i(st(Sz::Dw, 10, off + 8, 0));
            }
            b.i(movr(reg, 10)).i(alu64i(Op::Add, reg, off as i32));
        }
        Arg::StackUninit(off) => {
            b.i(movr(reg, 10)).i(alu64i(Op::Add, reg, off as i32));
        }
        Arg::Uninit => {}
        Arg::MapValueOrNull => {
            b.i(movr(reg, 7));
        }
    }
}

fn arg_name(a: Arg) -> String {
    match a {
        Arg::Map => "map".into(),
        Arg::Ctx => "ctx".into(),
        Arg::Scalar(v) => format!("k{v}"),
        Arg::StackInit(o) => format!("fp{o}"),
        Arg::StackUninit(o) => format!("ufp{o}"),
        Arg::Uninit => "none".into(),
        Arg::MapValueOrNull => "mvnull".into(),
    }
}

/// Helper calls with well- and ill-typed arguments, and reads of clobbered caller-saved registers.
pub fn helpers(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "helpers";
    let mut out = Vec::new();
    let all_args = |rng: &mut Rng| -> Arg {
        match rng.below(7) {
            0 => Arg::Map,
            1 => Arg::Ctx,
            2 => Arg::Scalar(rng.pick(&[0, 1, 4, 8, 16, 64, -1])),
            3 => Arg::StackInit(rng.pick(&[-8i16, -16, -64, -512, -4])),
            4 => Arg::StackUninit(rng.pick(&[-8i16, -16, -64])),
            5 => Arg::Uninit,
            _ => Arg::MapValueOrNull,
        }
    };
    for i in 0..n {
        // (helper id, argument count, a well-typed argument list)
        let (id, good): (i32, Vec<Arg>) = match rng.below(9) {
            0 => (1, vec![Arg::Map, Arg::StackInit(-8)]), // map_lookup_elem
            1 => (2, vec![Arg::Map, Arg::StackInit(-8), Arg::StackInit(-24), Arg::Scalar(0)]), // update
            2 => (3, vec![Arg::Map, Arg::StackInit(-8)]), // delete
            3 => (7, vec![]),                             // get_prandom_u32
            4 => (5, vec![]),                             // ktime_get_ns
            5 => (26, vec![Arg::Ctx, Arg::Scalar(0), Arg::StackInit(-16), Arg::Scalar(8)]), // skb_load_bytes
            6 => (6, vec![Arg::StackInit(-16), Arg::Scalar(8)]), // trace_printk
            7 => (rng.pick(&[9, 10, 11, 23, 28, 113, 211, 10000, -1, 0]), vec![Arg::Ctx, Arg::Scalar(0)]),
            _ => (8, vec![]), // get_smp_processor_id
        };
        let mut args = good.clone();
        let mutate = rng.chance(1, 2);
        if mutate && !args.is_empty() {
            let k = rng.below(args.len() as u64) as usize;
            args[k] = all_args(rng);
            if rng.chance(1, 3) {
                let k2 = rng.below(args.len() as u64) as usize;
                args[k2] = all_args(rng);
            }
        }
        let mut b = B::new();
        b.i(movr(6, 1));
        if args.iter().any(|a| matches!(a, Arg::MapValueOrNull)) {
            b.all(map_lookup(0, -40)).i(movr(7, 0));
        }
        for (k, &a) in args.iter().enumerate() {
            set_arg(&mut b, k as u8 + 1, a);
        }
        b.i(call(id));
        let after = rng.below(4);
        let adesc = match after {
            0 => {
                b.i(movr(0, rng.pick(&[1, 2, 3, 4, 5]))).i(exit());
                "read_clobbered"
            }
            1 => {
                b.i(exit());
                "ret_r0"
            }
            _ => {
                b.all(ret0());
                "ret0"
            }
        };
        let an: Vec<String> = args.iter().map(|&a| arg_name(a)).collect();
        let name = format!("{i:04}_{}_{}_{adesc}", helper_label(id), an.join("_"));
        let mut c = Case::new(fam, name, ProgType::SocketFilter, b.build())
            .with_maps(vec![MapSpec::hash(8, 16, 8, "hm")]);
        if id == 6 && rng.chance(1, 4) {
            c = c.with_license("Proprietary");
        }
        out.push(c);
    }
    out
}
