# Scenario 7.1 (U(stack_arg.c):test_bpf2bpf_mix_stack_args): args 8 and 10 are pointers, 9 a scalar; 1+..+7 + p->x0 (10) + 8 + q->x1 (20)
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
    call mix10
    exit

.func mix10, 10
mix10:
    r6 = *(u64 *)(r11 +8)
    r7 = *(u64 *)(r11 +16)
    r8 = *(u64 *)(r11 +24)
    r9 = *(u64 *)(r11 +32)
    r0 = *(u64 *)(r11 +40)
    r0 = *(u32 *)(r0 +4)
    r0 += r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    r0 += r6
    r0 += r7
    r0 += r9
    r8 = *(u32 *)(r8 +0)
    r0 += r8
    exit
