# Scenario 34 (U(stack_arg_kfunc.c):test_stack_arg_scalar): 10-argument kfunc
# expect: accept
# retval: 55

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
