; expect: run-error
; attacks: bpf_dynptr_from_xdp after the program points the context's data at a wild address
; input: xdp 64

    r6 = r1
    r1 = 0xdead0000 ll
    *(u64 *)(r6 +24) = r1
    r7 = r6
    r1 = r7
    r2 = 0
    r3 = r10
    r3 += -16
    call bpf_dynptr_from_xdp
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
