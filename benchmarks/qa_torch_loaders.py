"""QA of the torch reader on modules written the ways other projects write them (run by hand):
nn.Sequential and custom modules with Flatten / Linear / Conv2d / BatchNorm / Dropout /
Identity / LeakyReLU / Tanh / Sigmoid, activations as functional calls in forward
(``torch.relu``, ``.relu()``), ``bias=False``, float16 / bfloat16 / float64, subclasses of
supported layers with a forward of their own, and the layers and calls polylip does not
support. Each case is either read and checked here (forward pass against the module on 16
inputs of scale 3, in the module's own dtype, so float16 and bfloat16 differ by their rounding:
polylip bounds the float64 network of the stored weights) or refused with the message shown.
``MISREAD`` would be a network read wrongly without a word.

    PYTHONPATH=. python3 benchmarks/qa_torch_loaders.py
"""
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, traceback, sys
from polylip.nn import Network
from polylip.errors import PolylipError
torch.manual_seed(0)

def check(name, mod, shape):
    try:
        net = Network.from_torch(mod) if len(shape)==1 else Network.from_torch(mod, input_shape=shape)
    except PolylipError as e:
        print(f"REFUSED {name}: {str(e)[:200]}"); return
    except Exception as e:
        print(f"CRASH {name}: {type(e).__name__}: {e}"); traceback.print_exc(); return
    m = mod.eval()
    X = np.random.default_rng(5).standard_normal((16,)+tuple(shape))*3
    with torch.no_grad():
        dt = next(iter(m.parameters()), torch.tensor(0.)).dtype
        try:
            ref = m(torch.tensor(X, dtype=dt)).double().numpy().reshape(16,-1)
        except Exception as e:
            ref = m.double()(torch.tensor(X)).numpy().reshape(16,-1)
    mine = net.forward(X.reshape(16,-1))
    err = np.max(np.abs(mine-ref))/max(np.max(np.abs(ref)),1e-12)
    tag = 'OK' if err < 1e-4 else ('LOWP' if dt in (torch.float16, torch.bfloat16) else 'MISREAD')
    print(f"{tag} {name}: rel err {err:.2e} sizes {net.layer_sizes} acts {[a.name for a in net.activations]}")

