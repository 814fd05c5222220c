# Scenario 7.1 (U(stack_arg.c):test_two_callees): a global function calls foo1 (10 args) and foo2 (12 args); 55 + 78
# expect: accept
# retval: 133

    call g
    exit

.func g, 0, global
g:
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
    call foo1
    r6 = r0
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
    *(u64 *)(r11 -48) = 11
    *(u64 *)(r11 -56) = 12
    call foo2
    r0 += r6
    exit

.func foo1, 10
foo1:
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
    r1 = *(u64 *)(r11 +40)
    r0 += r1
    exit

.func foo2, 12
foo2:
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
    r1 = *(u64 *)(r11 +40)
    r0 += r1
    r1 = *(u64 *)(r11 +48)
    r0 += r1
    r1 = *(u64 *)(r11 +56)
    r0 += r1
    exit
