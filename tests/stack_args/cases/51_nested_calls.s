# Scenario 51 (kbpf): nested calls, each level re-storing its own slots
# expect: accept
# retval: 28

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    call outer7
    exit

.func outer7, 7
outer7:
    r6 = *(u64 *)(r11 +8)
    r7 = *(u64 *)(r11 +16)
    *(u64 *)(r11 -8) = r7
    call sub6
    r0 += r6
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
