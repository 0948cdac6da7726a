/**
 * Fused forwards of the composite ops (ops/nn.ts): each evaluates its whole subgraph at once
 * instead of node by node, writing every node's value where the subgraph keeps it. Every
 * intermediate is stored in its node's buffer (and read back from it), so it is rounded exactly
 * as the node-by-node evaluation rounds it, and the same kernels' arithmetic runs in the same
 * order: the bits are the same (tests/kernels_test.ts checks it, in both dtypes). Each returns
 * false for shapes it does not handle; the engine then evaluates node by node.
 */
import type { Tensor, TensorData } from "./tensor.ts";
import { add, exp, log, mul, pow, sub } from "./elementwise.ts";
import { LONG_ROW, rowSums, sum } from "./reduce.ts";
import { matmul } from "./matmul.ts";
import { batchNormF32, crossEntropyF32, SIMD_MIN } from "./simd.ts";

/**
 * The buffers of a composite's subgraph by node label: each node's value, and what each node's
 * forward saved (the max node's arg-max indices). A fused forward writes them in place.
 */
export interface FusedBuffers {
  /** Each labelled node's value. */
  readonly values: Readonly<Record<string, Tensor>>;
  /** What each labelled node's forward returned for its rules. */
  readonly saved: Readonly<Record<string, unknown>>;
}

/** A scalar as the kernels meet it: rounded to float32 when the output is float32. */
const scalarFor = (out: TensorData, s: number) => out instanceof Float32Array ? Math.fround(s) : s;

/** linear: xw = x @ w, out = xw + b. */
export function linearForward(
  { x, w, b }: Readonly<Record<"x" | "w" | "b", Tensor>>,
  { values: nodes }: FusedBuffers,
): boolean {
  matmul(x, w, PLAIN, nodes.xw);
  add(nodes.xw, b, nodes.out);
  return true;
}

const PLAIN = { transA: false, transB: false } as const;

/**
 * batchnorm (training mode, over the batch axis of x (n, width)): the subgraph's kernels called
 * straight into its nodes' buffers, in its order, so the bits are the subgraph's by
 * construction; what it saves is the per-node work of the graph. (Float32 runs the kernels on
 * WebAssembly SIMD, where a hand-fused loop in JavaScript would be slower.)
 */
export function batchNormForward(
  { x, gain, bias }: Readonly<Record<"x" | "gain" | "bias", Tensor>>,
  { values: nodes }: FusedBuffers,
  { eps }: { eps: number },
): boolean {
  if (x.shape.length !== 2) return false;
  const n = x.shape[0], width = x.shape[1];
  if (
    x.data instanceof Float32Array && gain.data instanceof Float32Array &&
    bias.data instanceof Float32Array && x.size >= SIMD_MIN && isRow(gain, width) &&
    isRow(bias, width)
  ) {
    // The scalars as the subgraph's constants hold them: rounded to float32.
    const f = Math.fround, outs = bnOutputs;
    for (let k = 0; k < BN_RESULTS.length; k++) outs[k] = nodes[BN_RESULTS[k]].data;
    const done = batchNormF32(
      x.data,
      gain.data,
      bias.data,
      outs,
      n,
      width,
      f(1 / n),
      f(1 / (n - 1)),
      f(eps),
    );
    outs.fill(EMPTY);
    if (done) return true;
  }
  const v = (label: string) => nodes[label];
  sum(x, OVER_BATCH, v("bnsum"));
  mul(v("bnsum"), 1 / n, v("bnmeani"));
  sub(x, v("bnmeani"), v("bndiff"));
  pow(v("bndiff"), 2, v("bndiff2"));
  sum(v("bndiff2"), OVER_BATCH, v("bnvarsum"));
  mul(v("bnvarsum"), 1 / (n - 1), v("bnvar"));
  add(v("bnvar"), eps, v("bnvar_eps"));
  pow(v("bnvar_eps"), -0.5, v("bnvar_inv"));
  mul(v("bndiff"), v("bnvar_inv"), v("bnraw"));
  mul(gain, v("bnraw"), v("bnscaled"));
  add(v("bnscaled"), bias, v("hpreact"));
  return true;
}

const OVER_BATCH = { axis: 0, keepdim: true } as const;

