"""QA round 3 (issue 12): tiny and far regions. Integer 2-3-input ReLU networks (3-6-6-1) whose
first-layer hyperplanes pass through the center or within the radius of it; box and ball of
radius 1e-11, 1e-7, 1, 1e3 around centers of size 0, 1 or 1e3. Methods "exact", "milp", "bab",
"interval" against 100,000 samples of the region and the cell enumeration of
qa_lipschitz_fuzz_3.py. Prints one line per disagreement and the count.

    PYTHONPATH=. nice -n 10 python3 benchmarks/qa_lipschitz_tiny_regions.py SEED COUNT
"""
import sys
sys.path.insert(0, "benchmarks")
import numpy as np
import qa_lipschitz_fuzz_3 as q
from polylip.nn import Network, lipschitz, BoxRegion, BallRegion
rng=np.random.default_rng(int(sys.argv[1]))
bad=0
for it in range(int(sys.argv[2])):
    n=int(rng.integers(2,4)); h=int(rng.integers(3,7))
    W1=rng.integers(-2,3,(h,n)).astype(float); W2=rng.integers(-2,3,(h,h)).astype(float); W3=rng.integers(-2,3,(1,h)).astype(float)
    shift=float(rng.choice([1e3,1.0,0.0]))
    c0=np.round(rng.standard_normal(n)*2)/2 + shift
    r=float(rng.choice([1e-11,1e-7,1.0,1e3]))
    b1=-(W1@c0)+rng.integers(-1,2,h)*min(r,1.0); b2=rng.integers(-2,3,h).astype(float)
    Ws=[W1,W2,W3]; bs=[b1,b2,np.zeros(1)]
    for reg in ["box","ball"]:
        region=BoxRegion(c0,r) if reg=="box" else BallRegion(c0,r)
        net=Network.from_weights(Ws,bs)
        t=q.true_constant(Ws,bs,"relu","scalar",np.inf,reg,c0,r)
        S=region.project(c0+r*rng.uniform(-1,1,(100000,n)))
        smp=net.local_lipschitz(S,"inf").max()
        for m in ["exact","milp","bab","interval"]:
            if m=="bab" and reg=="ball": continue
            try: res=lipschitz(net,"inf",method=m,region=region)
            except Exception as e:
                print(it,reg,r,shift,m,"ERR",str(e)[:100]); continue
            flag=""
            if t and res.lower is not None and res.lower>t[1]*(1+1e-9): flag+=" LOWER>TRUTH"
            if t and res.upper is not None and res.upper<t[0]*(1-1e-7): flag+=" UPPER<TRUTH"
            if res.upper is not None and res.upper<smp*(1-1e-7): flag+=" UPPER<SAMPLED"
            if t and m in("exact",) and res.details.get("true") is not None and t[0]==t[1] and abs(res.upper-t[0])>1e-6*t[0]: flag+=" EXACT!=TRUTH"
            if flag: print(it,reg,r,shift,m,res.upper,res.lower,res.status,"truth",t and t[:2],"sampled",smp,flag)
            bad+=bool(flag)
print("bad",bad)
