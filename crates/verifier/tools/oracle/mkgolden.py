import os
import sys, re, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import progs, gen, ko, cmp
out_dir='/work/wt/verifier/crates/verifier/tests'
cases=[]
for c in progs.CASES:
    name,t,h=c[0],c[1],c[2]; maps=c[3] if len(c)>3 else ''
    if name in ('loop_too_big',): continue
    cases.append((name+'_l1',t,1,maps,h))
L2=['ret42','ctx_u32','branch_bounds','and_mask','alu32','neg_sub','jmp32','jset','signed_cmp','map_lookup_ok','map_var_idx','map_var_oob','array_const_key','bounded_loop','infinite_loop2','subprog','movsx','bswap','xdp_pkt_ok','xdp_pkt_oob','may_goto','many_branches','prune_scalar','linked_regs','xor_const','stack_partial','map_lookup_oob','ld_abs','jgt_mixed','stack_ptr_spill']
byname={c[0]:c for c in progs.CASES}
for n in L2:
    c=byname[n]; cases.append((n+'_l2',c[1],2,c[3] if len(c)>3 else '',c[2]))
for s in range(0,60):
    fam,t,h,maps=gen.gen(s)
    cases.append((f'gen{s}_{fam}',t,1,maps or '',h.replace(' ','')))
snap_dir=os.path.join(out_dir,'snapshots'); os.makedirs(snap_dir,exist_ok=True)
mp_cache={}
lines=[]
kept=0
def strip_live(log):
    return '\n'.join(l for l in log.split('\n') if not re.match(r'^\([0-9,]+\) (frame \d+ insn|live stack update)', l))
for name,t,lvl,maps,h in cases:
    mp={}
    if maps:
        for spec in maps.split(','):
            fd,mt,ks,vs,mx=map(int,spec.split(':'))
            key=(fd,mt,ks,vs,mx)
            if key not in mp_cache: mp_cache[key]=ko.map_create(mt,ks,vs,mx)
            mp[fd]=mp_cache[key]
    k=ko.load(h.replace(';',' '),t,lvl,mp)
    log=strip_live(cmp.norm(k['log'])).rstrip('\n')
    verdict=f"accepted={k['accepted']} errno={k['errno']}"
    body=verdict+'\n'+log
    hexs=h.replace(' ','').replace(';','')
    lines.append(f"{name}|{t}|{lvl}|{maps}|{hexs}")
    with open(os.path.join(snap_dir,f'golden__{name}.snap'),'w') as f:
        f.write('---\nsource: crates/verifier/tests/golden.rs\nexpression: out\n---\n'+body+'\n')
    kept+=1
open(os.path.join(out_dir,'golden','cases.txt'),'w').write('# name|prog_type|log_level|maps fd:type:ks:vs:max|hex  (kernel logs: snapshots/golden__<name>.snap, captured from Linux 6.18)\n'+'\n'.join(lines)+'\n')
print(kept)
