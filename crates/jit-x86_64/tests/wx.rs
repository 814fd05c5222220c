//! W^X: no page of this process is ever writable and executable at once, and the code pages of
//! a compiled program are read-execute.
#![allow(unsafe_code)]
mod common;
use common::*;
use kbpf_isa::*;
use kbpf_jit::{Backend, JitOptions};
use kbpf_jit_x86_64::X86_64;

fn maps() -> Vec<(usize, usize, String)> {
    std::fs::read_to_string("/proc/self/maps")
        .expect("procfs")
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            let range = it.next().unwrap();
            let perms = it.next().unwrap().to_string();
            let (a, b) = range.split_once('-').unwrap();
            (usize::from_str_radix(a, 16).unwrap(), usize::from_str_radix(b, 16).unwrap(), perms)
        })
        .collect()
}

fn assert_no_wx() {
    for (a, b, perms) in maps() {
        assert!(!(perms.contains('w') && perms.contains('x')), "{a:x}-{b:x} is {perms}");
    }
}

#[test]
fn code_pages_are_never_writable_and_executable() {
    assert_no_wx();
    let reg = kbpf_kfunc::profiles::conformance();
    let mut keep = Vec::new();
    for n in [1usize, 100, 2000] {
        let mut v: Vec<Insn> = (0..n).map(|i| alu64(AluOp::Add, Reg::R0, Src::Imm(i as i32))).collect();
        v.insert(0, mov(Reg::R0, 0));
        v.push(EXIT);
        let p = prog(v);
        // SAFETY: a trusted test program, run only on the inputs it was written for.
        let jp = unsafe { X86_64.compile_unverified(&p, &reg, &JitOptions::default()) }.unwrap();
        assert_no_wx();
        let addr = jp.code_addr();
        let end = addr + jp.code().len();
        let m = maps();
        let covering: Vec<_> = m.iter().filter(|(a, b, _)| *a < end && *b > addr).collect();
        assert!(!covering.is_empty());
        for (a, b, perms) in covering {
            assert!(perms.starts_with("r-x"), "code {addr:x} in {a:x}-{b:x} is {perms}");
        }
        assert_eq!(jp.run(&mut []), (0..n as u64).sum::<u64>());
        keep.push(jp);
    }
    drop(keep);
    assert_no_wx();
}
