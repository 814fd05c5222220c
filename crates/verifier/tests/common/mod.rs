//! What the verifier's integration tests share: assembling a case with kfunc names, verifying
//! it with the module's `.func` prototypes, and the verdict assertions.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use kbpf_isa::asm::{KfuncResolver, assemble_module};
use kbpf_verifier::{Errno, KfuncDecl, VerifyOptions, VerifyOutcome, verify};

/// Resolves `call NAME` against a kfunc prototype table.
pub struct Names(pub Vec<KfuncDecl>);

impl KfuncResolver for Names {
    fn kfunc_id(&self, name: &str) -> Option<i32> {
        self.0.iter().find(|k| k.name == name).map(|k| k.btf_id)
    }
}

/// Assembles `src` (kfunc names from `kfuncs`) and verifies it with `opts`, the module's
/// `.func` declarations and `kfuncs`.
pub fn verify_src(src: &str, kfuncs: Vec<KfuncDecl>, mut opts: VerifyOptions) -> VerifyOutcome {
    let m = assemble_module(src, &Names(kfuncs.clone())).expect("assembles");
    opts.funcs = m.funcs;
    opts.kfuncs = kfuncs.into();
    verify(&m.program.to_slots(), &opts)
}

/// The program was refused with `errno` and `msg` as its last line.
#[track_caller]
pub fn rejects(out: &VerifyOutcome, errno: Errno, msg: &str) {
    let e = out.error.as_ref().unwrap_or_else(|| panic!("accepted, wanted {msg:?}\n{}", out.log));
    assert_eq!((e.message(), e.errno()), (msg, errno), "log:\n{}", out.log);
}

/// The program was accepted.
#[track_caller]
pub fn accepts(out: &VerifyOutcome) {
    assert!(out.accepted, "{:?}\n{}", out.error, out.log);
}

/// BTF fixture builders shared by the kptr, allocation and kfunc tests.
pub mod btf {
    use kbpf_elf::btf::{BtfBuilder, BtfType, IntEncoding, Member};

    /// `int`: signed, four bytes.
    pub fn int(b: &mut BtfBuilder) -> u32 {
        b.add(BtfType::Int {
            name: "int".into(),
            size: 4,
            encoding: IntEncoding::Signed,
            offset: 0,
            bits: 32,
        })
    }

    /// `struct name { members }` of `size` bytes.
    pub fn st(b: &mut BtfBuilder, name: &str, size: u32, members: Vec<Member>) -> u32 {
        b.add(BtfType::Struct { name: name.into(), size, members, kind_flag: false })
    }

    /// A member at bit offset `bits`.
    pub fn m(name: &str, type_id: u32, bits: u32) -> Member {
        Member { name: name.into(), type_id, offset: bits, bitfield_size: 0 }
    }
}
