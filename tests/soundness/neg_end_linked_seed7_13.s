; soundness violation, OutsideBounds at 10: r0 before insn 10: value 0xd453274e outside u64=[0x0,0xffff] s64=[0,65535] u32=[0x0,0xffff] s32=[0,65535] var_off=(0x0; 0xffff)
; seed 7 program 13 (cargo xtask soundness)
       0:	r7 = 1 ll
       2:	w7 /= 2
       3:	w7 += -732747954
       4:	r1 = r7
       5:	call pc+1
       6:	exit
       7:	r0 = r1
       8:	r1 = le16 r1
       9:	if r1 < 37 goto +0
      10:	exit
