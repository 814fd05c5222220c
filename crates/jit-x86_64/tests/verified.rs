//! The safe entry to native code: only a verifier's witness compiles, its calls must be the
//! registry's, and safe runs refuse inputs smaller than the verified context.

use kbpf_isa::asm::assemble_program;
use kbpf_jit::{Backend, FaultKind, Input, JitError, JitOptions, Link};
use kbpf_jit_x86_64::X86_64;
use kbpf_kfunc::{NativeFn, Registry, profiles};
use kbpf_verifier::{ProgType, Verified, VerifyOptions, verify};

fn witness(src: &str, prog_type: ProgType) -> Verified {
    let p = assemble_program(src).expect("assembles");
    let out = verify(&p.to_slots(), &VerifyOptions { prog_type, ..Default::default() });
    assert!(out.accepted, "{:?}", out.error);
    out.witness.expect("witness")
}

#[test]
fn verified_code_checks_its_input() {
    let w = witness("r0 = *(u64 *)(r1 + 8)\nexit\n", ProgType::Mem { ctx_size: 16 });
    let code = X86_64.compile(&w, &Registry::new(), &Link::none(), &JitOptions::default()).unwrap();
    assert_eq!(code.code().input(), Input::AtLeast(16));
    let mut short = [0u8; 8];
    assert_eq!(code.execute(&mut short).unwrap_err().kind, FaultKind::InputTooShort);
    let mut mem = [3u8; 16];
    assert_eq!(code.execute(&mut mem).unwrap(), 0x0303_0303_0303_0303);
}

#[test]
fn packet_programs_need_a_built_context() {
    let w = witness("r0 = 2\nexit\n", ProgType::Xdp);
    let code = X86_64.compile(&w, &Registry::new(), &Link::none(), &JitOptions::default()).unwrap();
    assert_eq!(code.execute(&mut [0u8; 64]).unwrap_err().kind, FaultKind::ContextRequired);
}

#[test]
fn dead_code_is_not_compiled() {
    let w =
        witness("r0 = 0\nif r0 == 0 goto +1\n*(u32 *)(r10 -3) = r0\nexit\n", ProgType::Mem { ctx_size: 0 });
    let code = X86_64.compile(&w, &Registry::new(), &Link::none(), &JitOptions::default()).unwrap();
    assert_eq!(code.execute(&mut []).unwrap(), 0);
}

extern "C" fn seven() -> u64 {
    7
}

#[test]
fn the_registry_must_supply_the_verified_functions() {
    let w = witness("call 7\nexit\n", ProgType::Mem { ctx_size: 0 });
    let opts = JitOptions::default();
    let e = X86_64.compile(&w, &Registry::new(), &Link::none(), &opts).unwrap_err();
    assert!(matches!(e, JitError::Missing { id: 7, .. }), "{e}");
    let mut wrong = Registry::new();
    wrong.add_helper(7, "not_prandom", NativeFn::A0(seven)).unwrap();
    let e = X86_64.compile(&w, &wrong, &Link::none(), &opts).unwrap_err();
    assert!(matches!(e, JitError::Mismatch { what: "name", .. }), "{e}");
    let code = X86_64.compile(&w, &profiles::kernel(), &Link::none(), &opts).unwrap();
    code.execute(&mut []).unwrap();
}

#[test]
fn map_references_need_the_run_s_maps() {
    // a program with a map reference cannot be linked without maps
    let src = ".map a, array, 4, 8, 1\nr1 = map_value(a, 0)\nr0 = *(u64 *)(r1 + 0)\nexit\n";
    let m = kbpf_isa::asm::assemble_module(src, &|_: &str| None).unwrap();
    let def = kbpf_verifier::MapDef {
        fd: 0,
        name: "a".into(),
        kind: kbpf_verifier::MapKind::Array,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        ..Default::default()
    };
    let opts =
        VerifyOptions { prog_type: ProgType::Mem { ctx_size: 0 }, maps: vec![def], ..Default::default() };
    let out = verify(&m.program.to_slots(), &opts);
    let w = out.witness.expect("accepted");
    let e = X86_64.compile(&w, &Registry::new(), &Link::none(), &JitOptions::default()).unwrap_err();
    assert!(matches!(e, JitError::Link(_)), "{e}");
    // a map set of another shape is refused too
    let spec = kbpf_isa::MapSpec {
        name: "a".into(),
        map_type: kbpf_isa::MapType::Array,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        ..Default::default()
    };
    let maps = kbpf_kfunc::maps::MapSet::new(&[spec], |_| None).unwrap();
    let link = Link { maps: Some(&maps), func_token: &|_| 0 };
    let e = X86_64.compile(&w, &Registry::new(), &link, &JitOptions::default()).unwrap_err();
    assert!(matches!(e, JitError::Link(_)), "{e}");
}
