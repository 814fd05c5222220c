# Scenario 50 (kbpf): 12 arguments of mixed widths (u8/u16/u32 values, sign-extended negatives)
# expect: accept
# retval: 0x123456789abc

    r1 = 1
    w2 = 2
    r3 = 3
    w4 = 0xff
    w4 &= 4
    r5 = 5
    w6 = 6
    *(u64 *)(r11 -8) = r6
    *(u64 *)(r11 -16) = 7
    r6 = 8
    *(u64 *)(r11 -24) = r6
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = 10
    w6 = 11
    *(u64 *)(r11 -48) = r6
    *(u64 *)(r11 -56) = 12
    call digits
    exit

.func digits, 12
digits:
    r0 = r1
    r0 <<= 4
    r0 |= r2
    r0 <<= 4
    r0 |= r3
    r0 <<= 4
    r0 |= r4
    r0 <<= 4
    r0 |= r5
    r1 = *(u64 *)(r11 +8)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +16)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +24)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +32)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +40)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +48)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +56)
    r0 <<= 4
    r0 |= r1
    exit
