# Scenario 20 (D): register 12 does not exist (`r12 = 0` written as a raw slot: mov64 imm, dst 12)
# expect: reject EINVAL
# error: R12 is invalid

    .insn 0xb7, 12, 0, 0, 0
    exit
