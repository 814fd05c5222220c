# Scenario 7.1 (U(stack_arg_kfunc.c):test_stack_arg_ptr): arg10 = &struct prog_test_pass1 {x0=10, x1=20} on the caller's stack; 1+..+9 + 10 + 20
# expect: accept
# retval: 75

    *(u32 *)(r10 -16) = 10
    *(u32 *)(r10 -12) = 20
    *(u64 *)(r10 -8) = 0
    r6 = r10
    r6 += -16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = r6
    call bpf_kfunc_call_stack_arg_ptr
    exit
