/**
 * Exercise 1, by hand: the backward pass of every line of the forward pass, written as the lecture
 * writes it, with the lecture's line beside each rule.
 *
 * Each rule gets its line's upstream gradient (`dprobs` for the line `probs = …`) and the forward
 * values, and returns one input's contribution. Where a value feeds two lines (counts, logits,
 * bndiff, hprebn) each line's rule returns only its own part; the engine adds them, which is the
 * lecture's `+=`.
 *
 * Every rule runs the same kernels in the same order as the engine's automatic rule for that
 * node, so the comparison is exact (bit-equal), as in the lecture. Where the lecture's own
 * spelling would round differently, the comment says so: `(1/probs) * dlogprobs` is written
 * `dlogprobs / probs`, which is the same math and the engine's rounding.
 * @module
 */
import { Tensor } from "../../ops/kernels/tensor.ts";
import * as t from "../../ops/kernels/mod.ts";
import type { Ex1Rules } from "../model/lines.ts";

/** Reduce over `axis`, keeping it as size 1 (the lecture's `keepdim=True`). */
const keep = (axis: number) => ({ axis, keepdim: true });
/** Reduce over `axis` and drop it. */
const drop = (axis: number) => ({ axis, keepdim: false });
/** `a @ bᵀ` and `aᵀ @ b`, read in place. */
const timesT = { transA: false, transB: true };
const tTimes = { transA: true, transB: false };

