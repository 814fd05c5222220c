; soundness violation, OutsideBounds at 15: r8 before insn 15: value 0x42af outside u64=[0x60aa42af,0x60aac2ae] s64=[1621770927,1621803694] u32=[0x60aa42af,0x60aac2ae] s32=[1621770927,1621803694] var_off=(0x60aa0000; 0xffff) (step 24 of the run, on its path)
; seed 20261208 program 789958 (cargo xtask soundness)
; Fixed in the verifier: a sign-extending move cleared the scalar id of its result but left
; the source's link offset behind; a later copy gave that register a fresh id with the stale
; offset, and sync_linked_regs took it for a link with the same offset as a `r1 -= c` of the
; same id, so a branch on r1 copied r1's range into it. Offsets count only with the link flag
; (crates/verifier/src/check/branch.rs); the running kernel keeps the range.
       0:	r6 = r1
       1:	w2 = *(u32 *)(r6 + 92)
       2:	w5 = *(u16 *)(r6 + 202)
       3:	r1 = r5
       4:	call pc+11
       5:	r8 = r0
       6:	r2 = 839364575
       7:	w3 = *(u32 *)(r6 + 184)
       8:	w4 = *(u32 *)(r6 + 104)
       9:	r5 = *(u64 *)(r6 + 224)
      10:	if r0 <= 65535 goto +1
      11:	r1 = r10
      12:	r2 = *(u64 *)(r6 + 96)
      13:	r1 = r8
      14:	call pc+1
      15:	exit
      16:	r0 = r1
      17:	r1 -= -1621770927
      18:	if r1 == r2 goto +1
      19:	r0 = (s16)r1
      20:	exit