class ReluFwd(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(torch.relu(s.a(x)))
class ReluMethod(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(s.a(x).relu())
class ClampFwd(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(torch.clamp(s.a(x), min=0))
class ClampMax(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(torch.clamp(s.a(x), min=0, max=1))
class MaxFwd(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(torch.maximum(s.a(x), torch.zeros(1)))
class Resid(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,4); s.b=nn.Linear(4,3)
    def forward(s,x): return s.b(F.relu(s.a(x))+x)
class TwoPath(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,4); s.b=nn.Linear(4,3)
    def forward(s,x):
        h=s.a(x); return s.b(F.relu(h)*h)
class Abs(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(s.a(x).abs())
class Square(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(s.a(x)**2)
class Where(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x):
        h=s.a(x); return s.b(torch.where(h>0,h,0.1*h))
class ModuleList(nn.Module):
    def __init__(s):
        super().__init__(); s.layers=nn.ModuleList([nn.Linear(4,8), nn.Linear(8,8), nn.Linear(8,3)])
    def forward(s,x):
        for l in s.layers[:-1]: x=F.relu(l(x))
        return s.layers[-1](x)
class MatmulParam(nn.Module):
    def __init__(s):
        super().__init__(); s.W=nn.Parameter(torch.randn(8,4)); s.c=nn.Parameter(torch.randn(3,8))
    def forward(s,x): return F.relu(x@s.W.T)@s.c.T
class SoftmaxOut(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return F.softmax(s.b(F.relu(s.a(x))),dim=1)
class Sliced(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.a(x)))[:, :2]
class InputSlice(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(2,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.a(x[:, :2])))
class ConstAdd(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3); s.register_buffer('m', torch.randn(4))
    def forward(s,x): return s.b(F.relu(s.a((x-s.m)/2.0)))
class Norm(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.a(x/ x.norm(dim=1,keepdim=True))))
class LayerNormM(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.ln=nn.LayerNorm(8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.ln(s.a(x))))
class Hardtanhf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.hardtanh(s.a(x)))
class Relu6f(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu6(s.a(x)))
class Geluf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.gelu(s.a(x)))
class Catf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(16,3)
    def forward(s,x):
        h=s.a(x); return s.b(torch.cat([F.relu(h), F.relu(-h)],1))
class Detachf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.a(x)).detach())
class Scalef(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3); s.t=nn.Parameter(torch.tensor(2.0))
    def forward(s,x): return s.b(F.relu(s.a(x)))*s.t
class Tempf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3); s.t=2.0
    def forward(s,x): return s.b(F.relu(s.a(x)))/s.t
class Unsq(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,1)
    def forward(s,x): return s.b(F.relu(s.a(x))).squeeze()
class TransposeF(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.a(x))).T
class Sumf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.a(x))).sum(1)
class Negf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(-F.relu(-s.a(x)))
class Rsub(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(1.0-F.relu(s.a(x)))
class Rdiv(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(1.0/(1+F.relu(s.a(x))))
class Dropf(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.dropout(F.relu(s.a(x)), 0.5, training=s.training))
class DropTrue(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.dropout(F.relu(s.a(x)), 0.5))
class Softplus2(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.softplus(s.a(x), beta=2))
class SigmoidM(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(torch.sigmoid(s.a(x)))
class ExpF(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(torch.exp(s.a(x)))
class InplaceRelu(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x):
        h=s.a(x); F.relu(h, inplace=True); return s.b(h)
class InplaceRelu2(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x):
        h=s.a(x); h.relu_(); return s.b(h)
class AddInplace(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x):
        h=s.a(x); h += 1.0; return s.b(F.relu(h))
class SharedLayer(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,4); s.b=nn.Linear(4,3)
    def forward(s,x): return s.b(F.relu(s.a(F.relu(s.a(x)))))
class Mulx(nn.Module):
    def __init__(s):
        super().__init__(); s.a=nn.Linear(4,8); s.b=nn.Linear(8,3)
    def forward(s,x): return s.b(F.relu(s.a(x)))*x[:, :3]
class ViewBad(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv2d(1,2,3); s.b=nn.Linear(2*4*4,3)
    def forward(s,x): return s.b(F.relu(s.c(x)).permute(0,2,3,1).reshape(x.shape[0],-1))
class ViewGood(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv2d(1,2,3); s.b=nn.Linear(2*4*4,3)
    def forward(s,x): return s.b(F.relu(s.c(x)).view(x.size(0),-1))
class PadF(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv2d(1,2,3); s.b=nn.Linear(2*8*8,3)
    def forward(s,x): return s.b(F.relu(s.c(F.pad(x,(2,2,2,2)))).flatten(1))
class ReflPad(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv2d(1,2,3,padding=1,padding_mode='reflect'); s.b=nn.Linear(2*6*6,3)
    def forward(s,x): return s.b(F.relu(s.c(x)).flatten(1))
class MaxPoolF(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv2d(1,2,3); s.b=nn.Linear(2*2*2,3)
    def forward(s,x): return s.b(F.max_pool2d(F.relu(s.c(x)),2).flatten(1))
class Chan(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv2d(1,2,3); s.b=nn.Linear(4*4,3)
    def forward(s,x): return s.b(F.relu(s.c(x))[:,0].flatten(1))
class Conv1dM(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv1d(1,2,3); s.b=nn.Linear(2*4,3)
    def forward(s,x): return s.b(F.relu(s.c(x)).flatten(1))

cases = [
 ("seq basic", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.Linear(8,3)), (4,)),
 ("seq bias False", nn.Sequential(nn.Linear(4,8,bias=False), nn.ReLU(), nn.Linear(8,3,bias=False)), (4,)),
 ("seq leaky tanh sigmoid", nn.Sequential(nn.Linear(4,8), nn.LeakyReLU(0.2), nn.Linear(8,8), nn.Tanh(), nn.Linear(8,5), nn.Sigmoid(), nn.Linear(5,3)), (4,)),
 ("seq dropout identity", nn.Sequential(nn.Flatten(), nn.Linear(4,8), nn.Dropout(0.3), nn.ReLU(), nn.Identity(), nn.Linear(8,3)), (4,)),
 ("seq bn1d", nn.Sequential(nn.Linear(4,8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8,3)), (4,)),
 ("seq bn1d first", nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4,8), nn.ReLU(), nn.Linear(8,3)), (4,)),
 ("seq bn after relu", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8,3)), (4,)),
 ("seq bn affine False", nn.Sequential(nn.Linear(4,8), nn.BatchNorm1d(8, affine=False), nn.ReLU(), nn.Linear(8,3)), (4,)),
 ("seq bn no running", nn.Sequential(nn.Linear(4,8), nn.BatchNorm1d(8, track_running_stats=False), nn.ReLU(), nn.Linear(8,3)), (4,)),
 ("seq conv bn", nn.Sequential(nn.Conv2d(1,3,3,bias=False), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3*4*4,3)), (1,6,6)),
 ("seq conv stride pad", nn.Sequential(nn.Conv2d(2,3,3,stride=2,padding=1), nn.ReLU(), nn.Conv2d(3,2,2), nn.ReLU(), nn.Flatten(), nn.Linear(2*2*2,3)), (2,6,6)),
 ("seq float16", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.Linear(8,3)).half(), (4,)),
 ("seq float64", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.Linear(8,3)).double(), (4,)),
 ("seq bfloat16", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.Linear(8,3)).bfloat16(), (4,)),
 ("1 neuron", nn.Sequential(nn.Linear(4,1), nn.ReLU(), nn.Linear(1,1)), (4,)),
 ("linear only", nn.Sequential(nn.Linear(4,3)), (4,)),
 ("ends relu", nn.Sequential(nn.Linear(4,3), nn.ReLU()), (4,)),
 ("nested seq", nn.Sequential(nn.Sequential(nn.Linear(4,8), nn.ReLU()), nn.Sequential(nn.Linear(8,3))), (4,)),
 ("elu", nn.Sequential(nn.Linear(4,8), nn.ELU(0.5), nn.Linear(8,3)), (4,)),
 ("softplus beta2", nn.Sequential(nn.Linear(4,8), nn.Softplus(beta=2), nn.Linear(8,3)), (4,)),
 ("softplus thresh", nn.Sequential(nn.Linear(4,8), nn.Softplus(threshold=1), nn.Linear(8,3)), (4,)),
 ("relu6", nn.Sequential(nn.Linear(4,8), nn.ReLU6(), nn.Linear(8,3)), (4,)),
 ("hardtanh", nn.Sequential(nn.Linear(4,8), nn.Hardtanh(), nn.Linear(8,3)), (4,)),
 ("prelu", nn.Sequential(nn.Linear(4,8), nn.PReLU(), nn.Linear(8,3)), (4,)),
 ("gelu", nn.Sequential(nn.Linear(4,8), nn.GELU(), nn.Linear(8,3)), (4,)),
 ("softmax", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.Linear(8,3), nn.Softmax(dim=1)), (4,)),
 ("logsoftmax", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.Linear(8,3), nn.LogSoftmax(dim=1)), (4,)),
 ("layernorm", nn.Sequential(nn.Linear(4,8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8,3)), (4,)),
 ("unflatten", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.Unflatten(1,(2,4)), nn.Flatten(), nn.Linear(8,3)), (4,)),
 ("threshold", nn.Sequential(nn.Linear(4,8), nn.Threshold(0.5, 0.0), nn.Linear(8,3)), (4,)),
 ("softsign", nn.Sequential(nn.Linear(4,8), nn.Softsign(), nn.Linear(8,3)), (4,)),
 ("celu", nn.Sequential(nn.Linear(4,8), nn.CELU(), nn.Linear(8,3)), (4,)),
 ("selu", nn.Sequential(nn.Linear(4,8), nn.SELU(), nn.Linear(8,3)), (4,)),
 ("tanhshrink", nn.Sequential(nn.Linear(4,8), nn.Tanhshrink(), nn.Linear(8,3)), (4,)),
 ("logsigmoid", nn.Sequential(nn.Linear(4,8), nn.LogSigmoid(), nn.Linear(8,3)), (4,)),
 ("alphadropout", nn.Sequential(nn.Linear(4,8), nn.ReLU(), nn.AlphaDropout(0.2), nn.Linear(8,3)), (4,)),
 ("bilinear", nn.Sequential(nn.Linear(4,8)), (4,)),
 ("conv1d seq", nn.Sequential(nn.Conv1d(1,2,3), nn.ReLU(), nn.Flatten(), nn.Linear(8,3)), (1,6)),
 ("maxpool seq", nn.Sequential(nn.Conv2d(1,2,3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8,3)), (1,6,6)),
 ("avgpool ceil", nn.Sequential(nn.Conv2d(1,2,3), nn.ReLU(), nn.AvgPool2d(3, ceil_mode=True), nn.Flatten(), nn.Linear(8,3)), (1,7,7)),
 ("avgpool nopad count", nn.Sequential(nn.Conv2d(1,2,3), nn.ReLU(), nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), nn.Flatten(), nn.Linear(2*3*3,3)), (1,7,7)),
 ("convtranspose", nn.Sequential(nn.ConvTranspose2d(1,2,3), nn.ReLU(), nn.Flatten(), nn.Linear(2*8*8,3)), (1,6,6)),
 ("conv reflect", ReflPad(), (1,6,6)),
 ("conv circular", nn.Sequential(nn.Conv2d(1,2,3,padding=1,padding_mode='circular'), nn.ReLU(), nn.Flatten(), nn.Linear(2*6*6,3)), (1,6,6)),
 ("conv replicate", nn.Sequential(nn.Conv2d(1,2,3,padding=1,padding_mode='replicate'), nn.ReLU(), nn.Flatten(), nn.Linear(2*6*6,3)), (1,6,6)),
 ("zeropad2d", nn.Sequential(nn.ZeroPad2d(1), nn.Conv2d(1,2,3), nn.ReLU(), nn.Flatten(), nn.Linear(2*6*6,3)), (1,6,6)),
 ("upsample", nn.Sequential(nn.Conv2d(1,2,3), nn.ReLU(), nn.Upsample(scale_factor=2), nn.Flatten(), nn.Linear(2*8*8,3)), (1,6,6)),
 ("fwd torch.relu", ReluFwd(), (4,)),
 ("fwd .relu()", ReluMethod(), (4,)),
 ("fwd clamp min0", ClampFwd(), (4,)),
 ("fwd clamp 0..1", ClampMax(), (4,)),
 ("fwd maximum", MaxFwd(), (4,)),
 ("fwd residual", Resid(), (4,)),
 ("fwd relu(h)*h", TwoPath(), (4,)),
 ("fwd abs", Abs(), (4,)),
 ("fwd square", Square(), (4,)),
 ("fwd where", Where(), (4,)),
 ("fwd modulelist", ModuleList(), (4,)),
 ("fwd matmul params", MatmulParam(), (4,)),
 ("fwd softmax", SoftmaxOut(), (4,)),
 ("fwd sliced out", Sliced(), (4,)),
 ("fwd sliced in", InputSlice(), (4,)),
 ("fwd const sub div", ConstAdd(), (4,)),
 ("fwd x/norm", Norm(), (4,)),
 ("fwd layernorm", LayerNormM(), (4,)),
 ("fwd hardtanh", Hardtanhf(), (4,)),
 ("fwd relu6", Relu6f(), (4,)),
 ("fwd gelu", Geluf(), (4,)),
 ("fwd cat", Catf(), (4,)),
 ("fwd detach", Detachf(), (4,)),
 ("fwd *param", Scalef(), (4,)),
 ("fwd /temp attr", Tempf(), (4,)),
 ("fwd squeeze()", Unsq(), (4,)),
 ("fwd .T", TransposeF(), (4,)),
 ("fwd sum", Sumf(), (4,)),
 ("fwd -relu(-x)", Negf(), (4,)),
 ("fwd 1-relu", Rsub(), (4,)),
 ("fwd 1/(1+relu)", Rdiv(), (4,)),
 ("fwd F.dropout training", Dropf(), (4,)),
 ("fwd F.dropout default", DropTrue(), (4,)),
 ("fwd softplus beta2", Softplus2(), (4,)),
 ("fwd sigmoid", SigmoidM(), (4,)),
 ("fwd exp", ExpF(), (4,)),
 ("fwd inplace F.relu discarded", InplaceRelu(), (4,)),
 ("fwd relu_()", InplaceRelu2(), (4,)),
 ("fwd h+=1", AddInplace(), (4,)),
 ("fwd shared layer", SharedLayer(), (4,)),
 ("fwd mul x", Mulx(), (4,)),
 ("fwd permute reshape", ViewBad(), (1,6,6)),
 ("fwd view size", ViewGood(), (1,6,6)),
 ("fwd F.pad", PadF(), (1,6,6)),
 ("fwd maxpool", MaxPoolF(), (1,6,6)),
 ("fwd channel slice", Chan(), (1,6,6)),
 ("fwd conv1d", Conv1dM(), (1,6)),
]
for n,m,s in cases:
    # perturb BN stats
    for mm in m.modules():
        if isinstance(mm,(nn.BatchNorm1d,nn.BatchNorm2d)) and mm.running_mean is not None:
            mm.running_mean.data = torch.randn_like(mm.running_mean.float()).to(mm.running_mean.dtype)
            mm.running_var.data = (torch.rand_like(mm.running_var.float())+0.5).to(mm.running_var.dtype)
            if mm.weight is not None: mm.weight.data.normal_()
    check(n,m,s)


