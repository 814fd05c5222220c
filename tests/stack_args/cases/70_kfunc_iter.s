# Scenario 7.1 (U(stack_arg_kfunc.c):test_stack_arg_iter): bpf_iter_testmod_seq_new(&it, 100, 10), then
# arg10 = &it (`it__iter`, an initialized iterator) through a stack-arg slot, then destroy; 1+..+9 + it.value
# expect: accept
# retval: 145

    r1 = r10
    r1 += -16
    r2 = 100
    r3 = 10
    call bpf_iter_testmod_seq_new
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
    call bpf_kfunc_call_stack_arg_iter
    r6 = r0
    r1 = r10
    r1 += -16
    call bpf_iter_testmod_seq_destroy
    r0 = r6
    exit
