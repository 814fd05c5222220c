# Tail calls through a prog array, with the kernel's counting: an index beyond max_entries
# falls through uncounted, an empty slot falls through but counts, and once 33 attempts
# (MAX_TAIL_CALL_CNT) were counted the next one falls through. main spends one attempt on the
# empty slot 0, then add_one tail-calls itself until the budget is gone: it runs 32 times and
# returns that count.
#   kbpf run --dump-maps examples/tail_calls.s            # 0x20 (32)

.map jmp, prog_array, 4, 4, 2
.mapdata jmp, 1, add_one
.map hops, array, 4, 8, 1

    r6 = r1
    r1 = r6
    r2 = jmp ll
    r3 = 0                          # empty slot: falls through (counts as an attempt)
    call bpf_tail_call
    r1 = r6
    r2 = jmp ll
    r3 = 5                          # beyond max_entries: falls through, not counted
    call bpf_tail_call
    r1 = r6
    r2 = jmp ll
    r3 = 1
    call bpf_tail_call
    r0 = -1                         # not reached
    exit

.prog add_one
    r6 = r1
    r1 = map_value(hops, 0)
    r2 = *(u64 *)(r1 +0)
    r2 += 1
    *(u64 *)(r1 +0) = r2
    r1 = r6
    r2 = jmp ll
    r3 = 1
    call bpf_tail_call
    # the tail-call budget is spent: report how often we ran
    r1 = map_value(hops, 0)
    r0 = *(u64 *)(r1 +0)
    exit
