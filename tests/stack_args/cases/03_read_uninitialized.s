# Scenario 3 (U:stack_arg_read_uninitialized): incoming load in main
# expect: reject EACCES
# error: invalid read from stack arg off 8 depth 0

    r0 = *(u64 *)(r11 +8)
    r0 = 0
    exit
