# Scenario 4 (U:stack_arg_gap_at_minus8): arg6 slot never stored
# expect: reject EFAULT
# error: callee expects 7 args, stack arg1 is not initialized

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -16) = 30
    call sub7
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
