# Scenario 10 (U:stack_arg_shared_store): both branches store before the call
# expect: accept
# retval: 0

    call 7
    r6 = r0
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -16) = 20
    if r6 > 100 goto other
    *(u64 *)(r11 -8) = 10
    call sub7
    r0 = 0
    exit
other:
    *(u64 *)(r11 -8) = 11
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
