//! Dynptr and iterator stack objects, const-string and timer kfunc arguments. Expected
//! messages, post-states (level 2, PREVAIL style: the state printed after an instruction) and
//! statistics are what Linux 6.18 printed for the same programs (kfunc ids replaced by the
//! running kernel's BTF ids); the stack-argument cases follow the stack-args series' naming.

#[path = "../common/mod.rs"]
mod common;
use common::*;
use kbpf_isa::asm::assemble_module;
use kbpf_verifier::{
    Errno, IterRole, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, MapDef, MapKind, ProgType, VerifyOptions,
    VerifyOutcome, verify,
};

fn a(name: &str, kind: KfuncArgKind) -> KfuncArg {
    KfuncArg { name: name.into(), kind, nullable: false }
}

fn scalars(n: usize) -> Vec<KfuncArg> {
    (0..n).map(|i| a(&format!("a{i}"), KfuncArgKind::Scalar)).collect()
}

fn num() -> KfuncArg {
    a("it", KfuncArgKind::Iter { name: "num".into(), size: 8 })
}

fn seq(name: &str) -> KfuncArg {
    a(name, KfuncArgKind::Iter { name: "testmod_seq".into(), size: 16 })
}

fn slice_args() -> Vec<KfuncArg> {
    vec![
        a("p", KfuncArgKind::Dynptr),
        a("offset", KfuncArgKind::Scalar),
        KfuncArg { name: "buffer__opt".into(), kind: KfuncArgKind::Mem { size: None }, nullable: true },
        a("buffer__szk", KfuncArgKind::MemSize { constant: true }),
    ]
}

fn table() -> Vec<KfuncDecl> {
    let k = |id, name: &str, args, ret| KfuncDecl {
        btf_id: id,
        name: name.into(),
        args,
        ret,
        ..Default::default()
    };
    let with9 = |last: KfuncArg| {
        let mut v = scalars(9);
        v.push(last);
        v
    };
    vec![
        k(1, "bpf_dynptr_size", vec![a("p", KfuncArgKind::Dynptr)], KfuncRet::Scalar),
        KfuncDecl {
            prog_types: Some(vec![kbpf_isa::KernelProgType::Xdp]),
            ..k(
                12,
                "bpf_dynptr_from_xdp",
                vec![
                    a("x", KfuncArgKind::Ctx),
                    a("flags", KfuncArgKind::Scalar),
                    a("ptr__uninit", KfuncArgKind::Dynptr),
                ],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl { ret_null: true, ..k(13, "bpf_dynptr_slice", slice_args(), KfuncRet::Mem(0)) },
        KfuncDecl { ret_null: true, ..k(14, "bpf_dynptr_slice_rdwr", slice_args(), KfuncRet::Mem(0)) },
        KfuncDecl {
            prog_types: Some(vec![
                kbpf_isa::KernelProgType::SocketFilter,
                kbpf_isa::KernelProgType::SchedCls,
            ]),
            ..k(
                2,
                "bpf_dynptr_from_skb",
                vec![
                    a("s", KfuncArgKind::Ctx),
                    a("flags", KfuncArgKind::Scalar),
                    a("ptr__uninit", KfuncArgKind::Dynptr),
                ],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl {
            iter: Some(IterRole::New),
            ..k(
                3,
                "bpf_iter_num_new",
                vec![num(), a("s", KfuncArgKind::Scalar), a("e", KfuncArgKind::Scalar)],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl {
            iter: Some(IterRole::Next),
            ret_null: true,
            ..k(4, "bpf_iter_num_next", vec![num()], KfuncRet::Mem(4))
        },
        KfuncDecl {
            iter: Some(IterRole::Destroy),
            ..k(5, "bpf_iter_num_destroy", vec![num()], KfuncRet::Void)
        },
        k(6, "stack_dynptr", with9(a("ptr", KfuncArgKind::Dynptr)), KfuncRet::Scalar),
        KfuncDecl {
            iter: Some(IterRole::New),
            ..k(
                7,
                "seq_new",
                vec![seq("it"), a("v", KfuncArgKind::Scalar), a("c", KfuncArgKind::Scalar)],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl { iter: Some(IterRole::Destroy), ..k(8, "seq_destroy", vec![seq("it")], KfuncRet::Void) },
        k(9, "stack_iter", with9(seq("it__iter")), KfuncRet::Scalar),
        k(10, "stack_str", with9(a("str__str", KfuncArgKind::ConstStr)), KfuncRet::Scalar),
        k(11, "stack_timer", with9(a("timer", KfuncArgKind::Timer)), KfuncRet::Scalar),
    ]
}

fn run_with(src: &str, f: impl FnOnce(&mut VerifyOptions)) -> VerifyOutcome {
    let mut opts = VerifyOptions { log_level: 2, ..Default::default() };
    f(&mut opts);
    verify_src(src, table(), opts)
}

fn run(src: &str) -> VerifyOutcome {
    run_with(src, |_| {})
}

/// The state printed after instruction `idx` (text after `;`).
fn post(out: &VerifyOutcome, idx: usize) -> String {
    let prefix = format!("{idx}: (");
    out.log
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains(';'))
        .and_then(|l| l.split_once(';'))
        .map(|(_, s)| s.trim().to_string())
        .unwrap_or_default()
}

fn stats(out: &VerifyOutcome) -> (u64, u64, u64, u64) {
    (out.stats.processed_insns, out.stats.max_states_per_insn, out.stats.total_states, out.stats.peak_states)
}

const SKB_DYNPTR_16: &str = "
    r2 = 0
    r3 = r10
    r3 += -16
    call bpf_dynptr_from_skb
";

const NUM_LOOP: &str = "
    r6 = 0
    r1 = r10
    r1 += -8
    r2 = 0
    r3 = 5
    call bpf_iter_num_new
loop:
    r1 = r10
    r1 += -8
    call bpf_iter_num_next
    if r0 == 0 goto done
    r1 = *(u32 *)(r0 +0)
    r6 += r1
    goto loop
done:
    r1 = r10
    r1 += -8
    call bpf_iter_num_destroy
    r0 = r6
    exit
";

const STACK9: &str = "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\n*(u64 *)(r11 -8) = 6\n*(u64 *)(r11 -16) = 7\n\
                      *(u64 *)(r11 -24) = 8\n*(u64 *)(r11 -32) = 9\n*(u64 *)(r11 -40) = r6\n";

mod args;
mod dynptr;
mod iter;
