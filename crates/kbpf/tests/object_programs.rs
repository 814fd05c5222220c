//! One program of an object reaches the verifier on its own, as the kernel verifies each
//! program separately: a malformed sibling never hides its verdict, the program's own
//! malformed slots get the kernel's message, and an `ld_imm64` of a map no relocation names
//! keeps its literal fd, which the kernel finds no map behind.

use kbpf::verifier::{Errno, VerifyOptions};
use kbpf::{LoadedObject, create_maps, module_from_object, verify_module};
use kbpf_elf::synth::{GLOBAL_FUNC, SHT_NOBITS, SHT_PROGBITS, Sec, object, prog_bytes, sec};

fn slot(code: u8, regs: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [code, regs, 0, 0, 0, 0, 0, 0];
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..].copy_from_slice(&imm.to_le_bytes());
    b
}

/// `good` (socket: `r0 = 0; exit`), `bad` (xdp: `goto +5; exit`), `lit` (tc: `r1 = map fd
/// LIT` with no relocation, `r0 = 0; exit`) and an 8-byte `.bss` (map 0).
fn objects(lit: i32) -> LoadedObject {
    let bad = [slot(0x05, 0, 5, 0), slot(0x95, 0, 0, 0)].concat();
    let lit = [slot(0x18, 0x11, 0, lit), slot(0, 0, 0, 0), slot(0xb7, 0, 0, 0), slot(0x95, 0, 0, 0)].concat();
    let bss = Sec { name: ".bss", ty: SHT_NOBITS, flags: 3, data: Vec::new(), size: Some(8) };
    let bytes = object(
        vec![
            sec("socket", SHT_PROGBITS, 6, prog_bytes()),
            sec("xdp", SHT_PROGBITS, 6, bad),
            sec("tc", SHT_PROGBITS, 6, lit),
            bss,
        ],
        &[("good", GLOBAL_FUNC, 1, 0, 16), ("bad", GLOBAL_FUNC, 2, 0, 16), ("lit", GLOBAL_FUNC, 3, 0, 32)],
    );
    kbpf::open_object(&bytes, &kbpf::LoadOptions::offline()).expect("opens")
}

fn verdict(obj: &LoadedObject, name: &str) -> Option<(String, Errno)> {
    let p = obj.program(name).expect("program");
    let m = module_from_object(obj, p).expect("module");
    let out = verify_module(&m, VerifyOptions::default());
    out.error.map(|e| (e.message().to_string(), e.errno()))
}

#[test]
fn a_malformed_sibling_does_not_hide_a_programs_verdict() {
    let obj = objects(0);
    assert_eq!(verdict(&obj, "good"), None);
    // the program's own malformed slots reach the verifier and get the kernel's message
    assert_eq!(verdict(&obj, "bad"), Some(("jump out of range from insn 0 to 6".into(), Errno::EINVAL)));
}

#[test]
fn only_tail_call_targets_are_siblings_and_a_malformed_one_fails_only_the_run() {
    let mut obj = objects(0);
    let good = obj.program("good").unwrap();
    assert!(module_from_object(&obj, good).unwrap().progs.is_empty());
    // a prog array whose initial values name `bad` (slot 0) and `good` itself (slot 1)
    let mut jumps = obj.maps[0].clone();
    jumps.name = "jumps".into();
    jumps.map_type = 3;
    jumps.key_size = 4;
    jumps.value_size = 4;
    jumps.max_entries = 2;
    jumps.data = None;
    jumps.progs = vec![(0, "bad".into()), (1, "good".into())];
    obj.maps.push(jumps);
    let good = obj.program("good").unwrap();
    let m = module_from_object(&obj, good).unwrap();
    assert!(m.progs.is_empty());
    assert_eq!(m.unusable_progs.len(), 1);
    assert_eq!(m.unusable_progs[0].0, "bad");
    // the verdict is the program's own; running it needs the target and says why it cannot
    assert!(verify_module(&m, VerifyOptions::default()).error.is_none());
    let Err(e) = create_maps(&m) else { panic!("a malformed tail-call target runs") };
    let e = e.to_string();
    assert!(e.contains("map jumps slot 0: program `bad` cannot run: insn 0: jump out of range"), "{e}");
}

#[test]
fn an_unrelocated_map_load_keeps_its_literal_fd() {
    for (fd, errno) in [(0, Errno::EINVAL), (1, Errno::EINVAL), (2, Errno::EINVAL), (7, Errno::EBADF)] {
        let obj = objects(fd);
        let p = obj.program("lit").unwrap();
        assert_eq!(p.literal_fds, [0]);
        assert_eq!(p.insns[0].imm, fd, "libbpf leaves the literal as it is");
        // fd 0 would be the index of `.bss` if it were read as a map reference
        assert_eq!(verdict(&obj, "lit"), Some((format!("fd {fd} is not pointing to valid bpf_map"), errno)));
    }
    // relocated references are not literal
    assert!(objects(0).programs.iter().filter(|p| p.name != "lit").all(|p| p.literal_fds.is_empty()));
}
