# Scenario 1 (U:stack_arg_6args): one stack argument
# expect: accept
# retval: 21

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call sub6
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
