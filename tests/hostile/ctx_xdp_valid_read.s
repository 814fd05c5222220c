; expect: value
; attacks: control: bpf_dynptr_from_xdp on a test-run context, then bpf_dynptr_read
; input: xdp 64

    r6 = r1
    r7 = r6
    r1 = r7
    r2 = 0
    r3 = r10
    r3 += -16
    call bpf_dynptr_from_xdp
    r7 = r0
    r1 = r10
    r1 += -64
    r2 = 8
    r3 = r10
    r3 += -16
    r4 = 0
    r5 = 0
    call bpf_dynptr_read
    r0 += r7
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
