; soundness violation, OutsideBounds at 16: r0 before insn 16: value 0xffffffff97fa4400 outside u64=[0x0,0xffffffff] s64=[0,4294967295] u32=[0x0,0xffffffff] s32=[-2147483648,2147483647] var_off=(0x0; 0xffffffff) (step 14 of the run, on its path)
; seed 20261208 program 21681 (cargo xtask soundness)
; Fixed in the verifier: an ALU32 add or sub of a constant kept the register's scalar id as a
; 32-bit link (ADD_CONST32) although the register's value did not fit 32 bits before the op; the
; running 6.18 clears the id then (its log shows it) and links only a 32-bit-wide base; a branch
; on the 32-bit result refined the 64-bit register it was copied from to 32 bits
; (crates/verifier/src/check/alu.rs).
       0:	r6 = r1
       1:	*(u64 *)(r10 - 64) = -1745206118
       2:	w4 = *(u32 *)(r6 + 140)
       3:	r1 = r10
       4:	r1 += -64
       5:	*(u8 *)(r1 + 0) = w4
       6:	r1 = r10
       7:	r1 += -64
       8:	r3 = *(u64 *)(r1 + 0)
       9:	r1 = r3
      10:	call pc+2
      11:	r2 = r0
      12:	exit
      13:	r0 = r1
      14:	w1 += -1767934253
      15:	if r1 < r1 goto +1
      16:	r1 = r10
      17:	exit
