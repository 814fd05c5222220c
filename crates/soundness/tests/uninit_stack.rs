//! What a privileged program reads from stack it never wrote is undefined in the kernel; every
//! kbpf engine gives zeros (each frame starts zeroed), so the interpreter and the JIT agree and
//! the differential tests need no exception for it.

use kbpf_isa::Program;

fn program(text: &str) -> Program {
    Program::new(kbpf_isa::asm::assemble(text).expect("assembles")).expect("a program")
}

/// A subprogram that fills 256 bytes of its frame with 0x55, then `reader` called either at the
/// same depth (the interpreter reused the frame: 0x55) or one deeper (the JIT's native frame
/// held whatever the stack had: the return address area, saved registers).
fn reads_after_a_writer(deeper: bool) -> String {
    let mut a = vec!["r1 = 85".to_string()];
    a.extend((1..=32).map(|i| format!("*(u64 *)(r10 - {}) = r1", 8 * i)));
    a.extend(["r0 = 0".into(), "exit".into()]);
    let via: Vec<String> = if deeper { vec!["call pc+1".into(), "exit".into()] } else { Vec::new() };
    let reader = ["r0 = *(u64 *)(r10 - 256)", "r1 = *(u64 *)(r10 - 8)", "r0 |= r1", "exit"];
    let (a_at, via_at) = (3, 3 + a.len());
    let main = [format!("call pc+{}", a_at - 1), format!("call pc+{}", via_at - 2), "exit".into()];
    let mut all: Vec<String> = main.to_vec();
    all.extend(a);
    all.extend(via);
    all.extend(reader.iter().map(|s| s.to_string()));
    all.join("\n")
}

#[test]
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), ignore = "no host JIT to compare")]
fn uninitialised_stack_reads_zero_on_every_engine() {
    for deeper in [false, true] {
        let prog = program(&reads_after_a_writer(deeper));
        let [interp, jit] =
            kbpf_soundness::targets::engines_run(&prog, &[0u8; 64]).expect("verified, host JIT");
        assert_eq!(interp.0, Ok(0), "interpreter, reader deeper: {deeper}");
        assert_eq!(jit.0, Ok(0), "JIT, reader deeper: {deeper}");
    }
}

#[test]
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), ignore = "no host JIT to compare")]
fn the_main_frame_starts_zeroed_on_every_run() {
    // the first run leaves 0x55 in the frame; the second must not see it
    let prog = program("r0 = *(u64 *)(r10 - 8)\nr1 = 85\n*(u64 *)(r10 - 8) = r1\nexit");
    for _ in 0..2 {
        let [interp, jit] =
            kbpf_soundness::targets::engines_run(&prog, &[0u8; 64]).expect("verified, host JIT");
        assert_eq!((interp.0, jit.0), (Ok(0), Ok(0)));
    }
}
