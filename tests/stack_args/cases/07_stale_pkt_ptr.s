# Scenario 7 (U:stack_arg_stale_pkt_ptr): a packet pointer outlives bpf_skb_pull_data
# The first byte of the packet is bounds-checked, the pointer goes to the first outgoing
# stack-argument slot, then bpf_skb_pull_data may move the packet: every packet pointer,
# in registers, spilled slots and outgoing slots, is dropped, so the call finds argument 6
# missing.
# prog-type: tc
# expect: reject EFAULT
# error: callee expects 6 args, stack arg1 is not initialized

    r6 = r1
    r7 = *(u32 *)(r6 +76)
    r8 = *(u32 *)(r6 +80)
    r2 = r7
    r2 += 8
    if r2 > r8 goto out
    *(u64 *)(r11 -8) = r7
    r1 = r6
    r2 = 0
    call bpf_skb_pull_data
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call deref6
out:
    r0 = 0
    exit

.func deref6, 6
deref6:
    r6 = *(u64 *)(r11 +8)
    r0 = *(u8 *)(r6 +0)
    exit
