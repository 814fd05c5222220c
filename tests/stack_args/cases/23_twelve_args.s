# Scenario 23 (D): 12 arguments, all seven slots
# expect: accept
# retval: 78

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
    call sub12
    exit

.func sub12, 12
sub12:
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
