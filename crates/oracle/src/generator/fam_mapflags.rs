//! The `map_flags` family: `BPF_F_RDONLY_PROG` / `BPF_F_WRONLY_PROG` and frozen maps against
//! every way a program touches a map value (loads, sign-extending loads, stores, every atomic,
//! load-acquire / store-release, and helper memory arguments that read or write), in and out of
//! bounds, through a lookup result or a direct `ld_imm64` value pointer.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;
use crate::map::MapSpec;

const RDONLY_PROG: u32 = 1 << 7;
const WRONLY_PROG: u32 = 1 << 8;

/// The map under test (index 0 of the case).
#[derive(Clone, Copy, Debug)]
enum Cfg {
    Plain,
    Rdonly,
    RdonlyFrozen,
    RdonlyFrozen4,
    Wronly,
    RdonlyHash,
    WronlyHash,
    Frozen,
}

const CFGS: [Cfg; 8] = [
    Cfg::Plain,
    Cfg::Rdonly,
    Cfg::RdonlyFrozen,
    Cfg::RdonlyFrozen4,
    Cfg::Wronly,
    Cfg::RdonlyHash,
    Cfg::WronlyHash,
    Cfg::Frozen,
];

/// Array configurations (those a direct `ld_imm64` value pointer can name).
const ARRAY_CFGS: [Cfg; 6] =
    [Cfg::Plain, Cfg::Rdonly, Cfg::RdonlyFrozen, Cfg::RdonlyFrozen4, Cfg::Wronly, Cfg::Frozen];

impl Cfg {
    fn map(self, vs: u32) -> MapSpec {
        let data: Vec<u8> = (0..vs).map(|k| (k * 37 + 11) as u8).collect();
        match self {
            Cfg::Plain => MapSpec::array(vs, 1, "plain"),
            Cfg::Rdonly => MapSpec::array(vs, 1, "ro").with_flags(RDONLY_PROG),
            Cfg::RdonlyFrozen => {
                MapSpec::array(vs, 1, "rofrozen").with_flags(RDONLY_PROG).with_data(&data, true)
            }
            Cfg::RdonlyFrozen4 => {
                MapSpec::array(vs, 4, "rofrozen4").with_flags(RDONLY_PROG).with_data(&data, true)
            }
            Cfg::Wronly => MapSpec::array(vs, 1, "wo").with_flags(WRONLY_PROG),
            Cfg::RdonlyHash => MapSpec::hash(8, vs, 4, "rohash").with_flags(RDONLY_PROG),
            Cfg::WronlyHash => MapSpec::hash(8, vs, 4, "wohash").with_flags(WRONLY_PROG),
            Cfg::Frozen => MapSpec::array(vs, 1, "frozen").with_data(&data, true),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Path {
    Ldx,
    Ldsx,
    St,
    Stx,
    AtomicAdd,
    AtomicFetchAdd,
    Xchg,
    Cmpxchg,
    LoadAcquire,
    StoreRelease,
    LookupKey,
    UpdateValue,
    UpdateSelf,
    DeleteSelf,
    ProbeReadKernel,
    SkbLoadBytes,
    TracePrintk,
    DynptrFromMem,
}

const PATHS: [Path; 18] = [
    Path::Ldx,
    Path::Ldsx,
    Path::St,
    Path::Stx,
    Path::AtomicAdd,
    Path::AtomicFetchAdd,
    Path::Xchg,
    Path::Cmpxchg,
    Path::LoadAcquire,
    Path::StoreRelease,
    Path::LookupKey,
    Path::UpdateValue,
    Path::UpdateSelf,
    Path::DeleteSelf,
    Path::ProbeReadKernel,
    Path::SkbLoadBytes,
    Path::TracePrintk,
    Path::DynptrFromMem,
];

/// An access of `size` bytes at `off`: in bounds, just past the end, or before the start.
fn offset(rng: &mut Rng, vs: i32, size: i32, oob: bool) -> i32 {
    if !oob {
        let slots = (vs - size) / size + 1;
        return rng.below(slots as u64) as i32 * size;
    }
    if rng.chance(1, 6) { -size } else { vs - size + size.max(1) }
}

fn sz_name(sz: Sz) -> &'static str {
    match sz {
        Sz::B => "b",
        Sz::H => "h",
        Sz::W => "w",
        Sz::Dw => "dw",
    }
}

/// Emits the access through r7 (the value pointer; r6 holds the context). Returns its name.
fn emit(b: &mut B, rng: &mut Rng, path: Path, vs: i32, oob: bool) -> String {
    let direct = |rng: &mut Rng, sizes: &[Sz]| {
        let sz = rng.pick(sizes);
        let off = offset(rng, vs, sz.bytes(), oob);
        (sz, off as i16)
    };
    let atomic_op = |b: &mut B, rng: &mut Rng, imm: i32| {
        let (sz, off) = direct(rng, &[Sz::W, Sz::Dw]);
        b.i(mov(1, 1));
        if imm == 0xf1 {
            b.i(mov(0, 0));
        }
        b.i(atomic(sz, 7, 1, off, imm));
        format!("{}{off}", sz_name(sz))
    };
    // helpers take the pointer moved by `off` and a size in r2 or r4
    let helper_ptr = |b: &mut B, reg: u8, off: i32| {
        b.i(movr(reg, 7));
        if off != 0 {
            b.i(alu64i(Op::Add, reg, off));
        }
    };
    let sized = |rng: &mut Rng| -> (i32, i32) {
        let off = if rng.chance(1, 2) { 0 } else { rng.pick(&[4, 8]).min(vs - 4) };
        let size = if oob { vs - off + 1 } else { rng.range(1, (vs - off) as i64) as i32 };
        (off, size)
    };
    let desc = match path {
        Path::Ldx => {
            let (sz, off) = direct(rng, &SIZES);
            b.i(ldx(sz, 0, 7, off));
            format!("{}{off}", sz_name(sz))
        }
        Path::Ldsx => {
            let (sz, off) = direct(rng, &[Sz::B, Sz::H, Sz::W]);
            b.i(ins(0x81 | sz as u8, 0, 7, off, 0));
            format!("{}{off}", sz_name(sz))
        }
        Path::St => {
            let (sz, off) = direct(rng, &SIZES);
            b.i(st(sz, 7, off, 42));
            format!("{}{off}", sz_name(sz))
        }
        Path::Stx => {
            let (sz, off) = direct(rng, &SIZES);
            b.i(mov(1, 9)).i(stx(sz, 7, 1, off));
            format!("{}{off}", sz_name(sz))
        }
        Path::AtomicAdd => atomic_op(b, rng, 0x00),
        Path::AtomicFetchAdd => atomic_op(b, rng, 0x01),
        Path::Xchg => atomic_op(b, rng, 0xe1),
        Path::Cmpxchg => atomic_op(b, rng, 0xf1),
        Path::LoadAcquire => {
            let (sz, off) = direct(rng, &SIZES);
            b.i(atomic(sz, 0, 7, off, 0x100));
            format!("{}{off}", sz_name(sz))
        }
        Path::StoreRelease => {
            let (sz, off) = direct(rng, &SIZES);
            b.i(mov(1, 3)).i(atomic(sz, 7, 1, off, 0x110));
            format!("{}{off}", sz_name(sz))
        }
        Path::LookupKey => {
            // the 8-byte key of map 1 read from the value
            let off = if oob { vs - 4 } else { rng.below((vs / 8) as u64) as i32 * 8 };
            b.all(ld_map(1, 1));
            helper_ptr(b, 2, off);
            b.i(call(1));
            format!("{off}")
        }
        Path::UpdateValue => {
            // map 1's 8-byte value read from the value
            let off = if oob { vs - 4 } else { rng.below((vs / 8) as u64) as i32 * 8 };
            b.i(st(Sz::Dw, 10, -16, 0)).all(ld_map(1, 1)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -16));
            helper_ptr(b, 3, off);
            b.i(mov(4, 0)).i(call(2));
            format!("{off}")
        }
        Path::UpdateSelf => {
            let off = if oob { 4 } else { 0 };
            b.i(st(Sz::Dw, 10, -16, 0)).all(ld_map(1, 0)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -16));
            helper_ptr(b, 3, off);
            b.i(mov(4, 0)).i(call(2));
            format!("{off}")
        }
        Path::DeleteSelf => {
            b.all(ld_map(1, 0));
            if oob {
                helper_ptr(b, 2, vs - 2);
            } else {
                b.i(st(Sz::Dw, 10, -16, 0)).i(movr(2, 10)).i(alu64i(Op::Add, 2, -16));
            }
            b.i(call(3));
            if oob { format!("key{}", vs - 2) } else { "fpkey".into() }
        }
        Path::ProbeReadKernel | Path::TracePrintk => {
            let (off, size) = sized(rng);
            helper_ptr(b, 1, off);
            b.i(mov(2, size));
            if matches!(path, Path::ProbeReadKernel) {
                b.i(mov(3, 0)).i(call(113));
            } else {
                b.i(call(6));
            }
            format!("{off}_{size}")
        }
        Path::SkbLoadBytes => {
            let (off, size) = sized(rng);
            b.i(movr(1, 6)).i(mov(2, 0));
            helper_ptr(b, 3, off);
            b.i(mov(4, size)).i(call(26));
            format!("{off}_{size}")
        }
        Path::DynptrFromMem => {
            let (off, size) = sized(rng);
            helper_ptr(b, 1, off);
            b.i(mov(2, size)).i(mov(3, 0)).i(movr(4, 10)).i(alu64i(Op::Add, 4, -32)).i(call(197));
            format!("{off}_{size}")
        }
    };
    format!("{path:?}_{desc}").to_lowercase()
}

