# Scenario 25 (D): 7-arg callee reads a third slot
# expect: reject EACCES
# error: invalid read from stack arg off 24 depth 16

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    call greedy7
    exit

.func greedy7, 7
greedy7:
    r0 = *(u64 *)(r11 +24)
    exit
