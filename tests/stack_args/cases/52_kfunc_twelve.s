# Scenario 52 (kbpf): 12-argument kfunc written as a Rust extern "C" function
# expect: accept
# retval: 650

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = 10
    *(u64 *)(r11 -48) = 11
    *(u64 *)(r11 -56) = 12
    call kbpf_test_weighted12
    exit
