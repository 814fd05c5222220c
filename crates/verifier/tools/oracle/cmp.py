import os
import sys, subprocess, re, json
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ko
VLOG=os.environ.get('VLOG', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../target/debug/examples/vlog'))
_maps={}
def strip_live(log):
    return '\n'.join(l for l in log.split('\n') if not re.match(r'^\([0-9,]+\) (frame \d+ insn|live stack update)', l))
def norm(log):
    log = strip_live(log)
    # kernel map addresses and timing differ
    log = re.sub(r'\(18\) (r\d+) = 0x[0-9a-f]+', r'(18) \1 = MAP', log)
    log = re.sub(r'verification time \d+ usec', 'verification time X usec', log)
    log = re.sub(r'(\(18\) r\d+ = MAP) +;', r'\1 ;', log)
    return log
def run(h, t='socket_filter', lvl=1, maps=None, show=False):
    mp={}
    if maps:
        for spec in maps.split(','):
            fd,mt,ks,vs,mx=map(int,spec.split(':'))
            key=(fd,mt,ks,vs,mx)
            if key not in _maps: _maps[key]=ko.map_create(mt,ks,vs,mx)
            mp[fd]=_maps[key]
    k=ko.load(h.replace(';',' '),t,lvl,mp)
    args=[VLOG,t,str(lvl),h]+([maps] if maps else [])
    o=subprocess.run(args,capture_output=True,text=True)
    lines=o.stdout.split('\n',1)
    acc,err=lines[0].split()
    ours_log=lines[1] if len(lines)>1 else ''
    ka=(str(k['accepted']), str(k['errno']))
    ok_verdict = ka==(acc,err)
    kl=norm(k['log']).rstrip('\n'); ol=norm(ours_log).rstrip('\n')
    same_log = kl==ol
    if show or not (ok_verdict and same_log):
        print('=== verdict kernel',ka,'ours',(acc,err), 'log same' if same_log else 'LOG DIFF')
        if not same_log and (len(kl) > 200000 or len(ol) > 200000):
            print('(logs too large to diff)', len(kl), len(ol))
        elif not same_log:
            import difflib
            for l in difflib.unified_diff(kl.split('\n'), ol.split('\n'), 'kernel','ours', lineterm='', n=2): print(l)
        if o.stderr: print(o.stderr[-2000:])
    return ok_verdict, same_log
if __name__=='__main__':
    run(sys.argv[3], sys.argv[1], int(sys.argv[2]), sys.argv[4] if len(sys.argv)>4 else None, show=True)
