/**
 * Cross-entropy over the last axis of logits of any rank, with PyTorch's `ignore_index` and
 * `label_smoothing`: each row is computed in double (max-shifted log-sum-exp) and the mean over
 * the rows that count is rounded once.
 */
import { NinjagradError } from "./errors.ts";
import { overwritten, type Tensor } from "./tensor.ts";
import { fastExp } from "./fastmath.ts";

/** The error for a target outside 0..c−1, naming crossEntropy and how to skip padding. */
export function targetOutside(target: number, position: number, c: number): NinjagradError {
  return new NinjagradError(
    `crossEntropy: target ${target} at position ${position} is outside 0..${
      c - 1
    }: pass { ignoreIndex: ${target} } if it marks padding`,
  );
}

/** Throws `targetOutside` for the first target outside 0..c−1. */
export function checkTargets(targets: Tensor, c: number): void {
  const d = targets.data;
  for (let i = 0; i < d.length; i++) if (!(d[i] >= 0 && d[i] < c)) throw targetOutside(d[i], i, c);
}

/** What the forward keeps for the rule: the softmax of every row and how many rows counted. */
export interface CrossEntropySaved {
  /** softmax(logits) along the last axis (zeros in ignored rows). */
  probs: Tensor;
  /** The rows whose target is not `ignoreIndex`. */
  count: number;
}

/**
 * loss = Σ over counted rows of (1 − ε)·(−log p[t]) + ε·mean_c(−log p[c]), divided by the
 * number of counted rows (NaN when none counts, as PyTorch). Throws, naming the position, for a
 * target outside 0..C−1 that is not `ignoreIndex`.
 */
export function crossEntropyRows(
  logits: Tensor,
  targets: Tensor,
  ignoreIndex: number,
  smoothing: number,
  out: Tensor,
  prev: CrossEntropySaved | undefined,
): CrossEntropySaved {
  const c = logits.shape[logits.shape.length - 1], rows = targets.size;
  const probs = prev !== undefined && prev.probs.size === logits.size &&
      prev.probs.dtype === logits.dtype
    ? prev.probs
    : overwritten(logits.shape, logits.dtype);
  const x = logits.data, t = targets.data, p = probs.data;
  // Float32 logits take fastmath's exp (Math.exp is a call into C, twice per logit): the same
  // float32 probabilities and loss but for rare near-ties (fastmath.ts); float64 keeps Math.exp.
  const exp = x instanceof Float32Array ? fastExp : Math.exp;
  let total = 0, count = 0;
  for (let i = 0, base = 0; i < rows; i++, base += c) {
    const target = t[i];
    if (target === ignoreIndex) {
      p.fill(0, base, base + c);
      continue;
    }
    if (!(target >= 0 && target < c)) throw targetOutside(target, i, c);
    let max = -Infinity, mean = 0;
    for (let j = 0; j < c; j++) {
      if (x[base + j] > max) max = x[base + j];
      mean += x[base + j];
    }
    let sum = 0;
    for (let j = 0; j < c; j++) sum += exp(x[base + j] - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < c; j++) p[base + j] = exp(x[base + j] - lse);
    total += (1 - smoothing) * (lse - x[base + target]) + smoothing * (lse - mean / c);
    count++;
  }
  out.data[0] = total / count;
  return { probs, count };
}

/** d loss/d logits · g = g/count · (p − (1 − ε)·onehot(t) − ε/C), 0 in ignored rows. */
export function crossEntropyRowsBackward(
  g: Tensor,
  targets: Tensor,
  ignoreIndex: number,
  smoothing: number,
  { probs, count }: CrossEntropySaved,
): Tensor {
  const res = overwritten(probs.shape, probs.dtype);
  const c = probs.shape[probs.shape.length - 1], rows = targets.size;
  const scale = g.data[0] / count, even = smoothing / c, t = targets.data;
  const p = probs.data, o = res.data;
  for (let i = 0, base = 0; i < rows; i++, base += c) {
    if (t[i] === ignoreIndex) {
      o.fill(0, base, base + c);
      continue;
    }
    for (let j = 0; j < c; j++) o[base + j] = scale * (p[base + j] - even);
    o[base + t[i]] -= scale * (1 - smoothing);
  }
  return res;
}
