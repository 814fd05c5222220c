# Scenario 31 (D): scenario 1 on the interpreter in kernel-compatible mode
# expect: accept
# retval: 21
# kernel-compat-interp: stack args are not supported in non-JITed programs

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call sub6
    exit

.func sub6, 6
sub6:
    r0 = *(u64 *)(r11 +8)
    r0 += r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    exit
