# Scenario 54 (kbpf): kfunc call reuses slots without re-storing
# expect: reject EFAULT
# error: callee expects 7 args, stack arg1 is not initialized

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    call kbpf_test_weighted7
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call kbpf_test_weighted7
    exit