/** The buffers handed to batchNormF32, one array for every call (emptied after each). */
const EMPTY = new Float32Array(0);
const bnOutputs: TensorData[] = new Array<TensorData>(11).fill(EMPTY);
/** The buffers handed to crossEntropyF32, likewise. */
const ceOutputs: TensorData[] = new Array<TensorData>(11).fill(EMPTY);

/** The batchnorm nodes in the order `batchNormF32` takes their buffers. */
const BN_RESULTS = [
  "bnsum",
  "bnmeani",
  "bnvarsum",
  "bnvar",
  "bnvar_eps",
  "bnvar_inv",
  "bndiff",
  "bndiff2",
  "bnraw",
  "bnscaled",
  "hpreact",
] as const;

/** Whether `t` broadcasts against (rows, width) as one row: shape (width) or (1, width). */
function isRow(t: Tensor, width: number): boolean {
  return t.size === width && t.shape[t.shape.length - 1] === width;
}

/**
 * cross-entropy of logits (n, classes) against int32 targets (n): the rows' maxes and shifted
 * logits, their exponentials (the exp kernel), the rows' sums and probabilities, their logs (the
 * log kernel), then the picked log-probabilities' mean. Targets out of range go to the node-by-node evaluation,
 * which says what is wrong.
 */
export function crossEntropyForward(
  { logits, targets }: Readonly<Record<"logits" | "targets", Tensor>>,
  { values: nodes, saved }: FusedBuffers,
): boolean {
  if (logits.shape.length !== 2 || !(targets.data instanceof Int32Array)) return false;
  const [n, classes] = logits.shape;
  const T = targets.data;
  if (T.length !== n) return false;
  for (let i = 0; i < n; i++) if (!(T[i] >= 0 && T[i] < classes)) return false;
  const L = logits.data, argmax = saved.logit_maxes;
  if (!(argmax instanceof Int32Array) || argmax.length !== n) return false;
  const maxes = nodes.logit_maxes.data, norm = nodes.norm_logits.data;
  const counts = nodes.counts.data, sums = nodes.counts_sum.data;
  const inv = nodes.counts_sum_inv.data, probs = nodes.probs.data;
  const logprobs = nodes.logprobs.data, picked = nodes.picked.data;
  const mean = nodes.picked_mean.data, loss = nodes.loss.data;
  // Float32 rows shorter than rowSums's long rows (summed in order, as the kernel sums them):
  // the whole forward in one call of WebAssembly.
  if (L instanceof Float32Array && n > 0 && classes > 0 && classes < LONG_ROW) {
    const outs = ceOutputs;
    outs[0] = maxes, outs[1] = argmax, outs[2] = norm, outs[3] = counts, outs[4] = sums;
    outs[5] = inv, outs[6] = probs, outs[7] = logprobs, outs[8] = picked, outs[9] = mean;
    outs[10] = loss;
    const done = crossEntropyF32(L, T, outs, n, classes, scalarFor(mean, 1 / n));
    outs.fill(EMPTY);
    if (done) return true;
  }
  // Each row's max, sum and reciprocal are kept in locals (read back from their buffers once,
  // so rounded as stored): the same arithmetic as the node kernels, without a typed-array load
  // and store per element.
  for (let i = 0; i < n; i++) {
    const row = i * classes, end = row + classes;
    let best = -Infinity, arg = 0;
    for (let k = 0; k < classes; k++) {
      const v = L[row + k];
      if (v > best || (k === 0 && v !== v)) {
        best = v;
        arg = k;
      }
    }
    maxes[i] = best;
    argmax[i] = arg;
    const m = maxes[i];
    for (let k = row; k < end; k++) norm[k] = L[k] - m;
  }
  exp(nodes.norm_logits, nodes.counts);
  rowSums(counts, sums, n, classes);
  for (let i = 0; i < n; i++) {
    const row = i * classes, end = row + classes;
    inv[i] = 1 / sums[i];
    const r = inv[i];
    for (let k = row; k < end; k++) probs[k] = counts[k] * r;
  }
  log(nodes.probs, nodes.logprobs);
  for (let i = 0; i < n; i++) picked[i] = logprobs[i * classes + T[i]];
  mean[0] = 0;
  for (let i = 0; i < n; i++) mean[0] += picked[i];
  mean[0] = mean[0] * scalarFor(mean, 1 / n);
  loss[0] = -mean[0];
  return true;
}
