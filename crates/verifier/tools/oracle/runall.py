import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmp, progs
lvl = int(sys.argv[1]) if len(sys.argv)>1 else 1
only = sys.argv[2] if len(sys.argv)>2 else None
nv=nl=0; n=0
for c in progs.CASES:
    name,t,h = c[0],c[1],c[2]; maps = c[3] if len(c)>3 else None
    if only and only != name: continue
    n+=1
    print("#", name)
    v,l = cmp.run(h,t,lvl,maps)
    nv+=v; nl+=l
print(f"verdict agree {nv}/{n}, log agree {nl}/{n}")
