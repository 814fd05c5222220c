; soundness violation, OutsideBounds at 15: r5 before insn 15: value 0x0 outside u64=[0xcec0000000000000,0xcec0000000000000] s64=[-3548836506367950848,-3548836506367950848] u32=[0x0,0x0] s32=[0,0] var_off=(0xcec0000000000000; 0x0) (step 30 of the run, on its path)
; seed 20261208 program 33884 (cargo xtask soundness)
; Not a verifier bug: a false positive of the first path walk, which pruned. `maybe_fork_scalars`
; (a [-1, 0] scalar and-ed with a constant) makes two states on one path and the second was
; pruned against the first, so only one was recorded. Kept so the path walk stays unpruned.
       0:	r6 = r1
       1:	w0 = *(u16 *)(r6 + 98)
       2:	r5 = *(s32 *)(r6 + 60)
       3:	w7 = *(u16 *)(r6 + 216)
       4:	w8 = *(u32 *)(r6 + 156)
       5:	r9 = 0
       6:	r5 s>>= 16
       7:	r9 += 1
       8:	if r9 s< 5 goto -3
       9:	r1 = r10
      10:	w5 &= 1961739067
      11:	if r8 <= r7 goto +0
      12:	r9 = 0
      13:	r5 <<= 27
      14:	r9 += 1
      15:	if r9 != 3 goto -3
      16:	exit
