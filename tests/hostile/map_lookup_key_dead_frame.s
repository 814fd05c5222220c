; expect: run-error
; attacks: bpf_map_lookup_elem: the key is the stack of a returned subprogram
; input: plain 64

.map h, hash, 4, 8, 4
.map jmp, prog_array, 4, 4, 2
.map t, array, 4, 16, 1, timer=0
.map v, array, 4, 16, 1

    r6 = r1
    call dead
    r9 = r0
    r1 = h ll
    r2 = r9
    call bpf_map_lookup_elem
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