/** The hand-written backward pass of exercise 1: `ex1Rules.<line>.<input>`. */
export const ex1Rules: Ex1Rules = {
  // loss = -logprobs[range(n), Yb].mean()
  loss: {
    // dlogprobs = zeros; dlogprobs[range(n), Yb] = -1/n · dloss
    logprobs: ({ dloss, logprobs, Yb, n }) =>
      t.unpick(t.expand(t.neg(dloss), [n], 0, 1 / n), Yb, logprobs.shape),
  },
  // logprobs = probs.log()
  logprobs: {
    // dprobs = (1.0 / probs) * dlogprobs
    probs: ({ dlogprobs, probs }) => t.div(dlogprobs, probs),
  },
  // probs = counts * counts_sum_inv        (32, 27) · (32, 1): counts_sum_inv is broadcast
  probs: {
    // dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    counts_sum_inv: ({ dprobs, counts }) => t.sum(t.mul(counts, dprobs), keep(1)),
    // dcounts = counts_sum_inv * dprobs
    counts: ({ dprobs, counts_sum_inv }) => t.mul(counts_sum_inv, dprobs),
  },
  // counts_sum_inv = counts_sum**-1
  counts_sum_inv: {
    // dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
    counts_sum: ({ dcounts_sum_inv, counts_sum }) =>
      t.mul(t.neg(t.pow(counts_sum, -2)), dcounts_sum_inv),
  },
  // counts_sum = counts.sum(1, keepdim=True)
  counts_sum: {
    // dcounts += torch.ones_like(counts) * dcounts_sum: spread along each row
    counts: ({ dcounts_sum, counts }) => t.expand(dcounts_sum, counts.shape, 1),
  },
  // counts = norm_logits.exp()
  counts: {
    // dnorm_logits = counts * dcounts
    norm_logits: ({ dcounts, counts }) => t.mul(counts, dcounts),
  },
  // norm_logits = logits - logit_maxes      (32, 27) − (32, 1)
  norm_logits: {
    // dlogits = dnorm_logits.clone(): the engine never writes into a rule's result
    logits: ({ dnorm_logits }) => dnorm_logits,
    // dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    logit_maxes: ({ dnorm_logits }) => t.sum(t.neg(dnorm_logits), keep(1)),
  },
  // logit_maxes = logits.max(1, keepdim=True).values
  logit_maxes: {
    // dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    logits: ({ dlogit_maxes, logits }) => {
      const indices = new Int32Array(logits.shape[0]);
      t.max(logits, keep(1), indices);
      const oneHot = t.oneHot(
        new Tensor(indices, [indices.length]),
        logits.shape[1],
        undefined,
        logits,
      );
      return t.mul(oneHot, dlogit_maxes);
    },
  },
  // logits = h @ W2 + b2
  logits: {
    // dh = dlogits @ W2.T
    h: ({ dlogits, W2 }) => t.matmul(dlogits, W2, timesT),
    // dW2 = h.T @ dlogits
    W2: ({ dlogits, h }) => t.matmul(h, dlogits, tTimes),
    // db2 = dlogits.sum(0)
    b2: ({ dlogits }) => t.sum(dlogits, drop(0)),
  },
  // h = torch.tanh(hpreact)
  h: {
    // dhpreact = (1.0 - h**2) * dh; `1 − h²` is one kernel, rounded once, as the engine's tanh rule
    hpreact: ({ dh, h }) => t.mul(t.oneMinusSquare(h), dh),
  },
  // hpreact = bngain * bnraw + bnbias      (1, 64) · (32, 64) + (1, 64)
  hpreact: {
    // dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    bngain: ({ dhpreact, bnraw }) => t.sum(t.mul(bnraw, dhpreact), keep(0)),
    // dbnraw = bngain * dhpreact
    bnraw: ({ dhpreact, bngain }) => t.mul(bngain, dhpreact),
    // dbnbias = dhpreact.sum(0, keepdim=True)
    bnbias: ({ dhpreact }) => t.sum(dhpreact, keep(0)),
  },
  // bnraw = bndiff * bnvar_inv              (32, 64) · (1, 64)
  bnraw: {
    // dbndiff = bnvar_inv * dbnraw
    bndiff: ({ dbnraw, bnvar_inv }) => t.mul(bnvar_inv, dbnraw),
    // dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    bnvar_inv: ({ dbnraw, bndiff }) => t.sum(t.mul(bndiff, dbnraw), keep(0)),
  },
  // bnvar_inv = (bnvar + 1e-5)**-0.5
  bnvar_inv: {
    // dbnvar = (-0.5 * (bnvar + 1e-5)**-1.5) * dbnvar_inv
    bnvar: ({ dbnvar_inv, bnvar }) =>
      t.mul(t.mul(-0.5, t.pow(t.add(bnvar, 1e-5), -1.5)), dbnvar_inv),
  },
  // bnvar = 1/(n-1) * bndiff2.sum(0, keepdim=True)
  bnvar: {
    // dbndiff2 = (1.0/(n-1)) * torch.ones_like(bndiff2) * dbnvar: spread down each column
    bndiff2: ({ dbnvar, bndiff2, n }) => t.expand(t.mul(1 / (n - 1), dbnvar), bndiff2.shape, 0),
  },
  // bndiff2 = bndiff**2
  bndiff2: {
    // dbndiff += (2 * bndiff) * dbndiff2
    bndiff: ({ dbndiff2, bndiff }) => t.mul(t.mul(2, bndiff), dbndiff2),
  },
  // bndiff = hprebn - bnmeani               (32, 64) − (1, 64)
  bndiff: {
    // dhprebn = dbndiff.clone()
    hprebn: ({ dbndiff }) => dbndiff,
    // dbnmeani = (-dbndiff).sum(0, keepdim=True)
    bnmeani: ({ dbndiff }) => t.sum(t.neg(dbndiff), keep(0)),
  },
  // bnmeani = 1/n * hprebn.sum(0, keepdim=True)
  bnmeani: {
    // dhprebn += 1.0/n * (torch.ones_like(hprebn) * dbnmeani): spread down each column
    hprebn: ({ dbnmeani, hprebn, n }) => t.expand(t.mul(1 / n, dbnmeani), hprebn.shape, 0),
  },
  // hprebn = embcat @ W1 + b1
  hprebn: {
    // dembcat = dhprebn @ W1.T
    embcat: ({ dhprebn, W1 }) => t.matmul(dhprebn, W1, timesT),
    // dW1 = embcat.T @ dhprebn
    W1: ({ dhprebn, embcat }) => t.matmul(embcat, dhprebn, tTimes),
    // db1 = dhprebn.sum(0)
    b1: ({ dhprebn }) => t.sum(dhprebn, drop(0)),
  },
  // embcat = emb.view(emb.shape[0], -1)
  embcat: {
    // demb = dembcat.view(emb.shape)
    emb: ({ dembcat, emb }) => dembcat.reshape(emb.shape),
  },
  // emb = C[Xb]
  emb: {
    // for k, j: dC[Xb[k, j]] += demb[k, j]. A letter appears many times in a batch: its row's
    // contributions must add up, never overwrite each other.
    C: ({ demb, C, Xb }) => {
      const dC = Tensor.zeros(C.shape, C.dtype);
      const width = C.shape[1];
      for (let i = 0; i < Xb.size; i++) { // i walks Xb's (k, j) pairs row by row
        const row = Xb.data[i] * width, src = i * width;
        for (let d = 0; d < width; d++) dC.data[row + d] += demb.data[src + d];
      }
      return dC;
    },
  },
};
