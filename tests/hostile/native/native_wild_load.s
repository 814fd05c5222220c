; A load from a made-up address.
r1 = 0xdead0000 ll
r0 = *(u64 *)(r1 + 8)
exit
