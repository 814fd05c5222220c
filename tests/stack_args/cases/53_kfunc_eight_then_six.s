# Scenario 53 (kbpf): kfunc calls of 8 then 6 arguments, slots re-stored
# expect: accept
# retval: 295

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    call kbpf_test_weighted8
    r6 = r0
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call kbpf_test_weighted6
    r0 += r6
    exit
