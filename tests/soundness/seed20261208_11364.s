; soundness violation, OutsideBounds at 8: r8 before insn 8: value 0x3ffffffff outside u64=[0x0,0xffffffff] s64=[0,4294967295] u32=[0x0,0xffffffff] s32=[-2147483648,2147483647] var_off=(0x0; 0xffffffff) (step 9 of the run, on its path)
; seed 20261208 program 11364 (cargo xtask soundness)
; Fixed in the verifier: an ALU32 add or sub of a constant kept the register's scalar id as a
; 32-bit link (ADD_CONST32) although the register's value did not fit 32 bits before the op; the
; running 6.18 clears the id then (its log shows it) and links only a 32-bit-wide base; a branch
; on the 32-bit result refined the 64-bit register it was copied from to 32 bits
; (crates/verifier/src/check/alu.rs).
       0:	r6 = r1
       1:	r7 = *(u64 *)(r6 + 56)
       2:	call pc+7
       3:	r2 = *(u64 *)(r6 + 168)
       4:	r8 = r2
       5:	w2 -= -1662973194
       6:	if w2 > 63 goto +1
       7:	w2 = w2
       8:	r8 -= r7
       9:	exit
      10:	r0 = r1
      11:	exit
