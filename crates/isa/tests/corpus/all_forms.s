# Every BPF instruction form that LLVM 19 (llvm-mc-19 -triple=bpfel -mcpu=v4) assembles,
# in LLVM's spelling. tests/llvm_mc.rs assembles it with llvm-mc-19 and with kbpf and
# compares the bytes; tests/golden.rs prints it in both syntaxes.
entry:
# ALU64
	r0 += r3
	r1 += 1
	r1 -= r4
	r2 -= -1
	r2 *= r5
	r3 *= 7
	r3 /= r6
	r4 /= 2147483647
	r4 s/= r7
	r5 s/= -2147483648
	r5 |= r8
	r6 |= 42
	r6 &= r9
	r7 &= 3
	r7 <<= r0
	r8 <<= 31
	r8 >>= r1
	r9 >>= 5
	r9 %= r2
	r0 %= 100
	r0 s%= r3
	r1 s%= -7
	r1 ^= r4
	r2 ^= 255
	r2 = r5
	r3 = -3
	r3 s>>= r6
	r4 s>>= 12
	r1 = -r1
	r2 = (s8)r3
	r2 = (s16)r3
	r2 = (s32)r3
# ALU32
	w0 += w3
	w1 += 1
	w1 -= w4
	w2 -= -1
	w2 *= w5
	w3 *= 7
	w3 /= w6
	w4 /= 2147483647
	w4 s/= w7
	w5 s/= -2147483648
	w5 |= w8
	w6 |= 42
	w6 &= w9
	w7 &= 3
	w7 <<= w0
	w8 <<= 31
	w8 >>= w1
	w9 >>= 5
	w9 %= w2
	w0 %= 100
	w0 s%= w3
	w1 s%= -7
	w1 ^= w4
	w2 ^= 255
	w2 = w5
	w3 = -3
	w3 s>>= w6
	w4 s>>= 12
	w1 = -w1
	w2 = (s8)w3
	w2 = (s16)w3
# byte order
	r4 = le16 r4
	r4 = le32 r4
	r4 = le64 r4
	r4 = be16 r4
	r4 = be32 r4
	r4 = be64 r4
	r4 = bswap16 r4
	r4 = bswap32 r4
	r4 = bswap64 r4
	r1 = addr_space_cast(r2, 1, 0)
	r3 = addr_space_cast(r4, 0, 1)
# 64-bit constants and pseudo loads
	r5 = 0 ll
	r5 = 1 ll
	r5 = -1 ll
	r5 = 0x123456789 ll
	r5 = 0x7fffffffffffffff ll
	r5 = -9223372036854775808 ll
	r5 = 0xffffffff ll
	ld_pseudo r1, 1, 3
	ld_pseudo r2, 2, 6
	ld_pseudo r3, 3, 9
	ld_pseudo r4, 4, 12
	ld_pseudo r5, 5, 15
	ld_pseudo r6, 6, 18
# loads and stores
	w1 = *(u8 *)(r2 + 3)
	w1 = *(u8 *)(r10 - 8)
	*(u8 *)(r10 - 16) = w3
	*(u8 *)(r1 + 32767) = w3
	*(u8 *)(r10 - 32768) = -5
	*(u8 *)(r1 + 0) = 7
	w1 = *(u16 *)(r2 + 3)
	w1 = *(u16 *)(r10 - 8)
	*(u16 *)(r10 - 16) = w3
	*(u16 *)(r1 + 32767) = w3
	*(u16 *)(r10 - 32768) = -5
	*(u16 *)(r1 + 0) = 7
	w1 = *(u32 *)(r2 + 3)
	w1 = *(u32 *)(r10 - 8)
	*(u32 *)(r10 - 16) = w3
	*(u32 *)(r1 + 32767) = w3
	*(u32 *)(r10 - 32768) = -5
	*(u32 *)(r1 + 0) = 7
	r1 = *(u64 *)(r2 + 3)
	r1 = *(u64 *)(r10 - 8)
	*(u64 *)(r10 - 16) = r3
	*(u64 *)(r1 + 32767) = r3
	*(u64 *)(r10 - 32768) = -5
	*(u64 *)(r1 + 0) = 7
	r1 = *(s8 *)(r2 - 4)
	r1 = *(s16 *)(r2 - 4)
	r1 = *(s32 *)(r2 - 4)
	*(u64 *)(r11 - 8) = r1
	*(u64 *)(r11 - 16) = 4
	r1 = *(u64 *)(r11 + 8)
