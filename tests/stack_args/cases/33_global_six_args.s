# Scenario 33 (D): global function with 6 parameters
# expect: reject EINVAL
# log: global function g has 6 > 5 args, stack args not supported

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call g
    exit

.func g, 6, global
g:
    r0 = 0
    exit
