; expect: run-error
; attacks: bpf_iter_testmod_seq_new argument 1 (iterator) is the top of the stack (no bytes left in the frame)
; input: plain 64

    r6 = r1
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    r9 = r10
    r1 = r9
    r2 = 7
    r3 = 2
    call bpf_iter_testmod_seq_new
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
