; expect: run-error
; attacks: bpf_timer_init: the timer is a stack pointer
; input: plain 64

.map h, hash, 4, 8, 4
.map jmp, prog_array, 4, 4, 2
.map t, array, 4, 16, 1, timer=0
.map v, array, 4, 16, 1

    r6 = r1
    r9 = r10
    r9 += -16
    r1 = r9
    r2 = t ll
    r3 = 1
    call bpf_timer_init
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
