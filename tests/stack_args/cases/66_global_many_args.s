# Scenario 7.1 (U(stack_arg.c):test_global_many_args): global g(1, 2, 3) calls a static 10-argument sum with (a, b, c, 4, .., 10)
# expect: accept
# retval: 55

    r1 = 1
    r2 = 2
    r3 = 3
    call g3
    exit

.func g3, 3, global
g3:
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = 10
    call sum10
    exit

.func sum10, 10
sum10:
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
