"""Writes sgd_float32.json: torch.optim.SGD's float32 steps (momentum 0.9, weight decay 0.01,
lr 0.1) on 256 values over 5 steps, and plain SGD (no momentum, no decay) likewise. Run with
Debian's python3-torch: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 THIS."""
import json
import torch

torch.manual_seed(0)
out = {"torch": torch.__version__, "cases": []}
for momentum, weight_decay in [(0.9, 0.01), (0.0, 0.0)]:
    p = torch.randn(256, dtype=torch.float32, requires_grad=True)
    grads = [torch.randn(256, dtype=torch.float32) for _ in range(5)]
    start = p.detach().clone()
    opt = torch.optim.SGD([p], lr=0.1, momentum=momentum, weight_decay=weight_decay)
    after = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        after.append(p.detach().clone().tolist())
    out["cases"].append({
        "lr": 0.1, "momentum": momentum, "weight_decay": weight_decay,
        "p0": start.tolist(), "grads": [g.tolist() for g in grads], "after": after,
    })
with open(__file__.replace("make_sgd_float32.py", "sgd_float32.json"), "w") as f:
    json.dump(out, f)
