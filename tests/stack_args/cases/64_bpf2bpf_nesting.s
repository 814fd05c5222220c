# Scenario 7.1 (U(stack_arg.c):test_bpf2bpf_nesting_stack_arg): outer(1..9, p) forwards (2..10, p) to inner, which sums its scalars and p's two fields: 2+..+10 + 10 + 20
# expect: accept
# retval: 84

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
    call outer10
    exit

.func outer10, 10
outer10:
    r6 = *(u64 *)(r11 +8)
    r7 = *(u64 *)(r11 +16)
    r8 = *(u64 *)(r11 +24)
    r9 = *(u64 *)(r11 +32)
    r0 = *(u64 *)(r11 +40)
    r1 += 1
    r2 += 1
    r3 += 1
    r4 += 1
    r5 += 1
    r6 += 1
    r7 += 1
    r8 += 1
    r9 += 1
    *(u64 *)(r11 -8) = r6
    *(u64 *)(r11 -16) = r7
    *(u64 *)(r11 -24) = r8
    *(u64 *)(r11 -32) = r9
    *(u64 *)(r11 -40) = r0
    call inner10
    exit

.func inner10, 10
inner10:
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
