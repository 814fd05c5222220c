# Scenario 7.1 (U(stack_arg_kfunc.c):test_stack_arg_timer): arg10 = &map_value->timer (the value's
# `struct bpf_timer`, found by a lookup; 0 if the lookup fails) through a stack-arg slot; 1+..+9
# expect: accept
# retval: 45

.map timer_map, array, 4, 16, 1, timer=0

    *(u32 *)(r10 -4) = 0
    r2 = r10
    r2 += -4
    r1 = timer_map ll
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = r0
    call bpf_kfunc_call_stack_arg_timer
    exit
out:
    r0 = 0
    exit
