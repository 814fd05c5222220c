# Scenario 37 (D): a 32-bit store through r11 is not a stack-argument form
# expect: reject EINVAL
# error: R11 is invalid

    r1 = 1
    *(u32 *)(r11 -8) = r1
    r0 = 0
    exit
