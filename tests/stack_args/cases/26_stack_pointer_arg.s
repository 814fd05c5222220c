# Scenario 26 (D): pointer to the caller's stack as arg6
# expect: accept
# retval: 5

    r6 = 5
    *(u64 *)(r10 -8) = r6
    r6 = r10
    r6 += -8
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = r6
    call deref6
    exit

.func deref6, 6
deref6:
    r1 = *(u64 *)(r11 +8)
    r0 = *(u64 *)(r1 +0)
    exit