# ---- subclasses of supported layers with a forward of their own (checked at input scale 30)
class ClampReLU(nn.ReLU):
    def forward(self, x): return torch.clamp(x, 0, 6)
class MaskedLinear(nn.Linear):
    def __init__(s, a, b):
        super().__init__(a, b); s.register_buffer("mask", (torch.rand(b, a) > 0.5).float())
    def forward(self, x): return F.linear(x, self.weight * self.mask, self.bias)
class ScaledLinear(nn.Linear):
    def forward(self, x): return super().forward(x) * 1.0001
class BigClampTanh(nn.Tanh):
    def forward(self, x): return torch.tanh(x) if x.abs().max() < 50 else x
class Scale(nn.Module):
    def forward(self, x): return 2 * x
class Shift(nn.Module):
    def __init__(s): super().__init__(); s.t = 100.0
    def forward(self, x): return x + s.t if False else x + self.t
class Gate(nn.Module):
    def forward(self, x): return x if not self.training else x * 0
class FlattenSub(nn.Flatten):
    def forward(self, x): return super().forward(x)[:, :8]
class DropSub(nn.Dropout):
    def forward(self, x): return x * 0.5
class IdSub(nn.Identity):
    def forward(self, x): return torch.clamp(x, -5, 5)
class BNSub(nn.BatchNorm1d):
    def forward(self, x): return super().forward(x) * 3
