//! Pointer families: arithmetic (allowed and prohibited forms) and atomics on each memory kind.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;
use crate::map::MapSpec;

#[derive(Clone, Copy, Debug)]
enum Ptr {
    Ctx,
    Stack,
    MapValue,
    Packet,
}

/// Puts a pointer of kind `p` in r6 (map values null-checked); returns the program type.
fn make_ptr(b: &mut B, p: Ptr) -> ProgType {
    match p {
        Ptr::Ctx => {
            b.i(movr(6, 1));
            ProgType::SocketFilter
        }
        Ptr::Stack => {
            b.i(movr(6, 10)).i(alu64i(Op::Add, 6, -64));
            ProgType::SocketFilter
        }
        Ptr::MapValue => {
            b.all(map_lookup(0, -8)).j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(6, 0));
            ProgType::SocketFilter
        }
        Ptr::Packet => {
            b.i(ldx(Sz::W, 6, 1, 0)).i(ldx(Sz::W, 3, 1, 4)).i(movr(4, 6)).i(alu64i(Op::Add, 4, 64));
            b.j(jmpr(Cond::Gt, 4, 3, 0), "out");
            ProgType::Xdp
        }
    }
}

/// Arithmetic on pointers of each kind, then an optional dereference.
pub fn ptr_arith(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "ptr_arith";
    let mut out = Vec::new();
    for i in 0..n {
        let p = rng.pick(&[Ptr::Ctx, Ptr::Stack, Ptr::MapValue, Ptr::Packet]);
        let mut b = B::new();
        b.i(movr(9, 1));
        let ty = make_ptr(&mut b, p);
        let form = rng.below(14);
        let k = rng.pick(&[0, 4, 8, -8, 60, 64]);
        let desc = match form {
            0 => {
                b.i(alu64i(Op::Add, 6, k));
                format!("add_{k}")
            }
            1 => {
                b.i(alu64i(Op::Sub, 6, k));
                format!("sub_{k}")
            }
            2 => {
                b.i(mov(7, k)).i(alu64r(Op::Add, 6, 7));
                format!("addr_{k}")
            }
            3 => {
                b.i(call(7)).i(alu64i(Op::And, 0, 7)).i(alu64r(Op::Add, 6, 0));
                "add_unknown7".to_string()
            }
            4 => {
                b.i(call(7)).i(alu64r(Op::Add, 6, 0));
                "add_unbounded".to_string()
            }
            5 => {
                let op = rng.pick(&[
                    Op::Mul,
                    Op::Div,
                    Op::Or,
                    Op::And,
                    Op::Lsh,
                    Op::Rsh,
                    Op::Xor,
                    Op::Mod,
                    Op::Arsh,
                ]);
                b.i(alu64i(op, 6, 2));
                format!("{op:?}")
            }
            6 => {
                b.i(alu64i(Op::Neg, 6, 0));
                "neg".to_string()
            }
            7 => {
                b.i(alu32i(Op::Add, 6, k));
                format!("add32_{k}")
            }
            8 => {
                b.i(alu32r(Op::Mov, 7, 6)).i(movr(6, 7));
                "mov32".to_string()
            }
            9 => {
                b.i(movr(7, 10)).i(alu64r(Op::Sub, 6, 7));
                "sub_fp".to_string()
            }
            10 => {
                b.i(movr(7, 6)).i(alu64r(Op::Add, 6, 7));
                "add_self".to_string()
            }
            11 => {
                b.i(mov(7, k)).i(alu64r(Op::Sub, 7, 6)).i(movr(6, 7));
                "scalar_minus_ptr".to_string()
            }
            12 => {
                b.i(ins(0xd7, 6, 0, 0, 64));
                "bswap64".to_string()
            }
            _ => {
                b.i(mov(7, k)).i(alu64r(Op::Add, 7, 6)).i(movr(6, 7));
                "scalar_plus_ptr".to_string()
            }
        };
        let deref = rng.below(3);
        let ddesc = match deref {
            0 => {
                b.i(ldx(Sz::B, 0, 6, 0)).all(ret0());
                "ld"
            }
            1 => {
                b.i(movr(0, 6)).i(exit());
                "ret"
            }
            _ => {
                b.i(st(Sz::B, 6, 0, 1)).all(ret0());
                "st"
            }
        };
        // Every path ends above; "out" gives the null/bounds exits somewhere to go.
        if b.used("out") {
            b.label("out").all(ret0());
        }
        let maps = if matches!(p, Ptr::MapValue) { vec![MapSpec::array(64, 1, "pa")] } else { vec![] };
        let name = format!("{i:04}_{p:?}_{desc}_{ddesc}").to_lowercase();
        out.push(Case::new(fam, name, ty, b.build()).with_maps(maps));
    }
    out
}

// Atomic operation immediates.
const ATOMIC_OPS: [(i32, &str); 12] = [
    (0x00, "add"),
    (0x40, "or"),
    (0x50, "and"),
    (0xa0, "xor"),
    (0x01, "fetch_add"),
    (0x41, "fetch_or"),
    (0x51, "fetch_and"),
    (0xa1, "fetch_xor"),
    (0xe1, "xchg"),
    (0xf1, "cmpxchg"),
    (0x100, "load_acq"),
    (0x110, "store_rel"),
];

/// Atomic operations on stack (initialised or not), ctx, map value and packet, all sizes.
pub fn atomics(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "atomics";
    let mut out = Vec::new();
    for i in 0..n {
        let (imm, opname) = rng.pick(&ATOMIC_OPS);
        let sz = if rng.chance(2, 3) { rng.pick(&[Sz::W, Sz::Dw]) } else { rng.pick(&SIZES) };
        let target = rng.below(5);
        let mut b = B::new();
        let mut maps = Vec::new();
        let mut ty = ProgType::SocketFilter;
        let off: i16 = rng.pick(&[0, 0, 4, 2, 8]);
        let tdesc = match target {
            0 => {
                b.i(st(Sz::Dw, 10, -16, 0)).i(st(Sz::Dw, 10, -8, 0)).i(movr(6, 10)).i(alu64i(
                    Op::Add,
                    6,
                    -16,
                ));
                "stack"
            }
            1 => {
                b.i(movr(6, 10)).i(alu64i(Op::Add, 6, -16));
                "stack_uninit"
            }
            2 => {
                b.i(movr(6, 1));
                "ctx"
            }
            3 => {
                maps.push(MapSpec::array(16, 1, "am"));
                b.all(map_lookup(0, -8)).j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(6, 0));
                "mapval"
            }
            _ => {
                ty = ProgType::Xdp;
                b.i(ldx(Sz::W, 6, 1, 0)).i(ldx(Sz::W, 3, 1, 4)).i(movr(4, 6)).i(alu64i(Op::Add, 4, 16));
                b.j(jmpr(Cond::Gt, 4, 3, 0), "out");
                "pkt"
            }
        };
        b.i(mov(0, 0)).i(mov(2, 1));
        if imm == 0x100 {
            // load-acquire: dst = *(src + off); src is the pointer.
            b.i(atomic(sz, 2, 6, off, imm));
        } else {
            b.i(atomic(sz, 6, 2, off, imm));
        }
        b.label("out").all(ret0());
        let name = format!("{i:04}_{opname}{}_{tdesc}_{off}", sz.bytes());
        out.push(Case::new(fam, name, ty, b.build()).with_maps(maps));
    }
    out
}
