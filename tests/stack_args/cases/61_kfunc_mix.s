# Scenario 7.1 (U(stack_arg_kfunc.c):test_stack_arg_mix): (1..7, &p{x0=10}, 8, &q{x1=20}); 1+..+7 + 10 + 8 + 20
# expect: accept
# retval: 66

    *(u32 *)(r10 -16) = 10
    *(u32 *)(r10 -12) = 20
    *(u64 *)(r10 -8) = 0
    *(u32 *)(r10 -32) = 10
    *(u32 *)(r10 -28) = 20
    *(u64 *)(r10 -24) = 0
    r6 = r10
    r6 += -32
    r7 = r10
    r7 += -16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = r6
    *(u64 *)(r11 -32) = 8
    *(u64 *)(r11 -40) = r7
    call bpf_kfunc_call_stack_arg_mix
    exit
