# Scenario 18 (D): r11 as an ALU destination
# expect: reject EINVAL
# error: R11 is invalid

    r11 = 1
    r0 = 0
    exit
