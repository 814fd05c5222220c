//! Every helper and kfunc of every profile called with random arguments drawn from live, dead,
//! edge and wild addresses, sizes and forged stack contents (so dynptrs and iterators on the
//! stack hold random pointers): each run ends in a typed error or a value, and memory outside
//! the run is untouched.

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::asm::{KfuncResolver, assemble_module};
use kbpf_isa::{Insn, LdImm64Src, Program};
use kbpf_kfunc::maps::MapSet;
use kbpf_kfunc::vmlinux::RUNTIME_SKB_DATA_OFF;
use kbpf_kfunc::{FuncKind, Registry, profiles};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Names<'a>(&'a Registry);

impl KfuncResolver for Names<'_> {
    fn kfunc_id(&self, name: &str) -> Option<i32> {
        self.0.kfunc_by_name(name).map(|d| d.id)
    }
}

/// Code that leaves one random argument value in `reg` (r6 = the context, r7 = a live map
/// value, r8 = a dead frame's stack, r9 = the packet).
fn value(rng: &mut Rng, reg: &str) -> String {
    match rng.below(12) {
        0 => format!("    {reg} = 0\n"),
        1 => format!("    {reg} = r10\n    {reg} += -{}\n", rng.below(70) * 8),
        2 => format!("    {reg} = r10\n    {reg} += -{}\n", rng.below(530)),
        3 => format!("    {reg} = r6\n    {reg} += {}\n", rng.below(240)),
        4 => format!("    {reg} = r7\n    {reg} += {}\n", rng.below(24)),
        5 => format!("    {reg} = r8\n    {reg} += {}\n", rng.below(64)),
        6 => format!("    {reg} = r9\n    {reg} += {}\n", rng.below(80)),
        7 => format!("    {reg} = {}\n", rng.below(48)),
        8 => format!("    {reg} = {:#x} ll\n", rng.next()),
        9 => format!("    {reg} = -{}\n", rng.below(20)),
        10 => format!("    {reg} = {} ll\n", ["m", "ro", "t"][rng.below(3) as usize]),
        _ => format!("    {reg} = {:#x} ll\n", 0x1000_0000u64 | (rng.below(16) << 28)),
    }
}

fn program(rng: &mut Rng, call: &str) -> String {
    let mut s = String::from(
        ".map m, array, 4, 24, 2\n.map ro, array, 4, 16, 1, rdonly_prog, frozen\n.map t, array, 4, 16, 1, timer=0\n\
         \n    r6 = r1\n    call dead\n    r8 = r0\n    r7 = map_value(m, 0)\n    r9 = *(u64 *)(r6 +192)\n",
    );
    // forged stack contents: random words, some of them pointers
    for k in 1..=16 {
        s += &value(rng, "r1");
        s += &format!("    *(u64 *)(r10 -{}) = r1\n", 8 * k);
        if rng.below(3) == 0 {
            s += &format!(
                "    *(u32 *)(r10 -{}) = {:#x}\n",
                8 * k - 8,
                (rng.below(64) as u32) | (rng.below(5) as u32) << 28
            );
        }
    }
    for slot in 1..=7 {
        s += &value(rng, "r0");
        s += &format!("    *(u64 *)(r11 -{}) = r0\n", 8 * slot);
    }
    for r in 1..=5 {
        s += &value(rng, &format!("r{r}"));
    }
    s += &format!("    {call}\n    exit\n\n.func dead, 0\ndead:\n    r0 = r10\n    r0 += -64\n    exit\n");
    s
}

fn resolve(p: &Program, maps: &MapSet) -> Program {
    let insns = p
        .insns()
        .iter()
        .map(|i| {
            let a = match *i {
                Insn::LdImm64 { src: LdImm64Src::MapFd, imm, .. } => maps.map_addr(imm as usize),
                Insn::LdImm64 { src: LdImm64Src::MapValue, imm, imm_hi, .. } => {
                    maps.value_addr(imm as usize, imm_hi as u32)
                }
                _ => return *i,
            };
            let (Insn::LdImm64 { dst, .. }, Some(a)) = (*i, a) else { panic!("unresolved {i:?}") };
            Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: a as i32, imm_hi: (a >> 32) as i32 }
        })
        .collect();
    Program::new(insns).unwrap()
}

#[test]
fn every_native_with_random_arguments() {
    let registries = [profiles::conformance(), profiles::kernel(), profiles::testmod()];
    let names = Names(&registries[2]);
    let guard = vec![0x5au8; 4096];
    // KBPF_NATIVE_FUZZ=N for longer runs (and another seed)
    let iters: u64 = std::env::var("KBPF_NATIVE_FUZZ").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ iters);
    let (mut runs, mut errors) = (0, 0);
    for reg in &registries {
        for d in reg.iter() {
            let call = match d.kind {
                FuncKind::Helper => format!("call {}", d.id),
                FuncKind::Kfunc if names.kfunc_id(&d.name).is_some() => format!("call {}", d.name),
                FuncKind::Kfunc => continue,
            };
            for _ in 0..iters {
                let src = program(&mut rng, &call);
                let m = assemble_module(&src, &names).unwrap_or_else(|e| panic!("{e}\n{src}"));
                let maps = MapSet::new(&m.maps, |_| None).unwrap();
                let vm = Vm::new(&resolve(&m.program, &maps), reg, VmOptions::default()).unwrap();
                let mut packet = vec![0x11u8; 64];
                let mut ctx = vec![0u8; RUNTIME_SKB_DATA_OFF as usize + 24];
                let (base, end) = (packet.as_ptr() as u64, packet.as_ptr() as u64 + 64);
                ctx[192..200].copy_from_slice(&base.to_le_bytes());
                ctx[200..208].copy_from_slice(&end.to_le_bytes());
                let r = vm.run_env_with_regions(&mut ctx, &mut [&mut packet], &maps);
                runs += 1;
                errors += r.is_err() as usize;
            }
        }
    }
    eprintln!("native fuzz: {runs} runs, {errors} typed errors");
    assert!(guard.iter().all(|&b| b == 0x5a), "memory outside the run was written");
    assert!(runs > 1000 && errors > 0 && errors < runs, "{errors} errors in {runs} runs");
}
