//! Each kind of native argument check, on kfuncs whose natives never dereference anything (so
//! what is observed is the interpreter's decision to call them or not).

use kbpf_interp::{InterpError, Vm, VmOptions};
use kbpf_isa::asm::{KfuncResolver, assemble_module};
use kbpf_isa::{Insn, LdImm64Src, Program};
use kbpf_kfunc::maps::MapSet;
use kbpf_kfunc::{ArgKind, ArgProto, FuncKind, NativeArg, NativeFn, Proto, RawNative, Registry, RetKind};

/// What every probe returns when it was called.
const CALLED: u64 = 77;

extern "C" fn probe1(_: u64) -> u64 {
    CALLED
}
extern "C" fn probe2(_: u64, _: u64) -> u64 {
    CALLED
}

fn arg(name: &str, kind: ArgKind, nullable: bool) -> ArgProto {
    ArgProto { name: name.into(), kind, nullable }
}

/// A probe bound to the contract `proto` implies.
fn probe(raw: RawNative, proto: &Proto) -> NativeFn {
    let contract: &'static [NativeArg] = Box::leak(proto.native_args().into_boxed_slice());
    // SAFETY: the probes dereference nothing, so any contract holds for them.
    #[allow(unsafe_code)]
    unsafe { NativeFn::with_contract(raw, contract) }.expect("one entry per parameter")
}

/// kfuncs `k_<what>` taking one argument of each kind (two for memory + size).
fn registry() -> Registry {
    let mut r = kbpf_kfunc::profiles::kernel();
    let mem = |size, uninit| ArgKind::Mem { size, uninit };
    let one: Vec<(&str, ArgProto)> = vec![
        ("k_mem8", arg("p", mem(Some(8), false), false)),
        ("k_mem8_opt", arg("p__opt", mem(Some(8), false), true)),
        ("k_out8", arg("p__uninit", mem(Some(8), true), false)),
        ("k_str", arg("s__str", ArgKind::ConstStr, false)),
        ("k_dynptr", arg("d", ArgKind::Dynptr, false)),
        ("k_dynptr_out", arg("d__uninit", ArgKind::Dynptr, false)),
        ("k_iter", arg("it", ArgKind::Iter("testmod_seq".into()), false)),
        ("k_ctx", arg("ctx", ArgKind::Ctx, false)),
        ("k_map", arg("map", ArgKind::Map, false)),
        ("k_timer", arg("timer", ArgKind::Timer, false)),
        ("k_callback", arg("cb", ArgKind::Callback, false)),
        ("k_object", arg("obj", ArgKind::BtfId("task_struct".into()), false)),
    ];
    let mut id = 0x5000_0000;
    for (name, a) in one {
        let proto = Proto { args: vec![a], ret: Some(RetKind::Scalar), ..Proto::default() };
        let f = probe(RawNative::A1(probe1), &proto);
        r.register(FuncKind::Kfunc, id, name, proto, Some(f)).unwrap();
        id += 1;
    }
    let pair =
        vec![arg("p", mem(None, false), false), arg("p__sz", ArgKind::MemSize { constant: false }, false)];
    let proto = Proto { args: pair, ret: Some(RetKind::Scalar), ..Proto::default() };
    let f = probe(RawNative::A2(probe2), &proto);
    r.register(FuncKind::Kfunc, id, "k_mem_sz", proto, Some(f)).unwrap();
    r
}

struct Names<'a>(&'a Registry);

impl KfuncResolver for Names<'_> {
    fn kfunc_id(&self, name: &str) -> Option<i32> {
        self.0.kfunc_by_name(name).map(|d| d.id)
    }
}

const MAPS: &str = "
.map ro, array, 4, 16, 1, rdonly_prog, frozen
.mapdata ro, 0, \"abc\\0\"
.map rw, array, 4, 16, 1
.map t, array, 4, 16, 1, timer=0
";

