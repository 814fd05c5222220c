; expect: run-error
; attacks: bpf_iter_num_next argument 1 (iterator) is just past the input buffer
; input: plain 64

    r6 = r1
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    r9 = r6
    r9 += 64
    r1 = r9
    call bpf_iter_num_next
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
