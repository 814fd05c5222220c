# Scenario 7.1 (U(stack_arg.c):test_bpf2bpf_dynptr_stack_arg): a static function gets an skb
# dynptr as its 10th argument through r11 and asks its size; on pkt_v4: 1+..+9 + 54
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
    call sum_dynptr
    exit

.func sum_dynptr, 10
sum_dynptr:
    r6 = *(u64 *)(r11 +8)
    r7 = *(u64 *)(r11 +16)
    r8 = *(u64 *)(r11 +24)
    r9 = *(u64 *)(r11 +32)
    r0 = *(u64 *)(r11 +40)
    r6 += r1
    r6 += r2
    r6 += r3
    r6 += r4
    r6 += r5
    r6 += r7
    r6 += r8
    r6 += r9
    r1 = r0
    call bpf_dynptr_size
    r0 += r6
    exit
