# kbpf extension (--allow-global-stack-args): a global function's stack parameter is a
# 64-bit integer, so passing a stack pointer through r11 is refused at the call like a register
# argument would be
# expect: reject EINVAL
# allow-global-stack-args: yes
# error: Caller passes invalid args into func#1 ('g6')
# log: *(R11-8) is not a scalar

    *(u64 *)(r10 -8) = 0
    r6 = r10
    r6 += -8
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = r6
    call g6
    exit

.func g6, 6, global
g6:
    r0 = *(u64 *)(r11 +8)
    exit
