//! Integration tests: smoke runs.
mod common;
use common::*;
use kbpf_isa::*;

#[test]
fn returns_constant() {
    assert_eq!(run(vec![mov(Reg::R0, 42), EXIT]), 42);
    assert_eq!(run(vec![mov(Reg::R0, -1), EXIT]), u64::MAX);
    assert_eq!(run(vec![lddw(Reg::R0, 0x1122334455667788), EXIT]), 0x1122334455667788);
}

#[test]
fn r1_r2_are_mem_and_len() {
    let mut m = [1u8, 2, 3, 4, 5];
    assert_eq!(run_mem(vec![movr(Reg::R0, Reg::R2), EXIT], &mut m), 5);
    assert_eq!(run_mem(vec![ldx(Size::W, Reg::R0, Reg::R1, 1), EXIT], &mut m), 0x05040302);
    assert_eq!(run(vec![movr(Reg::R0, Reg::R1), EXIT]), 0);
}
