//! `kbpf btf dump FILE --format c` against `bpftool btf dump file FILE format c` on the running
//! kernel's BTF, and the header it makes compiled with a CO-RE program by clang-19.

use std::path::Path;
use std::process::Command;

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// libbpf before 1.2 (bpftool 7.1's) does not mark one-byte enums; later ones do, as kbpf.
fn only_enum_mode(ours: &str, theirs: &str) -> bool {
    ours == "} __attribute__((mode(byte)));" && theirs == "};"
}

#[test]
#[ignore = "needs bpftool, clang-19 and /sys/kernel/btf/vmlinux"]
fn vmlinux_h_matches_bpftool_and_compiles() {
    let ours =
        stdout(Command::new(env!("CARGO_BIN_EXE_kbpf")).args(["btf", "dump", VMLINUX, "--format", "c"]));
    let theirs = stdout(Command::new("bpftool").args(["btf", "dump", "file", VMLINUX, "format", "c"]));
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    assert_eq!(a.len(), b.len(), "line counts differ");
    let differing: Vec<(usize, &str, &str)> = a
        .iter()
        .zip(&b)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| (i + 1, *x, *y))
        .collect();
    let real: Vec<_> = differing.iter().filter(|(_, x, y)| !only_enum_mode(x, y)).collect();
    assert!(
        real.is_empty(),
        "{} lines differ from bpftool, e.g. {:?}",
        real.len(),
        &real[..real.len().min(5)]
    );
    eprintln!("{} of {} lines differ from bpftool (one-byte enum modes only)", differing.len(), a.len());

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("btf_dump");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("vmlinux.h"), &ours).unwrap();
    let prog = dir.join("prog.c");
    std::fs::write(
        &prog,
        r#"#include "vmlinux.h"
#define SEC(n) __attribute__((section(n), used))
static long (*probe_read)(void *dst, __u32 size, const void *src) = (void *)113;
SEC("tp_btf/sched_switch")
int handle(unsigned long long *ctx)
{
	struct task_struct *t = (struct task_struct *)ctx[1];
	int pid = 0;
	probe_read(&pid, sizeof(pid), &t->pid);
	return pid + __builtin_preserve_field_info(t->pid, 0);
}
char _license[] SEC("license") = "GPL";
"#,
    )
    .unwrap();
    let obj = dir.join("prog.o");
    let out = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-c"])
        .arg(&prog)
        .arg("-o")
        .arg(&obj)
        .output()
        .expect("clang-19 runs");
    assert!(out.status.success(), "clang-19: {}", String::from_utf8_lossy(&out.stderr));
    // the object opens, its CO-RE relocation of task_struct::pid resolved against the kernel
    let text = stdout(Command::new(env!("CARGO_BIN_EXE_kbpf")).args(["disasm", "--no-source"]).arg(&obj));
    assert!(text.lines().count() > 3, "{text}");
}
