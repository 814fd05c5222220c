//! Random instruction streams never make `verify` panic or hang (proptest).

use kbpf_isa::RawInsn;
use kbpf_verifier::{
    Errno, IterRole, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, MapDef, MapKind, ProgType, RejectKind,
    VerifyOptions, VerifyOutcome, verify,
};
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

/// Kfuncs of every modelled argument kind, one not modelled, and one taking stack arguments.
fn kfuncs() -> Vec<KfuncDecl> {
    let arg = |name: &str, kind: KfuncArgKind| KfuncArg { name: name.into(), kind, nullable: false };
    let it = || arg("it", KfuncArgKind::Iter { name: "num".into(), size: 8 });
    let k = |btf_id: i32, name: &str, args: Vec<KfuncArg>| KfuncDecl {
        btf_id,
        name: name.into(),
        args,
        ret: KfuncRet::Scalar,
        ..Default::default()
    };
    let mut seven: Vec<KfuncArg> = (0..5).map(|i| arg(&format!("a{i}"), KfuncArgKind::Scalar)).collect();
    seven.push(arg("mem", KfuncArgKind::Mem { size: None }));
    seven.push(arg("mem__sz", KfuncArgKind::MemSize { constant: false }));
    vec![
        KfuncDecl {
            iter: Some(IterRole::New),
            ..k(
                1,
                "bpf_iter_num_new",
                vec![it(), arg("a", KfuncArgKind::Scalar), arg("b", KfuncArgKind::Scalar)],
            )
        },
        KfuncDecl {
            iter: Some(IterRole::Next),
            ret: KfuncRet::Mem(4),
            ret_null: true,
            ..k(2, "bpf_iter_num_next", vec![it()])
        },
        KfuncDecl {
            iter: Some(IterRole::Destroy),
            ret: KfuncRet::Void,
            ..k(3, "bpf_iter_num_destroy", vec![it()])
        },
        k(
            4,
            "bpf_dynptr_from_skb",
            vec![
                arg("s", KfuncArgKind::Ctx),
                arg("f", KfuncArgKind::Scalar),
                arg("p__uninit", KfuncArgKind::Dynptr),
            ],
        ),
        k(5, "bpf_dynptr_size", vec![arg("p", KfuncArgKind::Dynptr)]),
        k(6, "kmem7", seven),
        k(7, "kstr", vec![arg("s", KfuncArgKind::ConstStr)]),
        k(8, "ktimer", vec![arg("t", KfuncArgKind::Timer)]),
        k(9, "kconst", vec![arg("c", KfuncArgKind::Const), arg("m", KfuncArgKind::Mem { size: Some(8) })]),
        k(10, "kunmodelled", vec![arg("x", KfuncArgKind::Unmodelled("a list head".into()))]),
        KfuncDecl { ret: KfuncRet::Object("task_struct".into()), ..k(11, "kobject", vec![]) },
    ]
}

/// One slot of a program built around kfunc calls, stack objects and stack arguments.
fn kfunc_insn() -> impl Strategy<Value = RawInsn> {
    prop_oneof![
        2 => insn(),
        2 => (1i32..12).prop_map(|id| RawInsn::new(0x85, 0, 2, 0, id)),
        // r1..r5 = fp - 8k
        2 => (1u8..6, 1i32..6).prop_map(|(d, k)| RawInsn::new(0x07, d, 0, 0, -8 * k)),
        2 => (1u8..6).prop_map(|d| RawInsn::new(0xbf, d, 10, 0, 0)),
        // outgoing stack arguments: *(u64 *)(r11 - 8k) = rX / imm
        1 => (1i16..9, 0u8..10).prop_map(|(k, s)| RawInsn::new(0x7b, 11, s, -8 * k, 0)),
        1 => (1i16..9, -4i32..64).prop_map(|(k, imm)| RawInsn::new(0x7a, 11, 0, -8 * k, imm)),
        // r0 = 0 / r3 = small constants for sizes
        1 => (0u8..6, -2i32..40).prop_map(|(d, imm)| RawInsn::new(0xb7, d, 0, 0, imm)),
        1 => (0u8..6, -16i16..0).prop_map(|(d, off)| RawInsn::new(0x7a, 10, 0, off, d as i32)),
    ]
}

/// A refusal is never kbpf's own failure, and each kind keeps its errno.
fn check_kind(out: &VerifyOutcome) -> Result<(), TestCaseError> {
    prop_assert_eq!(out.accepted, out.error.is_none());
    if let Some(e) = &out.error {
        prop_assert!(e.kind() != RejectKind::Bug, "verifier bug: {:?}\n{}", e, out.log);
        if e.kind() == RejectKind::Unsupported {
            prop_assert_eq!(e.errno(), Errno::ENOTSUPP);
        }
        prop_assert_eq!(e.message(), e.reject().last_line());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_never_panic(
        prog in prop::collection::vec(insn(), 1..24),
        pt in 0u8..5,
        level in 0u32..8,
        stack_args in any::<bool>(),
        privileged in any::<bool>(),
    ) {
        let mut prog = prog;
        if let Some(last) = prog.last_mut() {
            // most random programs should get past the structural checks
            if last.code != 0x95 { prog.push(RawInsn::new(0x95, 0, 0, 0, 0)); }
        }
        let out = verify(&prog, &VerifyOptions { stack_args, privileged, ..opts(pt, level) });
        check_kind(&out)?;
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
        check_kind(&out)?;
    }

    /// kfunc calls (iterators, dynptrs, memory pairs through stack arguments, strings,
    /// timers, unmodelled kinds) on stack pointers and random registers.
    #[test]
    fn kfunc_programs_never_panic(
        prog in prop::collection::vec(kfunc_insn(), 1..32),
        pt in 0u8..5,
        level in 0u32..4,
        stack_args in any::<bool>(),
    ) {
        let mut prog = prog;
        prog.push(RawInsn::new(0xb7, 0, 0, 0, 0));
        prog.push(RawInsn::new(0x95, 0, 0, 0, 0));
        let out = verify(&prog, &VerifyOptions { kfuncs: kfuncs().into(), stack_args, ..opts(pt, level) });
        check_kind(&out)?;
    }

    #[test]
    fn raw_slots_never_panic(words in prop::collection::vec(any::<u64>(), 0..16)) {
        let prog: Vec<RawInsn> = words.into_iter().map(RawInsn::from_u64).collect();
        let out = verify(&prog, &opts(0, 1));
        prop_assert_eq!(out.accepted, out.error.is_none());
    }
}