cases = {
 "ReLU subclass clamp 6": nn.Sequential(nn.Linear(4, 8), ClampReLU(), nn.Linear(8, 2)),
 "masked Linear": nn.Sequential(MaskedLinear(4, 8), nn.ReLU(), nn.Linear(8, 2)),
 "scaled Linear 1.0001": nn.Sequential(ScaledLinear(4, 8), nn.ReLU(), nn.Linear(8, 2)),
 "Tanh sub big": nn.Sequential(nn.Linear(4, 8), BigClampTanh(), nn.Linear(8, 2)),
 "custom Scale in seq": nn.Sequential(nn.Linear(4, 8), nn.ReLU(), Scale(), nn.Linear(8, 2)),
 "custom Shift in seq": nn.Sequential(nn.Linear(4, 8), Shift(), nn.ReLU(), nn.Linear(8, 2)),
 "Gate training": nn.Sequential(nn.Linear(4, 8), nn.ReLU(), Gate(), nn.Linear(8, 2)),
 "Flatten sub slice": nn.Sequential(nn.Linear(4, 16), nn.ReLU(), FlattenSub(), nn.Linear(8, 2)),
 "Dropout sub halves": nn.Sequential(nn.Linear(4, 8), nn.ReLU(), DropSub(), nn.Linear(8, 2)),
 "Identity sub clamp": nn.Sequential(nn.Linear(4, 8), nn.ReLU(), IdSub(), nn.Linear(8, 2)),
 "BN sub x3": nn.Sequential(nn.Linear(4, 8), BNSub(8), nn.ReLU(), nn.Linear(8, 2)),
}
for name, m in cases.items():
    m.eval()
    try:
        net = Network.from_torch(m)
    except PolylipError as e:
        print("REFUSED", name, "|", str(e)[:160]); continue
    X = np.random.default_rng(1).standard_normal((2000, 4)) * 30
    with torch.no_grad(): ref = m.double()(torch.tensor(X)).numpy()
    err = np.abs(net.forward(X) - ref).max() / np.abs(ref).max()
    print("LOADED" if err < 1e-6 else "MISREAD", name, f"err at scale 30: {err:.2e}")
