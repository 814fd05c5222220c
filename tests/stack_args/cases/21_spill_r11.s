# Scenario 21 (D): r11 stored to the stack like an ordinary register
# expect: reject EINVAL
# error: R11 is invalid

    *(u64 *)(r10 -8) = r11
    r0 = 0
    exit
