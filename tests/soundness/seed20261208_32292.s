; soundness violation, OutsideBounds at 12: r7 before insn 12: value 0x0 outside u64=[0x3c,0x3c] s64=[60,60] u32=[0x3c,0x3c] s32=[60,60] var_off=(0x3c; 0x0) (step 10 of the run, on its path)
; seed 20261208 program 32292 (cargo xtask soundness)
; Not a verifier bug: a false positive of the first path walk, which pruned. `maybe_fork_scalars`
; (a [-1, 0] scalar and-ed with a constant) makes two states on one path and the second was
; pruned against the first, so only one was recorded. Kept so the path walk stays unpruned.
       0:	r6 = r1
       1:	r0 = -1827057987
       2:	r2 = *(s32 *)(r6 + 244)
       3:	w3 = *(u16 *)(r6 + 132)
       4:	r7 = *(s8 *)(r6 + 238)
       5:	if w2 s< w0 goto +2
       6:	if r2 s>= r7 goto +1
       7:	w0 &= w0
       8:	r7 s>>= 19
       9:	r7 &= 60
      10:	if r2 > 256 goto +1
      11:	if w3 > 2142519181 goto +0
      12:	exit
