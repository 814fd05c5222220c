# Scenario 28 (D): a helper call invalidates the slots
# expect: reject EFAULT
# error: callee expects 6 args, stack arg1 is not initialized

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call 7
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
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
