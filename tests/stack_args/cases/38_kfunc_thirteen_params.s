# Scenario 38 (D): a kfunc whose prototype has 13 parameters (kbpf's test kfunc
# kbpf_test_thirteen_args) is refused at the call
# expect: reject EINVAL
# error: Function kbpf_test_thirteen_args has 13 > 12 args

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
    call kbpf_test_thirteen_args
    exit
