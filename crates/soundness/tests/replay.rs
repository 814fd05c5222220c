//! The soundness regression cases (`tests/soundness/*.s`, one minimised violation each):
//! verified and run through the harness again, each must come out clean.

#[test]
fn soundness_cases_stay_fixed() {
    let reg = kbpf_soundness::check::registry();
    let cases = kbpf_soundness::cases::all();
    for p in &cases {
        let text = std::fs::read_to_string(p).unwrap();
        let insns = kbpf_soundness::cases::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let r = kbpf_soundness::check(&insns, 200, 1, &reg);
        assert!(r.violation.is_none(), "{}: {:?}", p.display(), r.violation);
    }
    println!("{} soundness cases clean", cases.len());
}

/// The harness itself: a small seeded run finds programs kbpf accepts and checks their values.
#[test]
fn harness_checks_values() {
    let reg = kbpf_soundness::check::registry();
    let mut t = kbpf_soundness::Totals::default();
    for i in 0..8 {
        let insns = kbpf_soundness::program(7, i);
        let r = kbpf_soundness::check(&insns, 4, i, &reg);
        assert!(r.violation.is_none(), "program {i}: {:?}", r.violation);
        t.add(&r);
    }
    println!("{}", t.line());
    assert!(t.values_checked > 0 && t.observations > 0, "{}", t.line());
}

/// Of programs `0..n` of `seed`, those `pick` selects are generated often enough, come out
/// clean, and most are accepted and have their values checked.
fn kind_is_checked(seed: u64, n: u64, pick: fn(&[kbpf_isa::Insn]) -> bool, what: &str) {
    let reg = kbpf_soundness::check::registry();
    let (mut seen, mut checked) = (0, 0);
    for i in 0..n {
        let insns = kbpf_soundness::program(seed, i);
        if !pick(&insns) {
            continue;
        }
        seen += 1;
        let r = kbpf_soundness::check(&insns, 2, i, &reg);
        assert!(r.violation.is_none(), "program {i}: {:?}", r.violation);
        checked += u64::from(r.values_checked && r.observations > 0);
    }
    assert!(seen > 10 && checked > 5, "{seen} {what} programs, {checked} checked");
}

/// Programs that pass stack arguments (r11) are generated, declared and accepted, and their
/// runs checked like the others.
#[test]
fn stack_argument_programs_are_checked() {
    kind_is_checked(78, 400, |p| p.iter().any(kbpf_isa::Insn::is_stack_arg), "stack-argument");
}

/// Programs that address the array map's value (constant and variable offsets) are generated,
/// accepted with the map declared, and run with the value bound to the harness's memory.
#[test]
fn map_value_programs_are_checked() {
    kind_is_checked(79, 300, kbpf_soundness::maps::uses_map, "map-value");
}
