r0 = 0
r1 = *(u32 *)(r1 + 0)
if r1 > 10 goto +1
r0 += 1
exit
