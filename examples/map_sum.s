# Per-key running sums in a hash map (key = input[0], amount = input[1]); a sum above 8 is
# deleted again. Returns the new sum, or 1000 + the result of a second (failing) delete
# (-ENOENT = -2) after a deletion. Exercises BPF_NOEXIST, BPF_EXIST and delete errnos.
# The input is declared below (`--mem HEX` replaces it).
#   kbpf run --dump-maps examples/map_sum.s               # 0x3

.mem 61 03 00 00                    # key 0x61, amount 3

.map sums, hash, 4, 8, 4

    r6 = r1
    r1 = *(u8 *)(r6 +0)
    *(u32 *)(r10 -4) = r1
    r7 = *(u8 *)(r6 +1)
    r2 = r10
    r2 += -4
    r1 = sums ll
    call bpf_map_lookup_elem
    if r0 == 0 goto insert
    r1 = *(u64 *)(r0 +0)
    r7 += r1
    *(u64 *)(r10 -16) = r7
    r1 = sums ll
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = 2                          # BPF_EXIST
    call bpf_map_update_elem
    if r0 != 0 goto out
    if r7 > 8 goto remove
    r0 = r7
    exit
remove:
    r1 = sums ll
    r2 = r10
    r2 += -4
    call bpf_map_delete_elem
    r1 = sums ll
    r2 = r10
    r2 += -4
    call bpf_map_delete_elem
    r0 += 1000
    exit
insert:
    *(u64 *)(r10 -16) = r7
    r1 = sums ll
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = 1                          # BPF_NOEXIST
    call bpf_map_update_elem
    if r0 != 0 goto out
    r0 = r7
out:
    exit
