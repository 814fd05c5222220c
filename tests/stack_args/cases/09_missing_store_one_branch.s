# Scenario 9 (U:stack_arg_missing_store_one_branch): one branch misses the arg6 store
# expect: reject EFAULT
# error: callee expects 7 args, stack arg1 is not initialized

    call 7
    r6 = r0
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -16) = 20
    if r6 > 100 goto skip
    *(u64 *)(r11 -8) = 10
    call sub7
    r0 = 0
    exit
skip:
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
