import os
import struct
def I(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm).hex()
def mov(d, imm): return I(0xb7, d, 0, 0, imm)
def movr(d, s): return I(0xbf, d, s)
def mov32(d, imm): return I(0xb4, d, 0, 0, imm)
def add(d, imm): return I(0x07, d, 0, 0, imm)
def addr(d, s): return I(0x0f, d, s)
def ldx(sz, d, s, off): return I({1:0x71,2:0x69,4:0x61,8:0x79}[sz], d, s, off)
def stx(sz, d, s, off): return I({1:0x73,2:0x6b,4:0x63,8:0x7b}[sz], d, s, off)
def st(sz, d, off, imm): return I({1:0x72,2:0x6a,4:0x62,8:0x7a}[sz], d, 0, off, imm)
def jmp(op, d, imm, off): return I({'==':0x15,'>':0x25,'>=':0x35,'&':0x45,'!=':0x55,'s>':0x65,'s>=':0x75,'<':0xa5,'<=':0xb5,'s<':0xc5,'s<=':0xd5}[op], d, 0, off, imm)
def jmpr(op, d, s, off): return I({'==':0x1d,'>':0x2d,'>=':0x3d,'&':0x4d,'!=':0x5d,'s>':0x6d,'s>=':0x7d,'<':0xad,'<=':0xbd,'s<':0xcd,'s<=':0xdd}[op], d, s, off)
def ja(off): return I(0x05, 0, 0, off)
def call(n): return I(0x85, 0, 0, 0, n)
def callpc(off): return I(0x85, 0, 1, 0, off)
def ex(): return I(0x95)
def ldmap(d, fd): return I(0x18, d, 1, 0, fd) + I(0)
def ld64(d, v): return I(0x18, d, 0, 0, v & 0xffffffff) + I(0, 0, 0, 0, (v >> 32) & 0xffffffff)
def alu(op, d, imm, w=64):
    base={'+':0x07,'-':0x17,'*':0x27,'/':0x37,'|':0x47,'&':0x57,'<<':0x67,'>>':0x77,'%':0x97,'^':0xa7,'s>>':0xc7}[op]
    if w==32: base-=3
    return I(base, d, 0, 0, imm)
def alur(op, d, s, w=64):
    base={'+':0x0f,'-':0x1f,'*':0x2f,'/':0x3f,'|':0x4f,'&':0x5f,'<<':0x6f,'>>':0x7f,'%':0x9f,'^':0xaf,'s>>':0xcf}[op]
    if w==32: base-=3
    return I(base, d, s)
def P(*parts): return ' '.join(parts)
M='3:1:4:8:16'   # hash map fd 3 ks 4 vs 8
A='4:2:4:48:4'   # array map fd 4 ks 4 vs 48 max 4

# map lookup skeleton: key on stack at fp-8 (u32 0), r0 = lookup(map, fp-8)
def lookup(fd, keyst=None):
    return P(keyst or st(4,10,-8,0), ldmap(1,fd), movr(2,10), add(2,-8), call(1))