/// Every map configuration × access path × in/out of bounds through a lookup result, then
/// direct value pointers into the array configurations.
pub fn map_flags(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "map_flags";
    let grid = CFGS.len() * PATHS.len() * 2;
    let mut out = Vec::new();
    for i in 0..n {
        let (cfg, path, oob, via_lookup) = if i < grid {
            (CFGS[i % CFGS.len()], PATHS[(i / CFGS.len()) % PATHS.len()], i >= grid / 2, true)
        } else {
            (rng.pick(&ARRAY_CFGS), rng.pick(&PATHS), rng.chance(1, 3), false)
        };
        let vs = rng.pick(&[8u32, 16, 48]);
        let mut b = B::new();
        b.i(movr(6, 1));
        if via_lookup {
            b.all(map_lookup(0, -8)).j(jmpi(Cond::Eq, 0, 0, 0), "out").i(movr(7, 0));
        } else {
            b.i(ins(0x18, 7, 2, 0, 0)).i(ins(0, 0, 0, 0, 0));
        }
        let what = emit(&mut b, rng, path, vs as i32, oob);
        b.label("out").all(ret0());
        let src = if via_lookup { "lookup" } else { "direct" };
        let bounds = if oob { "oob" } else { "in" };
        let name = format!("{i:04}_{cfg:?}_vs{vs}_{src}_{bounds}_{what}").to_lowercase();
        let maps = vec![cfg.map(vs), MapSpec::hash(8, 8, 4, "other")];
        out.push(Case::new(fam, name, ProgType::SocketFilter, b.build()).with_maps(maps));
    }
    out
}
