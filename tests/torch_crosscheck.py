"""Recomputes tests/torch_crosscheck.ts's cases with torch (float64): prints, per op, the largest
absolute difference of the output and of each input's gradient; and of the optimizers' steps."""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)


def tensor(p, grad=True):
    if p.get("int"):
        return torch.tensor(p["data"], dtype=torch.long).reshape(p["shape"])
    t = torch.tensor(p["data"], dtype=torch.float64).reshape(p["shape"])
    return t.requires_grad_(grad)


def maxdiff(mine, theirs):
    return (tensor(mine, False) - theirs.detach()).abs().max().item()


report = json.load(open(sys.argv[1]))
worst = 0.0
print(f"{'op':28} {'output':>10}  gradients (max |ninjagrad - torch|)")
for case in report["cases"]:
    inputs = {}
    for name, p in case["inputs"].items():
        inputs[name] = tensor(p, grad=not name.startswith("cond") and not p.get("int"))
    out = eval(case["torch"], {"torch": torch}, inputs)
    out.backward(tensor(case["seed"], False))
    d_out = maxdiff(case["out"], out)
    grads = {n: maxdiff(g, inputs[n].grad) for n, g in case["gradients"].items()}
    worst = max([worst, d_out, *grads.values()])
    text = "  ".join(f"d{n} {d:.1e}" for n, d in grads.items())
    print(f"{case['op']:28} {d_out:10.1e}  {text}")

opt = report["optim"]
for run in opt["runs"]:
    p = tensor(opt["start"])
    o = eval(run["torch"], {"torch": torch, "p": p})
    diffs = []
    for grad, mine in zip(opt["grads"], run["params"]):
        p.grad = tensor(grad, False)
        o.step()
        diffs.append(maxdiff(mine, p))
    worst = max(worst, *diffs)
    print(f"{run['name']:40} params after each of {len(diffs)} steps: max {max(diffs):.1e}")
print(f"largest difference: {worst:.1e}")
sys.exit(0 if worst < 1e-12 else 1)