/// Runs `body` (then `exit`) with a 32-byte input of 0xaa bytes; r6 = the input.
fn run(body: &str) -> Result<u64, InterpError> {
    let reg = registry();
    let src = format!("{MAPS}\n    r6 = r1\n{body}    exit\n");
    let m = assemble_module(&src, &Names(&reg)).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let maps = MapSet::new(&m.maps, |_| None).unwrap();
    let insns: Vec<Insn> = m
        .program
        .insns()
        .iter()
        .map(|i| {
            let addr = match *i {
                Insn::LdImm64 { src: LdImm64Src::MapFd, imm, .. } => maps.map_addr(imm as usize),
                Insn::LdImm64 { src: LdImm64Src::MapValue, imm, imm_hi, .. } => {
                    maps.value_addr(imm as usize, imm_hi as u32)
                }
                _ => return *i,
            };
            let (Insn::LdImm64 { dst, .. }, Some(a)) = (*i, addr) else { panic!("unresolved {i:?}") };
            Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: a as i32, imm_hi: (a >> 32) as i32 }
        })
        .collect();
    let vm = Vm::new(&Program::new(insns).unwrap(), &reg, VmOptions::default()).unwrap();
    vm.run_env(&mut [0xaa; 32], &maps).map(|s| s.r0)
}

/// `r1 = <setup>; call f`: whether the native was called, or the error's `why`.
fn call(f: &str, setup: &str) -> Result<(), String> {
    match run(&format!("{setup}    call {f}\n")) {
        Ok(CALLED) => Ok(()),
        Ok(v) => panic!("{f}: returned {v} without the probe"),
        Err(InterpError::BadArgument { func, why, .. }) => {
            assert_eq!(func, f);
            Err(why)
        }
        Err(e) => panic!("{f}: {e}"),
    }
}

fn stack(off: i32) -> String {
    format!("    r1 = r10\n    r1 += {off}\n")
}

#[test]
fn fixed_size_memory() {
    assert_eq!(call("k_mem8", &stack(-8)), Ok(()));
    assert!(call("k_mem8", &stack(-4)).unwrap_err().contains("not inside live memory"));
    assert!(call("k_mem8", "    r1 = 0\n").is_err(), "NULL only where nullable");
    assert_eq!(call("k_mem8_opt", "    r1 = 0\n"), Ok(()));
    assert_eq!(call("k_mem8", "    r1 = r6\n    r1 += 24\n"), Ok(()), "the last 8 input bytes");
    assert!(call("k_mem8", "    r1 = r6\n    r1 += 25\n").is_err());
    assert_eq!(call("k_mem8", "    r1 = map_value(ro, 8)\n"), Ok(()), "read-only memory is readable");
    assert!(call("k_mem8", "    r1 = map_value(ro, 12)\n").is_err(), "past the 16-byte value");
    // a callee writes __uninit memory: read-only map values are refused
    assert!(call("k_out8", "    r1 = map_value(ro, 0)\n").unwrap_err().contains("not writable"));
    assert_eq!(call("k_out8", "    r1 = map_value(rw, 0)\n"), Ok(()));
}

#[test]
fn memory_and_size_pairs() {
    let pair = |ptr: &str, size: &str| call("k_mem_sz", &format!("{ptr}    r2 = {size}\n"));
    assert_eq!(pair(&stack(-16), "16"), Ok(()));
    assert!(pair(&stack(-16), "17").is_err());
    assert!(pair(&stack(-16), "-1").is_err());
    assert!(pair(&stack(-16), "0x100000000 ll").is_err(), "the full register, not its low half");
    assert_eq!(pair(&stack(-512), "512"), Ok(()), "the whole frame");
    assert_eq!(pair("    r1 = r10\n", "0"), Ok(()), "an empty span at the top of the frame");
    assert!(pair("    r1 = 0xdead ll\n", "0").is_err(), "an empty span still needs live memory");
}

#[test]
fn strings() {
    assert_eq!(call("k_str", "    r1 = map_value(ro, 0)\n"), Ok(()));
    assert_eq!(call("k_str", "    r1 = map_value(ro, 3)\n"), Ok(()), "the empty string");
    let unterminated =
        "    r1 = 0x4141414141414141 ll\n    *(u64 *)(r10 -8) = r1\n    r1 = r10\n    r1 += -8\n";
    assert!(call("k_str", unterminated).unwrap_err().contains("not NUL-terminated"));
    assert!(call("k_str", "    r1 = r6\n").is_err(), "the input has no NUL");
    assert!(call("k_str", "    r1 = 0\n").is_err());
}

