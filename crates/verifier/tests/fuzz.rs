//! Random instruction streams never make `verify` panic or hang (proptest).

use kbpf_isa::RawInsn;
use kbpf_verifier::{MapDef, MapKind, ProgType, VerifyOptions, verify};
use proptest::prelude::*;

/// Opcodes the kernel accepts, plus a few it does not.
const CODES: &[u8] = &[
    0x04, 0x05, 0x07, 0x0c, 0x0f, 0x14, 0x15, 0x17, 0x18, 0x1c, 0x1d, 0x1f, 0x24, 0x25, 0x27, 0x2d, 0x2f,
    0x30, 0x34, 0x35, 0x37, 0x3d, 0x3f, 0x44, 0x45, 0x47, 0x4f, 0x54, 0x55, 0x57, 0x5f, 0x61, 0x62, 0x63,
    0x64, 0x65, 0x67, 0x69, 0x6a, 0x6b, 0x6d, 0x6f, 0x71, 0x72, 0x73, 0x74, 0x75, 0x77, 0x79, 0x7a, 0x7b,
    0x7f, 0x81, 0x84, 0x85, 0x87, 0x89, 0x91, 0x94, 0x95, 0x97, 0x9f, 0xa4, 0xa5, 0xa7, 0xad, 0xaf, 0xb4,
    0xb5, 0xb7, 0xbc, 0xbd, 0xbf, 0xc3, 0xc4, 0xc5, 0xc7, 0xcc, 0xcd, 0xcf, 0xd4, 0xd5, 0xd7, 0xdb, 0xdc,
    0xdd, 0xe5, 0x06, 0x16, 0x26, 0xff, 0x00, 0x8d,
];

fn insn() -> impl Strategy<Value = RawInsn> {
    (
        prop::sample::select(CODES),
        prop_oneof![8 => 0u8..11, 1 => 0u8..16],
        prop_oneof![8 => 0u8..11, 1 => 0u8..16],
        prop_oneof![6 => -1i16..5, 2 => prop::sample::select(vec![-8i16, -16, -4, -512, 8, 48, 76]), 1 => any::<i16>()],
        prop_oneof![
            6 => prop::sample::select(vec![0i32, 1, 2, 7, 8, 16, 32, 63, 64, -1, -8, 0x7fff_ffff, i32::MIN]),
            2 => any::<i32>()
        ],
    )
        .prop_map(|(code, dst, src, off, imm)| {
            // backward jumps are rare so that loops stay cheap in debug builds
            let off = if code & 7 == 5 || code & 7 == 6 { off.clamp(-2, 6) } else { off };
            RawInsn::new(code, dst, if code == 0x18 { src % 3 } else { src }, off, imm)
        })
}

/// One slot of a tc-shaped program.
fn tc_insn() -> impl Strategy<Value = RawInsn> {
    const HELPERS: [i32; 16] = [84, 85, 86, 95, 96, 98, 99, 39, 9, 26, 12, 28, 163, 34, 100, 124];
    prop_oneof![
        insn(),
        (0usize..HELPERS.len()).prop_map(|i| RawInsn::new(0x85, 0, 0, 0, HELPERS[i])),
        (
            0u8..10,
            prop_oneof![Just(76i16), Just(80), Just(140), Just(168), Just(4)],
            prop_oneof![Just(1u8), Just(6)]
        )
            .prop_map(|(d, off, s)| RawInsn::new(if off == 168 { 0x79 } else { 0x61 }, d, s, off, 0)),
        (0u8..10, 0u8..10).prop_map(|(d, s)| RawInsn::new(0xbf, d, s, 0, 0)),
        (0u8..10, -8i16..90).prop_map(|(s, off)| RawInsn::new(0x61, 0, s, off, 0)),
        (0u8..10, 0i16..4).prop_map(|(d, off)| RawInsn::new(0x15, d, 0, off, 0)),
    ]
}

fn opts(pt: u8, level: u32) -> VerifyOptions {
    VerifyOptions {
        prog_type: match pt {
            0 => ProgType::SocketFilter,
            1 => ProgType::Xdp,
            2 => ProgType::Syscall,
            3 => ProgType::SchedCls,
            _ => ProgType::Mem { ctx_size: 64 },
        },
        log_level: level,
        maps: vec![
            MapDef {
                fd: 1,
                name: "h".into(),
                kind: MapKind::Hash,
                key_size: 4,
                value_size: 8,
                max_entries: 16,
                ..Default::default()
            },
            MapDef {
                fd: 2,
                name: "a".into(),
                kind: MapKind::Array,
                key_size: 4,
                value_size: 48,
                max_entries: 1,
                ..Default::default()
            },
        ],
        log_size: Some(1 << 20),
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_never_panic(prog in prop::collection::vec(insn(), 1..24), pt in 0u8..5, level in 0u32..8) {
        let mut prog = prog;
        if let Some(last) = prog.last_mut() {
            // most random programs should get past the structural checks
            if last.code != 0x95 { prog.push(RawInsn::new(0x95, 0, 0, 0, 0)); }
        }
        let out = verify(&prog, &opts(pt, level));
        prop_assert_eq!(out.accepted, out.error.is_none());
        prop_assert!(out.stats.processed_insns <= 1_000_001);
        if let Some(e) = &out.error {
            prop_assert!(!e.errno().name().is_empty());
        }
    }

    /// tc-shaped programs: socket helpers, packet-changing helpers, ctx pointer loads and field
    /// reads mixed with random instructions.
    #[test]
    fn tc_programs_never_panic(prog in prop::collection::vec(tc_insn(), 1..32), level in 0u32..4) {
        let mut prog = prog;
        prog.push(RawInsn::new(0x95, 0, 0, 0, 0));
        let out = verify(&prog, &opts(3, level));
        prop_assert_eq!(out.accepted, out.error.is_none());
    }

    #[test]
    fn raw_slots_never_panic(words in prop::collection::vec(any::<u64>(), 0..16)) {
        let prog: Vec<RawInsn> = words.into_iter().map(RawInsn::from_u64).collect();
        let out = verify(&prog, &opts(0, 1));
        prop_assert_eq!(out.accepted, out.error.is_none());
    }
}
