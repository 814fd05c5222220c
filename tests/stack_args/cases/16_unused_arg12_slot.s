# Scenario 16 (D): arg12 slot written, no call
# expect: reject EINVAL
# error: func#0 writes 7 stack arg slots, but calls only require 0

    *(u64 *)(r11 -56) = 1
    r0 = 0
    exit
