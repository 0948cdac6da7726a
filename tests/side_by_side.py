"""PyTorch's side of tests/side_by_side.ts: the same workloads as the engine's bench, timed here.

Lecture cases (--cases lecture):
  ex4-step: one exercise-4 training step (n_hidden 200, batch 32) with the lecture's manual backward
    written in torch ops (no autograd), batch sampling and the SGD update included; dC by the
    lecture's Python loop (ex4-step) or by one index_add_ (ex4-step-index-add).
  ex1-step: the exercise-1 atomic forward pass (n_hidden 64, batch 32) and loss.backward().
Scale cases (--cases scale), as exercises/bench/scale.ts builds them:
  chain N: sum(tanh(a @ b)) for a, b N x N float32, forward and backward (dA, dB).
  mlp 512x1024: x (512, 1024) -> linear -> tanh -> linear -> tanh -> linear to 10 -> cross-entropy,
    forward, backward and SGD.

The first line printed describes the PyTorch and the BLAS it loaded (torch.__config__.show(), the
BLAS library mapped into this process and what OpenBLAS says of itself); then one JSON line per
case: {"case": "ex4-step", "msPerStep": ..., "wallMsPerStep": ...}, msPerStep being the median CPU
time per step (see exercises/bench/timing.ts).
Usage: python3 tests/side_by_side.py NAMES_FILE [--threads T] [--cases lecture|scale|none]
  [--sizes 64,128] [--steps N] [--repeats R]
Run it with OPENBLAS_NUM_THREADS=T as well: torch.set_num_threads does not reach OpenBLAS.
"""

import ctypes
import json
import random
import re
import sys
import time

import torch
import torch.nn.functional as F


def dataset(path):
    words = open(path).read().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    random.seed(42)
    random.shuffle(words)
    X, Y = [], []
    for w in words[: int(0.8 * len(words))]:
        context = [0] * 3
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def params(n_hidden, dtype=torch.float32):
    g = torch.Generator().manual_seed(2147483647)
    n_embd, block_size, vocab = 10, 3, 27
    C = torch.randn((vocab, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5
    b1 = torch.randn(n_hidden, generator=g) * 0.1
    W2 = torch.randn((n_hidden, vocab), generator=g) * 0.1
    b2 = torch.randn(vocab, generator=g) * 0.1
    bngain = torch.randn((1, n_hidden)) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden)) * 0.1
    return [p.to(dtype) for p in (C, W1, b1, W2, b2, bngain, bnbias)], g


def ex4_stepper(Xtr, Ytr, loop=True):
    """The lecture's exercise-4 loop body; dC's scatter is the lecture's Python loop over the batch
    (loop=True, verbatim) or one index_add_ (loop=False, the vectorised form)."""
    parameters, g = params(200)
    C, W1, b1, W2, b2, bngain, bnbias = parameters
    n = 32
    state = {"i": 0}

    @torch.no_grad()
    def step():
        i = state["i"]
        state["i"] += 1
        ix = torch.randint(0, Xtr.shape[0], (n,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        bnmean = hprebn.mean(0, keepdim=True)
        bnvar = hprebn.var(0, keepdim=True, unbiased=True)
        bnvar_inv = (bnvar + 1e-5) ** -0.5
        bnraw = (hprebn - bnmean) * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        dlogits = F.softmax(logits, 1)
        dlogits[range(n), Yb] -= 1
        dlogits /= n
        dh = dlogits @ W2.T
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(0)
        dhpreact = (1.0 - h**2) * dh
        dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
        dbnbias = dhpreact.sum(0, keepdim=True)
        dhprebn = bngain * bnvar_inv / n * (
            n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0)
        )
        dembcat = dhprebn @ W1.T
        dW1 = embcat.T @ dhprebn
        db1 = dhprebn.sum(0)
        demb = dembcat.view(emb.shape)
        dC = torch.zeros_like(C)
        if loop:
            for k in range(Xb.shape[0]):
                for j in range(Xb.shape[1]):
                    ix = Xb[k, j]
                    dC[ix] += demb[k, j]
        else:
            dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))
        lr = 0.1 if i < 100000 else 0.01
        for p, grad in zip(parameters, [dC, dW1, db1, dW2, db2, dbngain, dbnbias]):
            p.data += -lr * grad
        return loss

    return step


