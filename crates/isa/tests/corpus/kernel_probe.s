r6 = r1
r0 = *(u16 *)skb[r7 + -3]
r0 = *(u32 *)skb[-5]
r0 = *(u32 *)skb[r2 + 100]
w1 = 0x7fffffff
r1 = -2147483648
w3 = w4
r3 = r4
w1 += 1
w1 -= w2
w1 *= -3
w1 /= 7
w1 |= w2
w1 &= 255
w1 <<= 31
w1 >>= w2
w1 %= 3
w1 ^= -1
w1 s>>= 5
r1 s/= -3
r1 s%= -3
w1 s/= 5
w1 s%= 5
r1 = le16 r1
r1 = le64 r1
r1 = be32 r1
r1 = be64 r1
r1 = bswap16 r1
r1 = bswap32 r1
if r1 == 0 goto +1
if r1 != -1 goto -2
if r1 < 0x80000000 goto +3
if r1 >= 5 goto +0
if r1 <= r2 goto +0
if r1 s>= r3 goto +0
if r1 s<= 4 goto +0
if r1 s< -1 goto +0
if w1 != w2 goto +0
if w1 > 3 goto +0
if w1 >= w3 goto +0
if w1 < w3 goto +0
if w1 <= 3 goto +0
if w1 & w3 goto +0
if w1 & 3 goto +0
if w1 s> w3 goto +0
if w1 s>= -3 goto +0
if w1 s<= w3 goto +0
if r1 > 9 goto L1
goto -1
L1: if r1 > 10 goto L2
gotol -2
L2:
may_goto +0
may_goto -3
call sub
call 1
call 5000
call kernel-function#65472
r1 = 0xffffffffffffffff ll
r1 = 0 ll
*(u32 *)(r10 -4) = -1
*(u16 *)(r10 -6) = 0xffff
*(u8 *)(r10 -7) = 255
*(u32 *)(r10 -12) = r1
r1 = *(u32 *)(r10 -12)
r1 = *(u64 *)(r10 +0)
*(u64 *)(r10 -16) = r1
lock *(u64 *)(r10 -16) &= r1
lock *(u64 *)(r10 -16) |= r1
lock *(u32 *)(r10 -16) += r1
lock *(u32 *)(r10 -16) &= r1
lock *(u32 *)(r10 -16) ^= r1
r1 = atomic64_fetch_or((u64 *)(r10 -16), r1)
r1 = atomic64_fetch_xor((u64 *)(r10 -16), r1)
r1 = atomic64_fetch_and((u64 *)(r10 -16), r1)
r1 = atomic_fetch_add((u32 *)(r10 -16), r1)
r1 = atomic_fetch_or((u32 *)(r10 -16), r1)
r1 = atomic_fetch_xor((u32 *)(r10 -16), r1)
r1 = load_acquire((u16 *)(r10 -16))
store_release((u16 *)(r10 -16), r1)
store_release((u32 *)(r10 -16), r1)
r1 = addr_space_cast(r2, 1, 0)
r0 = 0
exit
sub:
r0 = 0
exit
