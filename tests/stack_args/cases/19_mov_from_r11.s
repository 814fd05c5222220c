# Scenario 19 (D): r11 as an ALU source
# expect: reject EINVAL
# error: R11 is invalid

    r0 = r11
    exit
