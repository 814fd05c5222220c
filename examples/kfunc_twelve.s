# A kfunc with 12 u64 parameters (kbpf_test_weighted12 of the test set, an ordinary
# extern "C" Rust function): arguments 6..12 are stored through r11 before the call.
# It returns sum(k * a_k) = 1*1 + 2*2 + ... + 12*12 = 650.

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
