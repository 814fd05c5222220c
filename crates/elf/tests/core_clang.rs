//! CO-RE on real clang objects: the sources of `tests/core_src/` are compiled with clang-19
//! at test time and relocated against the running kernel's BTF, where libbpf (through
//! `bpftool -d`, a dev-only oracle) must have said the same thing relocation by relocation,
//! and against a hand-built target BTF with values worked out by hand. A poisoned
//! instruction is loaded into the kernel for its verdict.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{libbpf_lines, open, ours, per_relo, relocate};
use kbpf_elf::btf::*;
use kbpf_elf::core::{self, CoreResult, POISON_KERNEL_MSG};

/// `bpftool -d prog loadall`'s libbpf lines for `obj` (the load itself may fail: the programs
/// read kernel memory directly; relocation happens before).
fn bpftool_lines(obj: &Path) -> Vec<String> {
    let pin = format!("/sys/fs/bpf/kbpf_core_{}", std::process::id());
    let out = Command::new("bpftool").args(["-d", "prog", "loadall"]).arg(obj).arg(&pin).output().unwrap();
    let _ = std::fs::remove_dir_all(&pin);
    libbpf_lines(&String::from_utf8_lossy(&out.stderr))
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("core_src")
}

/// Compiles `core_src/NAME.c` into the target dir the way the issue asks for.
fn compile(name: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("core_{name}.o"));
    let dir = src_dir();
    let st = Command::new("clang-19")
        .current_dir(&dir)
        .args(["-O2", "-g", "-target", "bpf", &format!("-fdebug-prefix-map={}=.", dir.display()), "-c"])
        .arg(format!("{name}.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-19 runs");
    assert!(st.success(), "clang-19 failed on {name}.c");
    out
}

#[test]
#[ignore = "needs clang-19, bpftool, /sys/kernel/btf/vmlinux and bpf() (root); cargo xtask test runs it there"]
fn agrees_with_libbpf_on_the_running_kernel() {
    let target = TargetBtf::running_kernel().unwrap();
    for name in ["fields", "types", "poison", "more"] {
        let path = compile(name);
        let mut obj = open(&path).unwrap();
        let res = relocate(&mut obj, &target).unwrap();
        let (a, b) = (ours(&res), bpftool_lines(&path));
        assert!(!b.is_empty(), "{name}: no libbpf lines (is bpftool working?)");
        let (a, b) = (per_relo(a), per_relo(b));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{name}: kbpf vs libbpf");
        }
        assert_eq!(a.len(), b.len(), "{name}: relocation count");
        let lines: usize = a.iter().map(Vec::len).sum();
        eprintln!("{name}.o: {} relocation groups, {lines} libbpf lines identical", a.len());
    }
}

/// A target where `task_struct` is laid out differently, built by hand.
fn hand_target() -> TargetBtf {
    let mut b = BtfBuilder::new();
    let int = |b: &mut BtfBuilder, n: &str, size: u32, signed: bool| {
        let encoding = if signed { IntEncoding::Signed } else { IntEncoding::None };
        b.add(BtfType::Int { name: n.into(), size, encoding, offset: 0, bits: size * 8 })
    };
    let m = |n: &str, t: u32, off: u32, bits: u32| Member {
        name: n.into(),
        type_id: t,
        offset: off,
        bitfield_size: bits,
    };
    let i = int(&mut b, "int", 4, true); // 1
    let u = int(&mut b, "unsigned int", 4, false); // 2
    let c = int(&mut b, "char", 1, true); // 3
    let ul = int(&mut b, "long unsigned int", 8, false); // 4
    let comm = b.add(BtfType::Array { elem: c, index: i, nelems: 16 }); // 5
    let mm = b.add(BtfType::Struct {
        name: "mm_struct".into(),
        size: 16,
        members: vec![m("pad", ul, 0, 0), m("task_size", ul, 64, 0)],
        kind_flag: false,
    }); // 6
    let mmp = b.add(BtfType::Ptr { type_id: mm }); // 7
    let pid_t = b.add(BtfType::Typedef { name: "pid_t".into(), type_id: i }); // 8
    // flags u32 at 0, two bitfields at bits 32 and 33, pid at 8, tgid at 12, comm at 16, mm at 32
    b.add(BtfType::Struct {
        name: "task_struct".into(),
        size: 40,
        members: vec![
            m("flags", u, 0, 0),
            m("sched_reset_on_fork", u, 32, 1),
            m("sched_contributes_to_load", u, 33, 1),
            m("pid", pid_t, 64, 0),
            m("tgid", pid_t, 96, 0),
            m("comm", comm, 128, 0),
            m("mm", mmp, 256, 0),
        ],
        kind_flag: true,
    }); // 9
    TargetBtf::new(Btf::parse(&b.build()).unwrap())
}

