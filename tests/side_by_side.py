"""PyTorch's side of tests/side_by_side.ts: the lecture's two workloads, timed in one thread.

ex4-step: one exercise-4 training step (n_hidden 200, batch 32) with the lecture's manual backward
written in torch ops (no autograd), batch sampling and the SGD update included.
ex1-step: the exercise-1 atomic forward pass (n_hidden 64, batch 32) and loss.backward().

Prints one JSON line per case: {"case": "ex4-step", "msPerStep": ..., "wallMsPerStep": ...},
msPerStep being the median CPU time per step (see exercises/bench/timing.ts).
Usage: python3 tests/side_by_side.py NAMES_FILE [--steps N] [--repeats R]
"""

import json
import random
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


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


def time_case(step, steps, repeats, warmup):
    """Median over repeats of CPU time per step (as exercises/bench/timing.ts), and of wall time."""
    for _ in range(warmup):
        step()
    cpu, wall = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(steps):
            step()
        wall.append((time.perf_counter() - t0) * 1000 / steps)
        cpu.append((time.process_time() - c0) * 1000 / steps)
    median = lambda xs: sorted(xs)[len(xs) // 2]
    return median(cpu), median(wall), cpu


def main():
    args = sys.argv[1:]
    path = args[0]
    opt = lambda name, default: int(args[args.index(name) + 1]) if name in args else default
    steps, repeats = opt("--steps", 500), opt("--repeats", 7)
    Xtr, Ytr = dataset(path)
    cases = (
        ("ex4-step", lambda: ex4_stepper(Xtr, Ytr, loop=True)),
        ("ex4-step-index-add", lambda: ex4_stepper(Xtr, Ytr, loop=False)),
        ("ex1-step", lambda: ex1_stepper(Xtr, Ytr)),
    )
    for name, make in cases:
        cpu, wall, times = time_case(make(), steps, repeats, warmup=steps // 2)
        line = {"case": name, "msPerStep": cpu, "wallMsPerStep": wall, "repeats": times}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
