; Arithmetic on a context pointer then a load: out of the verified context.
r1 += 100000
r0 = *(u8 *)(r1 + 0)
exit
