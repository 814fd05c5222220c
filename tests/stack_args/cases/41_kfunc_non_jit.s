# Scenario 41 (D): the only stack-arg use is a kfunc call; verified for a non-JIT target the
# kfunc refusal comes first (bpf_fixup_call_args order), not the stack-arg one.
# expect: accept
# retval: 55
# non-jit: calling kernel functions are not allowed in non-JITed programs

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = 10
    call bpf_kfunc_call_stack_arg
    exit
