# Scenario 7.1 (U(stack_arg.c):test_bpf2bpf_ptr_stack_arg): static function, arg10 = pointer to {10, 20} on the caller's stack; 1+..+9 + 10 + 20
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
    call ptr10
    exit

.func ptr10, 10
ptr10:
    r6 = *(u64 *)(r11 +40)
    r0 = r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    r1 = *(u64 *)(r11 +8)
    r0 += r1
    r1 = *(u64 *)(r11 +16)
    r0 += r1
    r1 = *(u64 *)(r11 +24)
    r0 += r1
    r1 = *(u64 *)(r11 +32)
    r0 += r1
    r1 = *(u32 *)(r6 +0)
    r0 += r1
    r1 = *(u32 *)(r6 +4)
    r0 += r1
    exit
