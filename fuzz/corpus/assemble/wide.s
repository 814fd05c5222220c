r1 = 0x123456789 ll
w0 = w1
r0 s>>= 3
exit