def ex1_stepper(Xtr, Ytr):
    """The exercise-1 atomic forward pass as the lecture writes it, then loss.backward()."""
    parameters, g = params(64)
    C, W1, b1, W2, b2, bngain, bnbias = parameters
    for p in parameters:
        p.requires_grad = True
    n = 32

    def step():
        ix = torch.randint(0, Xtr.shape[0], (n,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
        bndiff = hprebn - bnmeani
        bndiff2 = bndiff**2
        bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
        bnvar_inv = (bnvar + 1e-5) ** -0.5
        bnraw = bndiff * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        logit_maxes = logits.max(1, keepdim=True).values
        norm_logits = logits - logit_maxes
        counts = norm_logits.exp()
        counts_sum = counts.sum(1, keepdims=True)
        counts_sum_inv = counts_sum**-1
        probs = counts * counts_sum_inv
        logprobs = probs.log()
        loss = -logprobs[range(n), Yb].mean()
        for p in parameters:
            p.grad = None
        for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes,
                  logits, h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
                  embcat, emb]:
            t.retain_grad()
        loss.backward()
        return loss

    return step


def uniform(shape, scale, grad=True):
    return ((torch.rand(shape) * 2 - 1) * scale).requires_grad_(grad)


def chain_stepper(n):
    """sum(tanh(a @ b)) for n x n float32 a and b: forward and backward."""
    torch.manual_seed(n)
    a, b = uniform((n, n), 1.0), uniform((n, n), 1 / n**0.5)

    def step():
        loss = torch.tanh(a @ b).sum()
        a.grad = b.grad = None
        loss.backward()
        return loss

    return step


def mlp_stepper(batch=512, hidden=1024, classes=10):
    """The MLP: two hidden layers of 1024, tanh, cross-entropy; forward, backward, SGD."""
    torch.manual_seed(7)
    x = uniform((batch, hidden), 1.0, grad=False)
    y = torch.randint(0, classes, (batch,))
    sizes = [(hidden, hidden), (hidden, hidden), (hidden, classes)]
    layers = [(uniform(s, 1 / s[0] ** 0.5), uniform(s[1], 0.1)) for s in sizes]
    params = [p for layer in layers for p in layer]

    def step():
        (W1, b1), (W2, b2), (W3, b3) = layers
        h1 = torch.tanh(x @ W1 + b1)
        h2 = torch.tanh(h1 @ W2 + b2)
        loss = F.cross_entropy(h2 @ W3 + b3, y)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.01 * p.grad
        return loss

    return step


def time_case(step, repeats, steps=None, warmup_s=1.5, repeat_s=0.4):
    """Median over repeats of CPU time per step (as exercises/bench/timing.ts), and of wall time.
    With `steps` unset, warms up for about warmup_s (at most 5000 calls) and sizes each repeat
    to about repeat_s, as timing.ts's timeFor does."""
    t0 = time.perf_counter()
    calls = 0
    while True:
        step()
        calls += 1
        if steps is not None and calls >= max(steps // 2, 1):
            break
        if steps is None and (calls >= 5000 or time.perf_counter() - t0 >= warmup_s):
            break
    if steps is None:
        steps = max(1, round(repeat_s / ((time.perf_counter() - t0) / calls)))
    cpu, wall = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(steps):
            step()
        wall.append((time.perf_counter() - t0) * 1000 / steps)
        cpu.append((time.process_time() - c0) * 1000 / steps)
    median = lambda xs: sorted(xs)[len(xs) // 2]
    return median(cpu), median(wall), cpu


def blas_info():
    """Which BLAS this process multiplies with: torch's build settings, the BLAS library mapped into
    the process, and what OpenBLAS says of itself (config, the CPU kernels it chose, threads)."""
    config = torch.__config__.show()
    setting = (re.search(r"BLAS_INFO=\w+", config) or [""])[0]
    torch.ones(4, 4) @ torch.ones(4, 4)  # make sure the library is loaded
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower()
                   and line.split()[-1].startswith("/")})
    info = {"torch": torch.__version__, "blasInfo": setting, "blasLibraries": libs,
            "torchThreads": torch.get_num_threads(), "openblas": None}
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
            handle.openblas_get_config.restype = ctypes.c_char_p
            handle.openblas_get_corename.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue
        info["openblas"] = {
            "library": lib,
            "config": handle.openblas_get_config().decode(),
            "core": handle.openblas_get_corename().decode(),
            "threads": handle.openblas_get_num_threads(),
        }
        break
    return info


def main():
    args = sys.argv[1:]
    path = args[0]
    opt = lambda name, default: args[args.index(name) + 1] if name in args else default
    threads = int(opt("--threads", "1"))
    torch.set_num_threads(threads)
    steps, repeats = int(opt("--steps", "500")), int(opt("--repeats", "7"))
    print(json.dumps({"case": "info", **blas_info()}), flush=True)
    which = opt("--cases", "lecture")
    cases = ()
    if which == "lecture":
        Xtr, Ytr = dataset(path)
        cases = (
            ("ex4-step", lambda: ex4_stepper(Xtr, Ytr, loop=True), steps),
            ("ex4-step-index-add", lambda: ex4_stepper(Xtr, Ytr, loop=False), steps),
            ("ex1-step", lambda: ex1_stepper(Xtr, Ytr), steps),
        )
    elif which == "scale":
        sizes = [int(s) for s in opt("--sizes", "64,128,256,512,1024").split(",")]
        cases = tuple((f"chain {n}", lambda n=n: chain_stepper(n), None) for n in sizes)
        cases += (("mlp 512x1024", mlp_stepper, None),)
    for name, make, n in cases:
        cpu, wall, times = time_case(make(), repeats, n)
        line = {"case": name, "msPerStep": cpu, "wallMsPerStep": wall, "repeats": times}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
