import os
import random, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from progs import *
OPS=['+','-','*','|','&','<<','>>','^','s>>','/','%']
JOPS=['==','>','>=','&','!=','s>','s>=','<','<=','s<','s<=']
def rnd_imm(r):
    return r.choice([0,1,2,3,4,7,8,15,16,31,32,63,64,255,256,-1,-8,-16,0x7fffffff,-0x80000000,r.randint(-1000,1000)])
def gen(seed):
    r=random.Random(seed)
    fam=r.choice(['alu','alu','stack','branch','map','xdp','loop','sub'])
    t='xdp' if fam=='xdp' else 'socket_filter'
    maps=None
    body=[]
    # init some regs
    inited={1}
    def reg(initonly=True):
        if initonly and r.random()<0.97:
            return r.choice(sorted(inited))
        return r.randint(0,9)
    def dreg():
        return r.choice([0,2,3,4,5,6,7,8,9]) if r.random()<0.97 else 1
    n=r.randint(3,14)
    if fam=='xdp':
        body+= [ldx(4,2,1,0), ldx(4,3,1,4)]; inited|={2,3}
    for i in range(n):
        k=r.random()
        if k<0.25:
            d=dreg(); body.append(mov(d,rnd_imm(r))); inited.add(d)
        elif k<0.35 and fam!='xdp':
            d=r.choice([2,3,4,5,6,7,8,9]); body.append(ldx(r.choice([1,2,4]),d,1,r.choice([0,4,8,16,48,52]))); inited.add(d)
        elif k<0.55:
            op=r.choice(OPS); d=dreg() if r.random()<0.5 else reg(); w=r.choice([64,64,32])
            if d not in inited: body.append(mov(d,rnd_imm(r))); inited.add(d)
            if r.random()<0.5:
                imm=rnd_imm(r)
                if op in('<<','>>','s>>'): imm=r.randint(0,w-1) if r.random()<0.95 else w
                body.append(alu(op,d,imm,w))
            else:
                body.append(alur(op,d,reg(),w))
            inited.add(d)
        elif k<0.65:
            d=reg(); e=dreg(); body.append(movr(e,d)); inited.add(e)
        elif k<0.75 or fam=='stack':
            sz=r.choice([1,2,4,8,8])
            off=-8*r.randint(1,4)+sz*r.randint(0,8//sz-1)
            if r.random()<0.03: off=r.choice([-520,-6,0])
            if r.random()<0.5:
                body.append(stx(sz,10,reg(),off))
            else:
                d=dreg(); body.append(ldx(sz,d,10,off)); inited.add(d)
        elif k<0.9:
            # forward conditional jump
            rem=n-i
            off=r.randint(0,max(0,min(3,rem)))
            if r.random()<0.5: body.append(jmp(r.choice(JOPS),reg(),rnd_imm(r),off))
            else: body.append(jmpr(r.choice(JOPS),reg(),reg(),off))
        elif fam=='xdp':
            body+= [movr(4,2), add(4,r.randint(0,20)), jmpr('>',4,3,1), ldx(1,0,2,r.randint(0,20))]
            inited.add(0)
        else:
            body.append(call(7)); inited.add(0); inited-= {1,2,3,4,5}; inited.add(0)
            if not inited: inited.add(0)
    if fam=='map':
        maps='3:1:4:8:16,4:2:4:48:4'
        fd=r.choice([3,4])
        pre=[st(4,10,-8,r.choice([0,1,5])), ldmap(1,fd), movr(2,10), add(2,-8), call(1)]
        chk=[jmp('==',0,0,r.randint(1,3))] if r.random()<0.8 else []
        acc=[ldx(r.choice([1,4,8]),3,0,r.choice([0,4,8,40,44,48]))]
        if r.random()<0.5:
            acc=[ldx(4,4,10,-8), alu('&',4,r.choice([7,15,63])), addr(0,4)]+acc
        body = pre+chk+acc+[mov(0,0)]+body
    if fam=='loop':
        lim=r.choice([3,10,50])
        body = [mov(6,0)] + body + [add(6,1), jmp('<',6,lim,-(len(body)+2))]
    if fam=='sub':
        body = [mov(1,r.randint(0,5)), callpc(1), ex()] + body + [movr(0,1)]
    body.append(mov(0,0) if r.random()<0.7 else '')
    body.append(ex())
    h=' '.join(x for x in body if x)
    return fam,t,h,maps
if __name__=='__main__':
    import cmp
    N=int(sys.argv[1]); start=int(sys.argv[2]) if len(sys.argv)>2 else 0
    lvl=int(sys.argv[3]) if len(sys.argv)>3 else 1
    nv=nl=0; bad=[]
    for s in range(start,start+N):
        fam,t,h,maps=gen(s)
        v,l=cmp.run(h,t,lvl,maps,show=False) if False else (None,None)
        import io,contextlib
        f=io.StringIO()
        with contextlib.redirect_stdout(f):
            v,l=cmp.run(h,t,lvl,maps)
        nv+=v; nl+=l
        if not (v and l): bad.append((s,fam,v,l,f.getvalue()))
    print(f"verdict {nv}/{N} log {nl}/{N}")
    for s,fam,v,l,txt in bad[:int(sys.argv[4]) if len(sys.argv)>4 else 5]:
        print("####", s, fam, v, l); print('\n'.join(txt.split('\n')[:40]))

def gen2(seed):
    """Extra families: map value arithmetic, xdp variable offsets, subprog stack pointers, may_goto."""
    r=random.Random(seed)
    fam=r.choice(['mapidx','xdpvar','subptr','maygoto','spill'])
    maps=None; t='socket_filter'
    if fam=='mapidx':
        maps='3:1:4:8:16,4:2:4:48:4'
        fd=r.choice([3,4]); lim=r.choice([1,2,3,5,7,11,12,40,47])
        body=[st(4,10,-8,r.choice([0,1,2,9])), ldmap(1,fd), movr(2,10), add(2,-8), call(1),
              jmp('==',0,0,7), ldx(r.choice([1,4,8]),1,0,r.choice([0,4])), jmp(r.choice(['>','>=','s>']),1,lim,5),
              alu(r.choice(['<<','*','+']),1,r.choice([1,2,3])), addr(0,1), ldx(r.choice([1,2,4,8]),3,0,r.choice([0,1,4,8])),
              st(r.choice([1,4,8]),0,r.choice([0,4]),7), mov(0,0), mov(0,0), ex()]
    elif fam=='xdpvar':
        t='xdp'
        body=[ldx(4,2,1,0), ldx(4,3,1,4), movr(4,2), add(4,r.choice([8,14,20,34])), jmpr(r.choice(['>','>=']),4,3,8),
              ldx(1,5,2,r.choice([0,12,13])), alu('&',5,r.choice([7,15,63])), movr(6,2), addr(6,5),
              movr(7,6), add(7,r.choice([1,2,4])), jmpr('>',7,3,1), ldx(1,0,6,0), mov(0,2), ex()]
    elif fam=='subptr':
        body=[st(8,10,-8,r.randint(0,9)), movr(1,10), add(1,r.choice([-8,-16,-4])), callpc(2), mov(0,0), ex(),
              ldx(r.choice([4,8]),0,1,0), alu('&',0,r.choice([1,3,255])), ex()]
    elif fam=='maygoto':
        body=[mov(0,0), mov(6,r.randint(0,3)), I(0xe5,0,0,3), add(0,1), add(6,r.choice([0,1])), ja(-4),
              jmp('>',0,r.choice([5,100,1000]),1), mov(0,1), ex()]
    else:
        body=[ldx(4,2,1,0), stx(r.choice([4,8]),10,2,-8), stx(8,10,1,-16), ldx(r.choice([4,8]),3,10,-8),
              jmp('>',3,r.choice([10,100]),2), ldx(8,4,10,-16), ldx(4,0,4,0), mov(0,0), ex()]
    return fam,t,' '.join(body),maps

if __name__=='__main__' and len(sys.argv)>5:
    pass
