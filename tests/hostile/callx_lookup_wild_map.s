; expect: run-error
; attacks: callx of bpf_map_lookup_elem with a wild map
; input: plain 64

    r6 = r1
    r1 = 0xdead0000 ll
    r2 = r10
    r2 += -8
    r0 = 1
    callx r0
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
