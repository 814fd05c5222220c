; expect: run-error
; attacks: a store 8 bytes before a map value
; input: plain 64

.map h, hash, 4, 8, 4
.map jmp, prog_array, 4, 4, 2
.map t, array, 4, 16, 1, timer=0
.map v, array, 4, 16, 1

    r6 = r1
    *(u32 *)(r10 -4) = 0
    r2 = r10
    r2 += -4
    r1 = v ll
    call bpf_map_lookup_elem
    r8 = r0
    if r8 == 0 goto +1
    *(u64 *)(r8 -8) = 1
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
