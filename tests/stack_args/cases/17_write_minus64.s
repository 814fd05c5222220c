# Scenario 17 (D): slot 8 does not exist
# expect: reject EINVAL
# error: stack arg write offset -64 exceeds max 7 stack args

    *(u64 *)(r11 -64) = 1
    r0 = 0
    exit