# atomics
	lock *(u32 *)(r1 + 8) += w2
	lock *(u32 *)(r1 + 8) |= w2
	lock *(u32 *)(r1 + 8) &= w2
	lock *(u32 *)(r1 + 8) ^= w2
	w3 = atomic_fetch_add((u32 *)(r10 - 8), w3)
	w3 = atomic_fetch_or((u32 *)(r10 - 8), w3)
	w3 = atomic_fetch_and((u32 *)(r10 - 8), w3)
	w3 = atomic_fetch_xor((u32 *)(r10 - 8), w3)
	lock *(u64 *)(r1 + 8) += r2
	lock *(u64 *)(r1 + 8) |= r2
	lock *(u64 *)(r1 + 8) &= r2
	lock *(u64 *)(r1 + 8) ^= r2
	r3 = atomic_fetch_add((u64 *)(r10 - 8), r3)
	r3 = atomic_fetch_or((u64 *)(r10 - 8), r3)
	r3 = atomic_fetch_and((u64 *)(r10 - 8), r3)
	r3 = atomic_fetch_xor((u64 *)(r10 - 8), r3)
	r2 = xchg_64(r10 - 8, r2)
	w2 = xchg32_32(r10 - 16, w2)
	r0 = cmpxchg_64(r10 - 8, r0, r2)
	w0 = cmpxchg32_32(r10 - 16, w0, w3)
# legacy packet loads
	r0 = *(u8 *)skb[12]
	r0 = *(u8 *)skb[r3]
	r0 = *(u16 *)skb[12]
	r0 = *(u16 *)skb[r3]
	r0 = *(u32 *)skb[12]
	r0 = *(u32 *)skb[r3]
# jumps
	if r1 == r2 goto +0
	if r3 == 0 goto -1
	if r1 != r2 goto +1
	if r3 != -1 goto -2
	if r1 > r2 goto +2
	if r3 > 42 goto -3
	if r1 >= r2 goto +3
	if r3 >= 2147483647 goto -4
	if r1 < r2 goto +4
	if r3 < -2147483648 goto -5
	if r1 <= r2 goto +5
	if r3 <= 1 goto -6
	if r1 & r2 goto +6
	if r3 & 16 goto -7
	if r1 s> r2 goto +7
	if r3 s> -5 goto -8
	if r1 s>= r2 goto +8
	if r3 s>= 5 goto -9
	if r1 s< r2 goto +9
	if r3 s< -100 goto -10
	if r1 s<= r2 goto +10
	if r3 s<= 100 goto -11
	if r4 == 0 goto next_r
next_r:
	if w1 == w2 goto +0
	if w3 == 0 goto -1
	if w1 != w2 goto +1
	if w3 != -1 goto -2
	if w1 > w2 goto +2
	if w3 > 42 goto -3
	if w1 >= w2 goto +3
	if w3 >= 2147483647 goto -4
	if w1 < w2 goto +4
	if w3 < -2147483648 goto -5
	if w1 <= w2 goto +5
	if w3 <= 1 goto -6
	if w1 & w2 goto +6
	if w3 & 16 goto -7
	if w1 s> w2 goto +7
	if w3 s> -5 goto -8
	if w1 s>= w2 goto +8
	if w3 s>= 5 goto -9
	if w1 s< w2 goto +9
	if w3 s< -100 goto -10
	if w1 s<= w2 goto +10
	if w3 s<= 100 goto -11
	if w4 == 0 goto next_w
next_w:
	goto +1
	goto -1
	goto entry
	gotol +5
	gotol -7
	gotol entry
	may_goto +2
	may_goto entry
# calls
	call 1
	call 7
	call 211
	call sub
	callx r5
	exit
sub:
	call entry
	r0 = 0
	exit
