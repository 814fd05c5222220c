# kbpf extension (--allow-global-stack-args): a global function with 7 parameters, verified on
# its own with every parameter an unknown scalar (stack-args.md §8); 1+2+3+4+5 + 6*7 = 57
# expect: accept
# allow-global-stack-args: yes
# retval: 57
# log: Func#1 ('g7') is safe for any args that match its prototype

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    call g7
    exit

.func g7, 7, global
g7:
    r6 = *(u64 *)(r11 +8)
    r7 = *(u64 *)(r11 +16)
    r6 *= r7
    r0 = r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    r0 += r6
    exit
