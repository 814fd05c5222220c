//! The kernel as the judge of BTF blobs: every blob `BPF_BTF_LOAD` accepts, kbpf parses; over
//! single-byte mutations of a blob with every kind, the verdicts are counted. kbpf parses the
//! way libbpf opens an object (plus structural checks); it does not refuse what only the
//! kernel refuses (identifier names, member offsets against resolved sizes), because libbpf
//! goes on without kernel BTF when the kernel refuses it. So kbpf may accept blobs the kernel
//! refuses, never the reverse. `KBPF_BTF_DIFF=1` prints the kernel's reason for each of those.

use kbpf_elf::btf::*;

fn m(name: &str, type_id: u32, offset: u32, bitfield_size: u32) -> Member {
    Member { name: name.into(), type_id, offset, bitfield_size }
}

/// A kernel-valid blob with one type of every kind.
fn blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add(BtfType::Int {
        name: "int".into(),
        size: 4,
        encoding: IntEncoding::Signed,
        offset: 0,
        bits: 32,
    });
    let ptr = b.add(BtfType::Ptr { type_id: int });
    let arr = b.add(BtfType::Array { elem: int, index: int, nelems: 4 });
    let s = b.add(BtfType::Struct {
        name: "s".into(),
        size: 24,
        members: vec![m("a", int, 0, 0), m("bf", int, 35, 3), m("arr", arr, 64, 0)],
        kind_flag: true,
    });
    b.add(BtfType::Union {
        name: "u".into(),
        size: 8,
        members: vec![m("p", ptr, 0, 0), m("i", int, 0, 0)],
        kind_flag: false,
    });
    let ev = |n: &str, v| EnumValue { name: n.into(), value: v };
    b.add(BtfType::Enum {
        name: "e".into(),
        size: 4,
        signed: true,
        values: vec![ev("E_A", -1), ev("E_B", 7)],
    });
    b.add(BtfType::Enum64 {
        name: "e64".into(),
        size: 8,
        signed: false,
        values: vec![ev("BIG", 0x1_0000_0002)],
    });
    b.add(BtfType::Fwd { name: "fu".into(), union: true });
    let td = b.add(BtfType::Typedef { name: "int_t".into(), type_id: int });
    let vol = b.add(BtfType::Volatile { type_id: td });
    b.add(BtfType::Const { type_id: vol });
    b.add(BtfType::Restrict { type_id: ptr });
    let proto = b.add(BtfType::FuncProto {
        ret: int,
        params: vec![m("x", int, 0, 0), m("p", ptr, 0, 0)],
        variadic: false,
    });
    b.add(BtfType::Func { name: "f".into(), proto, linkage: Linkage::Global });
    let v = b.add(BtfType::Var { name: "v".into(), type_id: int, linkage: VarLinkage::Global });
    b.add(BtfType::DataSec { name: ".data".into(), size: 4, vars: vec![(v, 0, 4)] });
    b.add(BtfType::Float { name: "double".into(), size: 8 });
    b.add(BtfType::DeclTag { name: "tag".into(), type_id: s, component: 1, attr: false });
    let tt = b.add(BtfType::TypeTag { name: "user".into(), type_id: int, attr: false });
    b.add(BtfType::Ptr { type_id: tt });
    b.build()
}

#[test]
#[ignore = "needs the kernel oracle (root, bpf()); cargo xtask test runs it there"]
fn what_the_kernel_accepts_kbpf_parses() {
    let good = blob();
    if let Err((e, log)) = kbpf_oracle::btf::load_btf(&good) {
        panic!("the kernel refuses the base blob: {e:?}\n{log}");
    }
    Btf::parse(&good).unwrap();
    let (mut both_ok, mut both_bad, mut only_kbpf_ok) = (0, 0, 0);
    for at in 0..good.len() {
        for val in [0u8, 1, 0x7f, 0x80, 0xff, good[at] ^ 0x10] {
            if val == good[at] {
                continue;
            }
            let mut v = good.clone();
            v[at] = val;
            let kernel = kbpf_oracle::btf::load_btf(&v);
            let ours = Btf::parse(&v);
            match (&kernel, &ours) {
                (Ok(_), Ok(_)) => both_ok += 1,
                (Err(_), Err(_)) => both_bad += 1,
                (Err((_, log)), Ok(_)) => {
                    only_kbpf_ok += 1;
                    if std::env::var_os("KBPF_BTF_DIFF").is_some() {
                        eprintln!("DIFF {}", log.lines().last().unwrap_or(""));
                    }
                }
                (Ok(_), Err(e)) => panic!("byte {at} = {val:#x}: the kernel accepts, kbpf says {e}"),
            }
        }
    }
    let total = both_ok + both_bad + only_kbpf_ok;
    eprintln!(
        "{total} mutations: {both_ok} accepted by both, {both_bad} refused by both, {only_kbpf_ok} refused \
         only by the kernel ({:.1}% agreement)",
        100.0 * (both_ok + both_bad) as f64 / total as f64
    );
}
