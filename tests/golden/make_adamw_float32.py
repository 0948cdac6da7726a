"""Writes adamw_float32.json: torch.optim.AdamW's float32 steps on 259 values (64 quads and a tail of 3) over 6 steps, with
PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2) and with
lr 0.01, betas (0.8, 0.99), eps 1e-6, weight decay 0.1; gradients are 0.1 times normal draws.
Run with Debian's python3-torch: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 THIS."""
import json
import torch

torch.manual_seed(0)
out = {"torch": torch.__version__, "cases": []}
for lr, betas, eps, weight_decay in [(1e-3, (0.9, 0.999), 1e-8, 1e-2), (0.01, (0.8, 0.99), 1e-6, 0.1)]:
    p = torch.randn(259, dtype=torch.float32, requires_grad=True)
    grads = [torch.randn(259, dtype=torch.float32) * 0.1 for _ in range(6)]
    start = p.detach().clone()
    opt = torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    after = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        after.append(p.detach().clone().tolist())
    out["cases"].append({
        "lr": lr, "betas": list(betas), "eps": eps, "weight_decay": weight_decay,
        "p0": start.tolist(), "grads": [g.tolist() for g in grads], "after": after,
    })
with open(__file__.replace("make_adamw_float32.py", "adamw_float32.json"), "w") as f:
    json.dump(out, f)
