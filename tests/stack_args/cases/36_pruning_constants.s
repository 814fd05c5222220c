# Scenario 36 (D): two paths store different constants to arg6, the callee uses it only as a
# scalar: accepted (the second path may be pruned since the slot is an imprecise scalar).
# expect: accept
# retval: 21

    call 7
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    if r0 > 0 goto other
    *(u64 *)(r11 -8) = 6
    goto join
other:
    *(u64 *)(r11 -8) = 6
join:
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
