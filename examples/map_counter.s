# Counts its runs in an array map and keeps, in a hash map keyed by the input's first byte, the
# sum of the input's second bytes. The input is 4 bytes, declared below (`--mem HEX` replaces
# it; verify with a 4-byte context: `kbpf verify --prog-type mem --ctx-size 4`). Returns the new
# run count.
#   kbpf run --dump-maps examples/map_counter.s           # 0x1

.mem 61 02 00 00                    # key 0x61, amount 2

.map runs, array, 4, 8, 1
.map sums, hash, 4, 8, 16

    r6 = r1                         # input buffer
    # runs[0] += 1
    r1 = 0
    *(u32 *)(r10 -4) = r1
    r2 = r10
    r2 += -4
    r1 = runs ll
    call bpf_map_lookup_elem
    if r0 == 0 goto fail
    r1 = 1
    lock *(u64 *)(r0 +0) += r1
    r8 = *(u64 *)(r0 +0)
    # key = input[0], amount = input[1]
    r1 = *(u8 *)(r6 +0)
    *(u32 *)(r10 -8) = r1
    r7 = *(u8 *)(r6 +1)
    r2 = r10
    r2 += -8
    r1 = sums ll
    call bpf_map_lookup_elem
    if r0 == 0 goto insert
    r1 = *(u64 *)(r0 +0)
    r1 += r7
    *(u64 *)(r0 +0) = r1
    goto done
insert:
    *(u64 *)(r10 -16) = r7
    r1 = sums ll
    r2 = r10
    r2 += -8
    r3 = r10
    r3 += -16
    r4 = 1                          # BPF_NOEXIST
    call bpf_map_update_elem
    if r0 != 0 goto fail
done:
    r0 = r8
    exit
fail:
    r0 = -1
    exit
