# Scenario 57 (D): a pointer passed where a kfunc expects a scalar, in a slot: the argument
# is named *(R11-8).
# expect: reject EINVAL
# error: *(R11-8) is not a scalar

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = r10
    *(u64 *)(r11 -16) = 7
    call kbpf_test_weighted7
    exit
