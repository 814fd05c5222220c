# Scenario 7.1 (U(stack_arg_kfunc.c):test_stack_arg_dynptr): arg10 is a pointer to an skb dynptr
# on the caller's stack; run on pkt_v4 (54 bytes): 1+..+9 + 54
# expect: accept
# prog-type: tc
# retval: 99

    r6 = r10
    r6 += -16
    r2 = 0
    r3 = r6
    call bpf_dynptr_from_skb
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
    call bpf_kfunc_call_stack_arg_dynptr
    exit
