# A local dynptr over a stack buffer: Linux 6.18 lets bpf_dynptr_from_mem wrap map values only
# (so the runtime dynptr scenarios need maps or an skb)
# expect: reject EACCES
# error: Unsupported reg type fp for bpf_dynptr_from_mem data

    *(u64 *)(r10 -64) = 0
    r1 = r10
    r1 += -64
    r2 = 8
    r3 = 0
    r4 = r10
    r4 += -16
    call bpf_dynptr_from_mem
    r0 = 0
    exit
