# Scenario 22 (D): an incoming-argument load whose destination is r11
# expect: reject EINVAL
# error: R11 is invalid

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
    r11 = *(u64 *)(r11 +8)
    r0 = 0
    exit
