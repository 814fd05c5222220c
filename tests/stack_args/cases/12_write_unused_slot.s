# Scenario 12 (U:stack_arg_write_unused_slot): a slot no call reads
# expect: reject EINVAL
# error: func#0 writes 5 stack arg slots, but calls only require 2

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -40) = 99
    *(u64 *)(r11 -16) = 20
    *(u64 *)(r11 -8) = 10
    call sub7
    r0 = 0
    exit

.func sub7, 7
sub7:
    r0 = *(u64 *)(r11 +8)
    r6 = *(u64 *)(r11 +16)
    r0 += r6
    r0 += r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    exit
