//! Loading a clang-built object (source beside it: tests/data/maps_calls.c, built with
//! `clang-19 -O2 -g -target bpf -c maps_calls.c`).

use kbpf_elf::Object;
use kbpf_isa::Program;

#[test]
fn links_subprograms_maps_and_funcs() {
    let obj = Object::parse(include_bytes!("data/maps_calls.o")).unwrap();
    assert_eq!(obj.license, "GPL");
    assert_eq!(obj.maps.len(), 1);
    let m = &obj.maps[0];
    assert_eq!(
        (m.name.as_str(), m.map_type, m.key_size, m.value_size, m.max_entries),
        ("counts", 2, 4, 8, 4)
    );
    assert_eq!(obj.programs.len(), 1);
    let p = &obj.programs[0];
    assert_eq!((p.name.as_str(), p.section.as_str()), ("prog", "socket"));
    // The 17 slots of `prog`, then its subprograms in the order its calls first reach them
    // (libbpf's bpf_object__reloc_code): add3, then glob.
    assert_eq!(p.slots.len(), 17 + 6);
    // ld_imm64 of the map: src = BPF_PSEUDO_MAP_FD, imm = map index.
    assert_eq!((p.slots[4].code, p.slots[4].src, p.slots[4].imm), (0x18, 1, 0));
    // call add3 (appended first: slot 17) from slot 11; call glob (slot 20) from slot 14.
    assert_eq!((p.slots[11].src, 11 + 1 + p.slots[11].imm), (1, 17));
    assert_eq!((p.slots[14].src, 14 + 1 + p.slots[14].imm), (1, 20));
    let names: Vec<(&str, usize, u32, bool)> =
        p.funcs.iter().map(|f| (f.name.as_str(), f.pc, f.nargs, f.global)).collect();
    assert_eq!(names, [("prog", 0, 1, true), ("add3", 17, 3, false), ("glob", 20, 1, true)]);
    Program::from_slots(&p.slots).unwrap();
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let mut bytes = include_bytes!("data/maps_calls.o").to_vec();
    for cut in [0, 4, 64, 1000, bytes.len() - 1] {
        let _ = Object::parse(&bytes[..cut]);
    }
    for i in (0..bytes.len()).step_by(7) {
        bytes[i] ^= 0x5a;
        let _ = Object::parse(&bytes);
    }
}

#[test]
#[ignore = "needs /sys/kernel/btf/vmlinux (a kernel with CONFIG_DEBUG_INFO_BTF; cargo xtask test runs it there)"]
fn vmlinux_btf_when_present() {
    let data = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let btf = kbpf_elf::btf::Btf::parse(&data).unwrap();
    assert!(btf.len() > 10_000);
    let (id, _) = btf.func_by_name("bpf_iter_num_new").expect("kfunc present in 6.x kernels");
    let params = btf.func_params(id).unwrap();
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["it", "start", "end"]);
}
