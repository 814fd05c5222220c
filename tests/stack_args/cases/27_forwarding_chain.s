# Scenario 27 (D): A loads its arg6 first, then forwards it to B
# expect: accept
# retval: 22

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call fwd6
    exit

.func fwd6, 6
fwd6:
    r6 = *(u64 *)(r11 +8)
    r6 += 1
    *(u64 *)(r11 -8) = r6
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