/// Writes a dynptr at r10 - 16: data from `data` (into r2), size word, offset word.
fn dynptr(data: &str, size: u32, offset: u32) -> String {
    format!(
        "{data}    *(u64 *)(r10 -16) = r2\n    *(u32 *)(r10 -8) = {size:#x}\n    *(u32 *)(r10 -4) = {offset:#x}\n    r1 = r10\n    r1 += -16\n"
    )
}

#[test]
fn dynptrs_and_their_views() {
    const LOCAL: u32 = 1 << 28;
    let stack48 = "    r2 = r10\n    r2 += -48\n";
    assert_eq!(call("k_dynptr", &dynptr(stack48, 32 | LOCAL, 0)), Ok(()));
    assert_eq!(call("k_dynptr", &dynptr(stack48, 16 | LOCAL, 16)), Ok(()), "offset inside");
    assert!(call("k_dynptr", &dynptr(stack48, 49 | LOCAL, 0)).is_err(), "past the top of the frame");
    assert!(call("k_dynptr", &dynptr(stack48, 16 | LOCAL, 40)).is_err(), "offset past the frame");
    assert!(call("k_dynptr", &dynptr("    r2 = 0x1000 ll\n", 1 | LOCAL, 0)).is_err());
    assert_eq!(call("k_dynptr", &dynptr("    r2 = 0\n", 16 | LOCAL, 0)), Ok(()), "NULL dynptr: no view");
    // over read-only memory only when marked read-only
    let ro = "    r2 = map_value(ro, 0)\n";
    assert!(call("k_dynptr", &dynptr(ro, 16 | LOCAL, 0)).unwrap_err().contains("not readable and writable"));
    assert_eq!(call("k_dynptr", &dynptr(ro, 16 | LOCAL | 1 << 31, 0)), Ok(()));
    // the dynptr itself: 16 live bytes; an __uninit one is not read
    assert!(call("k_dynptr", &stack(-8)).is_err());
    let garbage = "    r1 = -1\n    *(u64 *)(r10 -16) = r1\n    r1 = r10\n    r1 += -16\n";
    assert!(call("k_dynptr", garbage).is_err());
    assert_eq!(call("k_dynptr_out", garbage), Ok(()));
    assert!(call("k_dynptr_out", &stack(-8)).is_err());
}

#[test]
fn iterators_contexts_maps_timers() {
    assert_eq!(call("k_iter", &stack(-16)), Ok(()));
    assert!(call("k_iter", &stack(-8)).is_err(), "16 bytes of testmod_seq state");
    assert_eq!(call("k_ctx", "    r1 = r6\n"), Ok(()));
    assert!(call("k_ctx", "    r1 = r6\n    r1 += 8\n").unwrap_err().contains("not the program's context"));
    assert!(call("k_ctx", &stack(-8)).is_err());
    assert_eq!(call("k_map", "    r1 = rw ll\n"), Ok(()));
    assert!(call("k_map", "    r1 = map_value(rw, 0)\n").unwrap_err().contains("not a map"));
    assert!(call("k_map", "    r1 = 0\n").is_err());
    assert_eq!(call("k_timer", "    r1 = map_value(t, 0)\n"), Ok(()));
    assert!(call("k_timer", "    r1 = map_value(rw, 0)\n").unwrap_err().contains("bpf_timer"));
    assert!(call("k_callback", "    r1 = 0\n").unwrap_err().contains("cannot check"));
    assert!(call("k_object", &stack(-8)).unwrap_err().contains("does not model"));
}

#[test]
fn errors_name_the_call_and_the_argument() {
    let e = run("    r1 = 0xdead0000 ll\n    r2 = 8\n    r3 = 0\n    r4 = r10\n    r4 += -16\n    call bpf_dynptr_from_mem\n")
        .unwrap_err();
    assert_eq!(e.pc(), 7);
    assert_eq!(
        e.to_string(),
        "insn 7: bpf_dynptr_from_mem argument 1 (data): 8 bytes at 0xdead0000 are not inside live memory"
    );
    // callx reaches the same checks
    let e = run("    r1 = 0xdead0000 ll\n    r2 = 8\n    r3 = 0\n    r4 = r10\n    r4 += -16\n    r0 = 197\n    callx r0\n")
        .unwrap_err();
    assert!(matches!(e, InterpError::BadArgument { pc: 8, arg: 1, .. }), "{e}");
}
