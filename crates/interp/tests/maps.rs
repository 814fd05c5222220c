//! Map helpers, map-value memory and tail calls through a `HostEnv` (the run's `MapSet`).

use kbpf_interp::{InterpError, Vm, VmOptions};
use kbpf_isa::asm::{NoKfuncs, assemble_module};
use kbpf_isa::{Insn, LdImm64Src, Program};
use kbpf_kfunc::maps::MapSet;
use kbpf_kfunc::profiles;

/// Map references to host addresses (what `kbpf::resolve_maps` does).
fn resolve(p: &Program, maps: &MapSet) -> Program {
    let insns = p
        .insns()
        .iter()
        .map(|i| match *i {
            Insn::LdImm64 { dst, src: LdImm64Src::MapFd, imm, .. } => {
                let a = maps.map_addr(imm as usize).unwrap();
                Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: a as i32, imm_hi: (a >> 32) as i32 }
            }
            Insn::LdImm64 { dst, src: LdImm64Src::MapValue, imm, imm_hi } => {
                let a = maps.value_addr(imm as usize, imm_hi as u32).unwrap();
                Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: a as i32, imm_hi: (a >> 32) as i32 }
            }
            other => other,
        })
        .collect();
    Program::new(insns).unwrap()
}

fn run(src: &str, runs: usize) -> (Result<Vec<u64>, InterpError>, MapSet) {
    let m = assemble_module(src, &NoKfuncs).unwrap();
    let maps =
        MapSet::new(&m.maps, |n| m.progs.iter().position(|p| p.name == n).map(|i| i as u32 + 1)).unwrap();
    let progs: Vec<Program> = std::iter::once(&m.program)
        .chain(m.progs.iter().map(|p| &p.program))
        .map(|p| resolve(p, &maps))
        .collect();
    let refs: Vec<&Program> = progs.iter().collect();
    let vm = Vm::with_programs(&refs, &profiles::kernel(), VmOptions::default()).unwrap();
    let r = (0..runs).map(|_| vm.run_env(&mut [0; 8], &maps).map(|s| s.r0)).collect();
    (r, maps)
}

#[test]
fn lookup_update_delete_and_value_memory() {
    let src = "
.map h, hash, 4, 8, 2
    r1 = 7
    *(u32 *)(r10 -4) = r1
    r1 = h ll
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 != 0 goto found
    *(u64 *)(r10 -16) = 40
    r1 = h ll
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = 0
    call bpf_map_update_elem
    r0 = 1
    exit
found:
    r1 = *(u64 *)(r0 +0)
    r1 += 1
    *(u64 *)(r0 +0) = r1
    r0 = r1
    exit
";
    let (r, maps) = run(src, 3);
    assert_eq!(r.unwrap(), [1, 41, 42]);
    assert_eq!(maps.get(0).unwrap().lookup(&7u32.to_le_bytes()).unwrap(), 42u64.to_le_bytes());
}

#[test]
fn tail_calls_count_and_fall_through() {
    let src = "
.map jmp, prog_array, 4, 4, 2
.mapdata jmp, 0, again
.map n, array, 4, 8, 1
    r2 = jmp ll
    r3 = 7
    call bpf_tail_call
    r2 = jmp ll
    r3 = 0
    call bpf_tail_call
    r0 = 99
    exit
.prog again
    r6 = r1
    r1 = map_value(n, 0)
    r2 = *(u64 *)(r1 +0)
    r2 += 1
    *(u64 *)(r1 +0) = r2
    r1 = r6
    r2 = jmp ll
    r3 = 0
    call bpf_tail_call
    r1 = map_value(n, 0)
    r0 = *(u64 *)(r1 +0)
    exit
";
    // 33 counted attempts: the out-of-range one is free, so `again` runs 33 times
    let (r, _) = run(src, 2);
    assert_eq!(r.unwrap(), [33, 66]);
}

#[test]
fn map_helpers_without_maps_are_errors() {
    let prog = kbpf_isa::asm::assemble_program("r1 = 0x1234 ll\nr2 = r10\ncall bpf_map_lookup_elem\nexit\n")
        .unwrap();
    let vm = Vm::new(&prog, &profiles::kernel(), VmOptions::default()).unwrap();
    let e = vm.run(&mut []).unwrap_err();
    assert_eq!(e, InterpError::NoMap { pc: 3, addr: 0x1234 });
    let maps = MapSet::new(&[], |_| None).unwrap();
    assert!(matches!(vm.run_env(&mut [], &maps), Err(InterpError::NoMap { .. })));
    // a key the program cannot read is a memory error, not a host read
    let (r, _) = run(".map h, hash, 4, 8, 1\nr1 = h ll\nr2 = 16\ncall bpf_map_lookup_elem\nexit\n", 1);
    assert_eq!(r.unwrap_err(), InterpError::MemoryAccess { pc: 3, addr: 16, size: 4 });
}
