; r0 = r1 shares r1's id; NEG/END on r1 kept it, so the branch on r1 refined r0 too:
; kbpf accepted an out-of-bounds stack write the kernel refuses (found by cargo xtask soundness)
r6 = r1
r1 = *(u64 *)(r6 + 0)
r0 = r1
r1 = bswap16 r1
if r1 > 8 goto +4
r2 = r10
r2 += -16
r2 += r0
*(u8 *)(r2 + 0) = 0
r0 = 0
exit
