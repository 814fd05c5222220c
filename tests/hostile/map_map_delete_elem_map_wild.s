; expect: run-error
; attacks: bpf_map_delete_elem: the map is a wild address
; input: plain 64

.map h, hash, 4, 8, 4
.map jmp, prog_array, 4, 4, 2
.map t, array, 4, 16, 1, timer=0
.map v, array, 4, 16, 1

    r6 = r1
    *(u32 *)(r10 -4) = 0
    r7 = r10
    r7 += -4
    r9 = 0xdead0000 ll
    r1 = r9
    r2 = r7
    call bpf_map_delete_elem
    r0 = 0
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
