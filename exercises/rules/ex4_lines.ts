/**
 * Exercise 4, by hand, as a learner writes it: the whole backward pass of the training step, one
 * rule per line and input, with the lecture's line above each. Cross-entropy and batchnorm are
 * exercises 2's and 3's one-step rules; the rest are exercise 1's rules for the same lines.
 * `deno task ninja train` trains with a table like this one; `deno task train` installs the
 * engine-level table of `ex4.ts`, which computes the same gradients.
 * @module
 */
import { Tensor } from "../../ops/kernels/tensor.ts";
import * as t from "../../ops/kernels/mod.ts";
import type { Ex4Rules } from "../ninja/lines.ts";
import { ex2Rules } from "./ex2.ts";
import { ex3Rules } from "./ex3.ts";

const keep = (axis: number) => ({ axis, keepdim: true });
const drop = (axis: number) => ({ axis, keepdim: false });
/** `a @ bᵀ` and `aᵀ @ b`, read in place. */
const timesT = { transA: false, transB: true };
const tTimes = { transA: true, transB: false };

/** The hand-written backward pass of exercise 4: `ex4Rules.<line>.<input>`. */
export const ex4Rules: Ex4Rules = {
  // loss = F.cross_entropy(logits, Yb): exercise 2
  loss: { logits: ex2Rules.loss.logits },
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
    // dhpreact = (1.0 - h**2) * dh
    hpreact: ({ dh, h }) => t.mul(t.oneMinusSquare(h), dh),
  },
  // hpreact = bngain * (hprebn - bnmeani) * bnvar_inv + bnbias
  hpreact: {
    // exercise 3
    hprebn: ex3Rules.hpreact.hprebn,
    // dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    bngain: ({ dhpreact, bnraw }) => t.sum(t.mul(bnraw, dhpreact), keep(0)),
    // dbnbias = dhpreact.sum(0, keepdim=True)
    bnbias: ({ dhpreact }) => t.sum(dhpreact, keep(0)),
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
    // for k, j: dC[Xb[k, j]] += demb[k, j]: letters repeat, so their rows' contributions add up
    C: ({ demb, C, Xb }) => {
      const dC = Tensor.zeros(C.shape, C.dtype);
      const width = C.shape[1];
      for (let i = 0; i < Xb.size; i++) {
        const row = Xb.data[i] * width, src = i * width;
        for (let d = 0; d < width; d++) dC.data[row + d] += demb.data[src + d];
      }
      return dC;
    },
  },
};
