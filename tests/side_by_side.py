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
Makemore cases (--cases makemore [--models transformer,gru,mlp]): makemore-TYPE, one training step
  of makemore.py's model TYPE at its default sizes (n_layer 4, n_head 4, n_embd 64, n_embd2 64,
  batch 32, words padded to 16 with -1 targets), written here in plain torch as the engine's
  exercises/makemore/ writes them: a minibatch drawn, forward, backward, AdamW (betas 0.9, 0.99).

The first line printed describes the PyTorch and the BLAS it loaded (torch.__config__.show(), the
BLAS library mapped into this process and what OpenBLAS says of itself); then one JSON line per
case: {"case": "ex4-step", "msPerStep": ..., "wallMsPerStep": ...}, msPerStep being the median CPU
time per step (see exercises/bench/timing.ts).
Usage: python3 tests/side_by_side.py NAMES_FILE [--threads T] [--cases lecture|scale|makemore|none]
  [--sizes 64,128] [--steps N] [--repeats R]
Run it with OPENBLAS_NUM_THREADS=T as well: torch.set_num_threads does not reach OpenBLAS.
"""

import ctypes
import json
import math
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


def names_rows(path):
    """makemore's encoding: x = [0, word, 0...], y = [word, 0, -1...], 16 wide for the names."""
    words = [w.strip() for w in open(path).read().splitlines() if w.strip()]
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    T = max(len(w) for w in words) + 1
    X = torch.zeros(len(words), T, dtype=torch.long)
    Y = torch.full((len(words), T), -1, dtype=torch.long)
    for i, w in enumerate(words):
        ix = torch.tensor([stoi[c] for c in w], dtype=torch.long)
        X[i, 1:1 + len(w)] = ix
        Y[i, :len(w)] = ix
        Y[i, len(w)] = 0
    return X, Y, len(chars) + 1, T


class LM(torch.nn.Module):
    """The makemore models, one class: `kind` picks the forward (sizes as makemore's defaults)."""

    def __init__(self, kind, vocab, T, n_layer=4, n_head=4, n_embd=64, n_embd2=64):
        super().__init__()
        nn = torch.nn
        self.kind, self.T, self.vocab, self.n_head = kind, T, vocab, n_head
        if kind == "bigram":
            self.table = nn.Parameter(torch.zeros(vocab, vocab))
        elif kind == "mlp":
            self.wte = nn.Embedding(vocab + 1, n_embd)
            self.net = nn.Sequential(nn.Linear(T * n_embd, n_embd2), nn.Tanh(), nn.Linear(n_embd2, vocab))
        elif kind in ("rnn", "gru"):
            self.start = nn.Parameter(torch.zeros(1, n_embd2))
            self.wte = nn.Embedding(vocab, n_embd)
            gates = 1 if kind == "rnn" else 3
            self.gates = nn.ModuleList(nn.Linear(n_embd + n_embd2, n_embd2) for _ in range(gates))
            self.head = nn.Linear(n_embd2, vocab)
        elif kind == "bow":
            self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(T, n_embd)
            self.fc, self.proj = nn.Linear(n_embd, n_embd2), nn.Linear(n_embd2, n_embd)
            self.head = nn.Linear(n_embd, vocab)
        else:
            self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(T, n_embd)
            self.blocks = nn.ModuleList(nn.ModuleDict(dict(
                ln1=nn.LayerNorm(n_embd), qkv=nn.Linear(n_embd, 3 * n_embd), o=nn.Linear(n_embd, n_embd),
                ln2=nn.LayerNorm(n_embd), fc=nn.Linear(n_embd, 4 * n_embd), proj=nn.Linear(4 * n_embd, n_embd),
            )) for _ in range(n_layer))
            self.lnf, self.head = nn.LayerNorm(n_embd), nn.Linear(n_embd, vocab, bias=False)
        self.register_buffer("future", torch.triu(torch.ones(T, T, dtype=torch.bool), 1))

    def forward(self, idx):
        B, T = idx.shape
        if self.kind == "bigram":
            return self.table[idx]
        if self.kind == "mlp":
            embs = []
            for _ in range(self.T):
                embs.append(self.wte(idx))
                idx = torch.roll(idx, 1, 1)
                idx[:, 0] = self.vocab
            return self.net(torch.cat(embs, -1))
        if self.kind in ("rnn", "gru"):
            emb, h, hs = self.wte(idx), self.start.expand(B, -1), []
            for t in range(T):
                x = emb[:, t, :]
                xh = torch.cat([x, h], 1)
                if self.kind == "rnn":
                    h = torch.tanh(self.gates[0](xh))
                else:
                    z, r = torch.sigmoid(self.gates[0](xh)), torch.sigmoid(self.gates[1](xh))
                    hbar = torch.tanh(self.gates[2](torch.cat([x, r * h], 1)))
                    h = (1 - z) * h + z * hbar
                hs.append(h)
            return self.head(torch.stack(hs, 1))
        x = self.wte(idx) + self.wpe(torch.arange(T))
        mask = self.future[:T, :T]
        if self.kind == "bow":
            att = F.softmax(torch.zeros(B, T, T).masked_fill(mask, float("-inf")), -1)
            x = x + att @ x
            return self.head(x + self.proj(torch.tanh(self.fc(x))))
        for b in self.blocks:
            C = x.size(-1)
            q, k, v = b.qkv(b.ln1(x)).split(C, 2)
            q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = F.softmax(att.masked_fill(mask, float("-inf")), -1)
            x = x + b.o((att @ v).transpose(1, 2).contiguous().view(B, T, C))
            h = b.fc(b.ln2(x))
            h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
            x = x + b.proj(h)
        return self.head(self.lnf(x))


def makemore_stepper(kind, X, Y, vocab, T, batch=32):
    torch.manual_seed(3407)
    model = LM(kind, vocab, T)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)

    def step():
        ix = torch.randint(0, X.shape[0], (batch,))
        logits = model(X[ix])
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), Y[ix].view(-1), ignore_index=-1)
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
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
    elif which == "makemore":
        X, Y, vocab, T = names_rows(path)
        kinds = opt("--models", "bigram,mlp,rnn,gru,bow,transformer").split(",")
        cases = tuple((f"makemore-{k}", lambda k=k: makemore_stepper(k, X, Y, vocab, T), None)
                      for k in kinds)
    for name, make, n in cases:
        cpu, wall, times = time_case(make(), repeats, n)
        line = {"case": name, "msPerStep": cpu, "wallMsPerStep": wall, "repeats": times}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
