//! Generated programs checked against what Linux 6.18 answered for each: open-coded iterator
//! loops (`tests/data/iter_loops.txt`) and skb-dynptr sequences (`tests/data/dynptr_seqs.txt`):
//! verdict, errno, error line and the four state counters.

use kbpf_isa::asm::{KfuncResolver, assemble_module};
use kbpf_verifier::{IterRole, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, VerifyOptions, verify};

fn table() -> Vec<KfuncDecl> {
    let it = || {
        vec![KfuncArg {
            name: "it".into(),
            kind: KfuncArgKind::Iter { name: "num".into(), size: 8 },
            nullable: false,
        }]
    };
    vec![
        KfuncDecl {
            btf_id: 1,
            name: "bpf_iter_num_new".into(),
            args: [it(), vec![scalar("start"), scalar("end")]].concat(),
            ret: KfuncRet::Scalar,
            iter: Some(IterRole::New),
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 2,
            name: "bpf_iter_num_next".into(),
            args: it(),
            ret: KfuncRet::Mem(4),
            ret_null: true,
            iter: Some(IterRole::Next),
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 3,
            name: "bpf_iter_num_destroy".into(),
            args: it(),
            ret: KfuncRet::Void,
            iter: Some(IterRole::Destroy),
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 4,
            name: "bpf_dynptr_from_skb".into(),
            args: vec![
                arg("s", KfuncArgKind::Ctx),
                scalar("flags"),
                arg("ptr__uninit", KfuncArgKind::Dynptr),
            ],
            ret: KfuncRet::Scalar,
            prog_types: Some(vec![kbpf_isa::KernelProgType::SocketFilter]),
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 5,
            name: "bpf_dynptr_size".into(),
            args: vec![arg("p", KfuncArgKind::Dynptr)],
            ret: KfuncRet::Scalar,
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 6,
            name: "bpf_dynptr_slice".into(),
            args: vec![
                arg("p", KfuncArgKind::Dynptr),
                scalar("offset"),
                KfuncArg {
                    name: "buffer__opt".into(),
                    kind: KfuncArgKind::Mem { size: None },
                    nullable: true,
                },
                arg("buffer__szk", KfuncArgKind::MemSize { constant: true }),
            ],
            ret: KfuncRet::Mem(0),
            ret_null: true,
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 7,
            name: "bpf_dynptr_clone".into(),
            args: vec![arg("p", KfuncArgKind::Dynptr), arg("clone__uninit", KfuncArgKind::Dynptr)],
            ret: KfuncRet::Scalar,
            ..Default::default()
        },
    ]
}

fn arg(name: &str, kind: KfuncArgKind) -> KfuncArg {
    KfuncArg { name: name.into(), kind, nullable: false }
}

fn scalar(name: &str) -> KfuncArg {
    arg(name, KfuncArgKind::Scalar)
}

struct Names(Vec<KfuncDecl>);

impl KfuncResolver for Names {
    fn kfunc_id(&self, name: &str) -> Option<i32> {
        self.0.iter().find(|k| k.name == name).map(|k| k.btf_id)
    }
}

#[test]
fn iterator_loops_match_the_kernel() {
    check(include_str!("data/iter_loops.txt"), 150);
}

#[test]
fn dynptr_sequences_match_the_kernel() {
    check(include_str!("data/dynptr_seqs.txt"), 140);
}

fn check(data: &str, min: usize) {
    let kfuncs = table();
    let mut failures = Vec::new();
    let mut n = 0;
    for block in data.split("### ").skip(1) {
        let (head, src) = block.split_once('\n').expect("header line");
        let fields: Vec<&str> = head.split(" | ").collect();
        let m = assemble_module(src, &Names(kfuncs.clone())).expect("assembles");
        let opts = VerifyOptions { kfuncs: kfuncs.clone().into(), log_level: 1, ..Default::default() };
        let out = verify(&m.program.to_slots(), &opts);
        let got_verdict = match &out.error {
            None => "accept".to_string(),
            Some(e) => format!("reject {:?}", e.errno()),
        };
        let s = out.stats;
        let got_stats =
            format!("{} {} {} {}", s.processed_insns, s.max_states_per_insn, s.total_states, s.peak_states);
        let got_err = out.error.as_ref().map(|e| e.message().to_string());
        let want_err = fields.get(3).map(|e| e.to_string());
        if got_verdict != fields[1] || got_stats != fields[2] || got_err != want_err {
            failures.push(format!(
                "{}: got {got_verdict} | {got_stats} | {got_err:?}, kernel {} | {} | {want_err:?}",
                fields[0], fields[1], fields[2]
            ));
        }
        n += 1;
    }
    assert!(n >= min, "only {n} cases");
    assert!(failures.is_empty(), "{} of {n} differ:\n{}", failures.len(), failures.join("\n"));
}