/// Every relocation of that field and kind got `want` (and there is at least one).
fn all_are(got: Vec<(u64, bool)>, want: (u64, bool)) {
    assert!(!got.is_empty() && got.iter().all(|&g| g == want), "{got:?} != {want:?}");
}

#[test]
#[ignore = "needs clang-19, bpftool, /sys/kernel/btf/vmlinux and bpf() (root); cargo xtask test runs it there"]
fn fields_against_a_hand_built_target() {
    let mut obj = open(&compile("fields")).unwrap();
    let res = relocate(&mut obj, &hand_target()).unwrap();
    let of = |prog: &str| -> Vec<CoreResult> {
        res.iter().filter(|(n, _)| n == prog).map(|(_, r)| r.clone()).collect()
    };
    let (again, fields) = (&of("again"), &of("fields"));
    let by_spec = |rs: &[CoreResult], kind: CoreReloKind, field: &str| -> Vec<(u64, bool)> {
        rs.iter()
            .filter(|r| r.kind == kind && r.local_spec.contains(field))
            .map(|r| (r.new_val, r.poisoned))
            .collect()
    };
    use CoreReloKind::*;
    all_are(by_spec(fields, FieldByteOffset, ".pid "), (8, false));
    all_are(by_spec(fields, FieldByteOffset, ".tgid "), (12, false));
    all_are(by_spec(fields, FieldByteOffset, ".comm[3] "), (19, false));
    all_are(by_spec(fields, FieldByteOffset, "struct mm_struct.task_size "), (8, false));
    // flags: u64 locally, u32 here: the 8-byte load becomes a 4-byte one at offset 0
    let flags = fields.iter().find(|r| r.local_spec.contains(".flags ")).unwrap();
    assert_eq!((flags.new_val, flags.poisoned), (0, false));
    assert!(flags.log.iter().any(|l| l.ends_with("mem_sz 8 -> 4")), "{:?}", flags.log);
    let p = &obj.progs.iter().find(|p| p.name == "fields").unwrap().insns[flags.insn];
    assert_eq!((p.size(), p.off), (kbpf_isa::Size::W, 0));
    // the bitfield at bit 33 is loaded from the 4-byte unit at byte 4
    all_are(by_spec(fields, FieldByteOffset, "sched_contributes_to_load"), (4, false));
    all_are(by_spec(fields, FieldLshiftU64, "sched_contributes_to_load"), (64 - 2, false));
    all_are(by_spec(fields, FieldRshiftU64, "sched_contributes_to_load"), (63, false));
    all_are(by_spec(again, FieldLshiftU64, "sched_reset_on_fork"), (63, false));
    // pid_t is a signed int behind a typedef
    all_are(by_spec(fields, FieldSigned, ".pid "), (1, false));
    all_are(by_spec(fields, FieldByteSize, ".comm "), (16, false));
    // absent here: the existence checks say 0 and the guarded loads are poisoned
    all_are(by_spec(fields, FieldExists, "kbpf_no_such_field"), (0, false));
    all_are(by_spec(fields, FieldByteOffset, "kbpf_no_such_field"), (0, true));
    all_are(by_spec(fields, FieldByteOffset, "kbpf_gone_field"), (0, true));
    // `task_struct___old` is a flavor of task_struct
    assert!(fields.iter().any(|r| r.local_spec.contains("struct task_struct___old.pid") && r.new_val == 8));
    // bpf_reg_state does not exist here at all
    let depth = by_spec(fields, FieldByteOffset, "iter.depth");
    assert!(!depth.is_empty() && depth.iter().all(|&(_, p)| p));
}

#[test]
#[ignore = "needs clang-19, bpftool, /sys/kernel/btf/vmlinux and bpf() (root); cargo xtask test runs it there"]
fn a_reachable_poisoned_load_is_refused_by_the_kernel() {
    let mut obj = open(&compile("poison")).unwrap();
    let res = relocate(&mut obj, &TargetBtf::running_kernel().unwrap()).unwrap();
    assert!(res.iter().any(|(_, r)| r.poisoned));
    let insns = &obj.progs[0].insns;
    let mut req = kbpf_oracle::LoadRequest::new(kbpf_oracle::ProgType::Kprobe);
    req.name = "core_poison".into();
    let v = kbpf_oracle::load(insns, &req);
    assert!(!v.accepted);
    let at = res.iter().find(|(_, r)| r.poisoned).unwrap().1.insn;
    assert_eq!(v.error_line.as_deref(), Some(POISON_KERNEL_MSG), "{}", v.log);
    assert!(v.log.contains(&format!("{at}: (85) call unknown#195896080\n{POISON_KERNEL_MSG}")), "{}", v.log);
    assert_eq!(insns[at].imm, core::POISON_HELPER);
}