CASES = [
 ("ret42", "socket_filter", P(mov(0,42), ex())),
 ("uninit_r0", "socket_filter", P(ex())),
 ("uninit_r2", "socket_filter", P(movr(0,2), ex())),
 ("fp_write", "socket_filter", P(mov(10,0), ex())),
 ("ctx_u32", "socket_filter", P(ldx(4,0,1,0), ex())),
 ("ctx_bad_off", "socket_filter", P(ldx(8,0,1,1000), ex())),
 ("ctx_bad_size", "socket_filter", P(ldx(8,0,1,0), ex())),
 ("ctx_write", "socket_filter", P(mov(2,1), stx(4,1,2,0), mov(0,0), ex())),
 ("ctx_cb_write", "socket_filter", P(mov(2,1), stx(4,1,2,48), mov(0,0), ex())),
 ("ctx_modified", "socket_filter", P(add(1,8), ldx(4,0,1,0), ex())),
 ("scalar_deref", "socket_filter", P(mov(1,0), ldx(4,0,1,0), ex())),
 ("stack_spill_fill", "socket_filter", P(mov(1,5), stx(8,10,1,-8), ldx(8,0,10,-8), ex())),
 ("stack_oob", "socket_filter", P(mov(1,5), stx(8,10,1,-520), mov(0,0), ex())),
 ("stack_pos", "socket_filter", P(mov(1,5), stx(8,10,1,8), mov(0,0), ex())),
 ("stack_misaligned", "socket_filter", P(mov(1,0), stx(8,10,1,-6), mov(0,0), ex())),
 ("stack_partial", "socket_filter", P(mov(1,5), stx(4,10,1,-8), stx(1,10,1,-13), ldx(4,0,10,-8), ex())),
 ("stack_ptr_spill", "socket_filter", P(stx(8,10,1,-16), ldx(8,2,10,-16), ldx(4,0,2,0), ex())),
 ("stack_ptr_narrow_fill", "socket_filter", P(stx(8,10,1,-16), ldx(4,2,10,-16), mov(0,0), ex())),
 ("div0_imm", "socket_filter", P(mov(0,1), alu('/',0,0), ex())),
 ("div_reg", "socket_filter", P(mov(0,10), ldx(4,2,1,0), alur('/',0,2), ex())),
 ("shift_bad", "socket_filter", P(mov(0,1), alu('<<',0,64), ex())),
 ("shift32_bad", "socket_filter", P(mov(0,1), alu('<<',0,32,32), ex())),
 ("branch_bounds", "socket_filter", P(ldx(4,2,1,0), mov(0,0), jmp('>',2,10,2), alu('*',2,3), movr(0,2), ex())),
 ("and_mask", "socket_filter", P(ldx(4,2,1,0), alu('&',2,0xff), alu('<<',2,2), alu('|',2,1), movr(0,2), ex())),
 ("alu32", "socket_filter", P(ldx(4,2,1,0), alu('+',2,-1,32), alu('>>',2,4,32), movr(0,2), ex())),
 ("neg_sub", "socket_filter", P(ldx(4,2,1,0), alu('&',2,7), I(0x87,2), mov(0,3), alur('-',0,2), ex())),
 ("jmp32", "socket_filter", P(ld64(2,0x100000005), mov(0,0), I(0x16,2,0,1,5), mov(0,1), ex())),
 ("jset", "socket_filter", P(ldx(4,2,1,0), mov(0,0), jmp('&',2,4,1), mov(0,1), movr(0,2), ex())),
 ("signed_cmp", "socket_filter", P(ldx(4,2,1,0), alu('-',2,100), mov(0,0), jmp('s<',2,0,2), jmp('s>',2,50,1), movr(0,2), ex())),
 ("map_lookup_nocheck", "socket_filter", P(lookup(3), ldx(8,0,0,0), ex()), M),
 ("map_lookup_ok", "socket_filter", P(lookup(3), jmp('==',0,0,1), ldx(8,0,0,0), mov(0,0), ex()), M),
 ("map_lookup_oob", "socket_filter", P(lookup(3), jmp('==',0,0,2), ldx(8,1,0,4), mov(0,0), ex()), M),
 ("map_badfd", "socket_filter", P(lookup(9), mov(0,0), ex()), M),
 ("map_arith_null", "socket_filter", P(lookup(3), add(0,1), mov(0,0), ex()), M),
 ("map_var_idx", "socket_filter", P(lookup(3), jmp('==',0,0,6), ldx(4,1,0,0), jmp('>',1,1,4), alu('<<',1,2), addr(0,1), st(4,0,0,7), mov(0,0), ex(), mov(0,0), ex()), M),
 ("map_var_oob", "socket_filter", P(lookup(3), jmp('==',0,0,6), ldx(4,1,0,0), jmp('>',1,2,4), alu('<<',1,2), addr(0,1), st(4,0,0,7), mov(0,0), ex(), mov(0,0), ex()), M),
 ("map_unbounded", "socket_filter", P(lookup(3), jmp('==',0,0,4), ldx(4,1,0,0), addr(0,1), ldx(1,0,0,0), ex(), mov(0,0), ex()), M),
 ("array_const_key", "socket_filter", P(lookup(4, P(mov(1,1), stx(4,10,1,-8))), ldx(8,0,0,40), ex()), A),
 ("array_const_key_oob", "socket_filter", P(lookup(4, P(mov(1,9), stx(4,10,1,-8))), ldx(8,0,0,40), ex()), A),
 ("map_update", "socket_filter", P(st(4,10,-8,0), st(8,10,-16,1), ldmap(1,3), movr(2,10), add(2,-8), movr(3,10), add(3,-16), mov(4,0), call(2), ex()), M),
 ("map_update_uninit_val", "socket_filter", P(st(4,10,-8,0), ldmap(1,3), movr(2,10), add(2,-8), movr(3,10), add(3,-24), mov(4,0), call(2), ex()), M),
 ("helper_bad_type", "socket_filter", P(ldmap(1,3), mov(2,0), call(1), mov(0,0), ex()), M),
 ("helper_unknown", "socket_filter", P(call(10000), mov(0,0), ex())),
 ("helper_not_allowed", "socket_filter", P(call(44), mov(0,0), ex())),
 ("prandom", "socket_filter", P(call(7), alu('&',0,3), ex())),
 ("ptr_ptr_add", "socket_filter", P(movr(2,10), addr(2,1), mov(0,0), ex())),
 ("ptr32", "socket_filter", P(movr(2,10), alu('+',2,-8,32), mov(0,0), ex())),
 ("ptr_lsh", "socket_filter", P(movr(2,10), alu('<<',2,2), mov(0,0), ex())),
 ("ptr_and", "socket_filter", P(movr(2,10), alu('&',2,2), mov(0,0), ex())),
 ("fp_sub", "socket_filter", P(movr(2,10), ldx(4,3,1,0), alur('-',2,3), mov(0,0), ex())),
 ("unreachable", "socket_filter", P(mov(0,0), ex(), ex())),
 ("jump_oob", "socket_filter", P(ja(5), ex())),
 ("no_exit", "socket_filter", P(mov(0,0))),
 ("unknown_op", "socket_filter", P(I(0xff), ex())),
 ("ld_imm_middle", "socket_filter", P(jmp('==',1,0,1), ld64(0,5), mov(0,1), ex())),
 ("bounded_loop", "socket_filter", P(mov(0,0), mov(1,0), addr(0,1), add(1,1), jmp('<',1,10,-3), ex())),
 ("infinite_loop", "socket_filter", P(mov(0,0), ja(-1), ex())),
 ("infinite_loop2", "socket_filter", P(mov(0,0), jmp('==',0,0,-1), ex())),
 ("loop_too_big", "socket_filter", P(mov(0,0), mov(1,0), addr(0,1), add(1,1), jmp('<',1,300000,-3), ex())),
 ("subprog", "socket_filter", P(mov(1,3), callpc(2), add(0,1), ex(), movr(0,1), add(0,1), ex())),
 ("subprog_stack", "socket_filter", P(movr(1,10), add(1,-8), st(8,10,-8,7), callpc(2), mov(0,0), ex(), ldx(8,0,1,0), ex())),
 ("subprog_noret", "socket_filter", P(callpc(1), ex(), ex())),
 ("subprog_ret_fp", "socket_filter", P(callpc(2), mov(0,0), ex(), movr(0,10), ex())),
 ("recursion_depth", "socket_filter", P(callpc(-1), ex())),
 ("movsx", "socket_filter", P(ldx(1,2,1,0), I(0xbf,3,2,8), I(0xbf,4,2,16), movr(0,3), ex())),
 ("ldsx", "socket_filter", P(st(8,10,-8,-1), I(0x91,2,10,-8), I(0x81,3,10,-8), movr(0,2), ex())),
 ("bswap", "socket_filter", P(ldx(2,2,1,0), I(0xdc,2,0,0,16), I(0xd4,3,0,0,32), I(0xd7,2,0,0,64), movr(0,2), ex())),
 ("atomic_stack", "socket_filter", P(st(8,10,-8,1), mov(1,2), I(0xdb,10,1,-8,0), I(0xdb,10,1,-8,1), ldx(8,0,10,-8), ex())),
 ("atomic_ctx", "socket_filter", P(mov(2,1), I(0xc3,1,2,0,0), mov(0,0), ex())),
 ("cmpxchg", "socket_filter", P(st(8,10,-8,1), mov(0,1), mov(1,2), I(0xdb,10,1,-8,0xf1), ex())),
 ("xdp_pkt_ok", "xdp", P(ldx(4,2,1,0), ldx(4,3,1,4), movr(4,2), add(4,14), jmpr('>',4,3,2), ldx(1,0,2,12), ex(), mov(0,1), ex())),
 ("xdp_pkt_oob", "xdp", P(ldx(4,2,1,0), ldx(4,3,1,4), movr(4,2), add(4,14), jmpr('>',4,3,2), ldx(1,0,2,14), ex(), mov(0,1), ex())),
 ("xdp_pkt_nocheck", "xdp", P(ldx(4,2,1,0), ldx(1,0,2,0), ex())),
 ("xdp_pkt_write", "xdp", P(ldx(4,2,1,0), ldx(4,3,1,4), movr(4,2), add(4,1), jmpr('>',4,3,1), st(1,2,0,1), mov(0,2), ex())),
 ("xdp_ctx_bad", "xdp", P(ldx(8,2,1,0), mov(0,0), ex())),
 ("sock_pkt", "socket_filter", P(ldx(4,2,1,76), mov(0,0), ex())),
 ("ld_abs", "socket_filter", P(movr(6,1), I(0x30,0,0,0,12), ex())),
 ("ld_abs_bad", "socket_filter", P(mov(6,0), I(0x30,0,0,0,12), ex())),
 ("may_goto", "socket_filter", P(mov(0,0), I(0xe5,0,0,2), add(0,1), ja(-3), ex())),
 ("many_branches", "socket_filter", P(ldx(4,2,1,0), mov(0,0), jmp('==',2,1,1), add(0,1), jmp('==',2,2,1), add(0,1), jmp('==',2,3,1), add(0,1), jmp('==',2,4,1), add(0,1), ex())),
 ("prune_scalar", "socket_filter", P(ldx(4,2,1,0), mov(3,0), jmp('>',2,5,1), mov(3,1), ldx(4,4,1,4), mov(0,0), jmp('>',4,5,1), mov(0,1), ex())),
 ("reserved_mov", "socket_filter", P(I(0xb7,0,1,0,0), ex())),
 ("reserved_exit", "socket_filter", P(mov(0,0), I(0x95,0,0,0,1))),
 ("reg_invalid", "socket_filter", P(I(0xb7,12,0,0,0), mov(0,0), ex())),
 ("dead_junk", "socket_filter", P(mov(0,0), jmp('==',0,0,1), I(0xb7,12,0,0,0), ex())),
 ("jgt_mixed", "socket_filter", P(ldx(4,2,1,0), ldx(4,3,1,4), mov(0,0), jmpr('>',2,3,2), alu('&',3,15), movr(0,3), ex())),
 ("linked_regs", "socket_filter", P(call(7), movr(6,0), movr(7,0), add(7,4), jmp('>',6,10,1), movr(0,7), ex())),
 ("xor_const", "socket_filter", P(mov(0,0x55), alu('^',0,0xff), alu('s>>',0,2), ex())),
]
