# Scenario 6 (U:stack_arg_release_ref): a released socket left in an outgoing slot
# A tc program looks a TCP socket up, parks the (NULL-checked) reference in the first
# outgoing stack-argument slot and releases it before the call. Releasing the reference
# invalidates every copy of the pointer, the slot included, so the call finds argument 6
# missing.
# prog-type: tc
# expect: reject EFAULT
# error: callee expects 6 args, stack arg1 is not initialized

    r6 = r1
    # a zeroed bpf_sock_tuple (ipv4: 12 bytes) on the stack
    *(u64 *)(r10 -8) = 0
    *(u64 *)(r10 -16) = 0
    r2 = r10
    r2 += -16
    r3 = 12
    r4 = -1
    r5 = 0
    call bpf_sk_lookup_tcp
    if r0 == 0 goto out
    *(u64 *)(r11 -8) = r0
    r1 = r0
    call bpf_sk_release
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
    r0 = *(u32 *)(r6 +4)
    exit
