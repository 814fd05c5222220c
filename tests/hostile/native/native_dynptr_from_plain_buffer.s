; bpf_dynptr_from_mem with a made-up pointer and size.
r1 = 0x4000
r2 = 0x100000
r3 = 0
r4 = r10
r4 += -16
call bpf_dynptr_from_mem
r0 = 0
exit
