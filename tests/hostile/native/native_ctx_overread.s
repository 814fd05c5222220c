; A context read far past any input the caller passes.
r0 = *(u64 *)(r1 + 4096)
exit
