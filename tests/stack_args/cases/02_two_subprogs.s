# Scenario 2 (U:stack_arg_two_subprogs): two callees with different argument counts
# expect: accept
# retval: 90

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 10
    call sub6
    r6 = r0
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -16) = 30
    *(u64 *)(r11 -8) = 20
    call sub7
    r0 += r6
    exit

.func sub6, 6
sub6:
    r0 = *(u64 *)(r11 +8)
    r0 += r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    exit

.func sub7, 7
sub7:
    r0 = *(u64 *)(r11 +8)
    r6 = *(u64 *)(r11 +16)
    r0 += r6
    r0 += r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    exit
