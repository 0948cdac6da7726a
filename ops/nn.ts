/**
 * Composite ops: small subgraphs of atomic ops, labelled with the lecture's names. Their automatic
 * rule is backprop through the subgraph; `closedForm` holds the one-step rules that the lecture
 * derives by hand (exercise 2 for cross-entropy, exercise 3 for batchnorm).
 */
import { composite } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import * as b from "./build.ts";
import { pick } from "./indexing.ts";
import { batchNormForward, crossEntropyForward, linearForward } from "./kernels/fused.ts";

/** matmul's attributes for g @ wᵀ and xᵀ @ g, made once: not on every call of a rule. */
const B_TRANSPOSED = { transA: false, transB: true } as const;
const A_TRANSPOSED = { transA: true, transB: false } as const;

/** −mean over the batch of log softmax(logits)[i, targets[i]], built as the lecture's steps. */
export const crossEntropy = composite({
  name: "cross_entropy",
  inputs: ["logits", "targets"],
  nondiff: ["targets"],
  build: ({ logits, targets }) => {
    const logitMaxes = b.max(logits, 1, true).named("logit_maxes");
    const normLogits = b.sub(logits, logitMaxes).named("norm_logits");
    const counts = b.exp(normLogits).named("counts");
    const countsSum = b.sum(counts, 1, true).named("counts_sum");
    const countsSumInv = b.pow(countsSum, -1).named("counts_sum_inv");
    const probs = b.mul(counts, countsSumInv).named("probs");
    const logprobs = b.log(probs).named("logprobs");
    // The lecture's logprobs[range(n), Yb]; a target out of range is reported as crossEntropy's.
    const picked = b.apply(pick, { x: logprobs, idx: targets }, { targets: true }).named("picked");
    return b.neg(b.mean(picked, 0).named("picked_mean")).named("loss");
  },
  fused: crossEntropyForward,
  closedForm: {
    // dlogits = (softmax(logits) − onehot(targets)) / n · g
    logits: ({ g, inputs: { targets }, saved: { probs } }) => t.probsMinusOneHot(probs, targets, g),
  },
});

/** Batch normalisation in training mode: batch mean, unbiased batch variance, gain and bias. */
export const batchNorm = composite<"x" | "gain" | "bias", { eps: number }>({
  name: "batchnorm",
  inputs: ["x", "gain", "bias"],
  build: ({ x, gain, bias }, { eps }) => {
    const n = x.shape[0];
    const bnmeani = b.mul(1 / n, b.sum(x, 0, true).named("bnsum")).named("bnmeani");
    const bndiff = b.sub(x, bnmeani).named("bndiff");
    const bndiff2 = b.pow(bndiff, 2).named("bndiff2");
    const bnvar = b.mul(1 / (n - 1), b.sum(bndiff2, 0, true).named("bnvarsum")).named("bnvar");
    const bnvarInv = b.pow(b.add(bnvar, eps).named("bnvar_eps"), -0.5).named("bnvar_inv");
    const bnraw = b.mul(bndiff, bnvarInv).named("bnraw");
    return b.add(b.mul(gain, bnraw).named("bnscaled"), bias).named("hpreact");
  },
  fused: batchNormForward,
  closedForm: {
    // dx = gain·bnvar_inv/n · (n·g − Σg − n/(n−1)·bnraw·Σ(g·bnraw)), sums over the batch
    x: ({ g, inputs: { gain }, saved: { bnraw, bnvar_inv } }) =>
      t.batchNormDx(g, gain, bnraw, bnvar_inv),
    // dgain = Σ g·bnraw over the batch
    gain: ({ g, inputs: { gain }, saved: { bnraw } }) => t.mulSumTo(g, bnraw, gain.shape),
    // dbias = Σ g over the batch
    bias: ({ g, inputs: { bias } }) => t.sumTo(g, bias.shape),
  },
});

/** x @ w + b. */
export const linear = composite({
  name: "linear",
  inputs: ["x", "w", "b"],
  build: ({ x, w, b: bias }) => b.add(b.matmul(x, w).named("xw"), bias).named("out"),
  fused: linearForward,
  closedForm: {
    x: ({ g, inputs: { w } }) => t.matmul(g, w, B_TRANSPOSED), // dx = g @ wᵀ
    w: ({ g, inputs: { x } }) => t.matmul(x, g, A_TRANSPOSED), // dw = xᵀ @ g
    b: ({ g, inputs: { b } }) => t.sumTo(g, b.shape),
  },
});
