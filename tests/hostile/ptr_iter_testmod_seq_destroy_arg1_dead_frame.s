; expect: run-error
; attacks: bpf_iter_testmod_seq_destroy argument 1 (iterator) is the stack of a returned subprogram
; input: plain 64

    r6 = r1
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    call dead
    r9 = r0
    r1 = r9
    call bpf_iter_testmod_seq_destroy
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
