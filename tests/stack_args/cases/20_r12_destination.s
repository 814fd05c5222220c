# Scenario 20 (D): register 12 does not exist (`r12 = 0` is the slot mov64 imm with dst 12)
# expect: reject EINVAL
# error: R12 is invalid

    r12 = 0
    exit
