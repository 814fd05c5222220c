import os
import sys, io, contextlib
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen, cmp
N=int(sys.argv[1]); start=int(sys.argv[2]); lvl=int(sys.argv[3])
nv=nl=0; bad=[]
for s in range(start,start+N):
    fam,t,h,maps=gen.gen2(s)
    f=io.StringIO()
    with contextlib.redirect_stdout(f):
        v,l=cmp.run(h,t,lvl,maps)
    nv+=v; nl+=l
    if not (v and l): bad.append((s,fam,f.getvalue()))
print(f"verdict {nv}/{N} log {nl}/{N}")
for s,fam,txt in bad[:3]:
    print('####',s,fam); print('\n'.join(txt.split('\n')[:30]))
