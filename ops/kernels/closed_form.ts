/**
 * Kernels of the composite ops' closed-form rules (ops/nn.ts): each rule's formula in one or two
 * passes over the batch instead of a pass per elementwise kernel. Each computes what its formula
 * computes kernel by kernel (written out in each function's fallback): the same operations in
 * the same order, every result rounded to the dtype, sums over the batch in row order, so a rule
 * gives the same bits either way (tests/kernels_test.ts). Float32 batches run on WebAssembly
 * SIMD; other dtypes and shapes run the formula.
 */
import { NinjagradError } from "./errors.ts";
import { overwritten, sameShape, type Shape, Tensor } from "./tensor.ts";
import { div, mul, sub } from "./elementwise.ts";
import { sum } from "./reduce.ts";
import { sumTo } from "./broadcast.ts";
import { oneHot } from "./indexing.ts";
import { bnBackwardF32, colsumMulF32, SIMD_MIN } from "./simd.ts";

const OVER_BATCH = { axis: 0, keepdim: true } as const;

/** Whether `t` holds one value per column of a (rows, width) batch: shape (width) or (1, width). */
function isRow(shape: Shape, width: number): boolean {
  if (shape.length === 0 || shape.length > 2 || shape[shape.length - 1] !== width) return false;
  return shape.length === 1 || shape[0] === 1;
}

/** Whether `g` is a float32 (rows, width) batch big enough for the WebAssembly kernels. */
function isBatch32(g: Tensor): boolean {
  return g.shape.length === 2 && g.data instanceof Float32Array && g.size >= SIMD_MIN;
}

/**
 * Batchnorm's dx = gain·bnvar_inv/n · (n·g − Σg − n/(n−1)·bnraw·Σ(g·bnraw)), sums over the
 * batch, for g and bnraw (n, width) and gain and bnvar_inv one value per column.
 */
export function batchNormDx(g: Tensor, gain: Tensor, bnraw: Tensor, bnvarInv: Tensor): Tensor {
  const n = g.shape[0];
  if (
    isBatch32(g) && bnraw.data instanceof Float32Array && sameShape(bnraw.shape, g.shape) &&
    gain.data instanceof Float32Array && bnvarInv.data instanceof Float32Array &&
    isRow(gain.shape, g.shape[1]) && isRow(bnvarInv.shape, g.shape[1])
  ) {
    const res = overwritten(g.shape, "float32"), f = Math.fround;
    const { data } = res, width = g.shape[1];
    if (
      bnBackwardF32(
        g.data,
        bnraw.data,
        gain.data,
        bnvarInv.data,
        data,
        n,
        width,
        f(n),
        f(n / (n - 1)),
      )
    ) {
      return res;
    }
  }
  const inner = sub(
    sub(mul(n, g), sum(g, OVER_BATCH)),
    mul(n / (n - 1), mul(bnraw, sum(mul(g, bnraw), OVER_BATCH))),
  );
  return mul(div(mul(gain, bnvarInv), n), inner);
}

/** sumTo(a·b, shape): an elementwise product summed over the batch (batchnorm's dgain). */
export function mulSumTo(a: Tensor, b: Tensor, shape: Shape): Tensor {
  const rows = a.shape[0], width = a.shape[1];
  if (
    isBatch32(a) && b.data instanceof Float32Array && sameShape(a.shape, b.shape) && rows > 1 &&
    width > 1 && isRow(shape, width)
  ) {
    const res = Tensor.zeros(shape, "float32");
    if (colsumMulF32(a.data, b.data, res.data, rows, width)) return res;
  }
  return sumTo(mul(a, b), shape);
}

/**
 * (probs − onehot(targets)) · g / n, for probs (n, classes), targets (n) and one upstream value g:
 * cross-entropy's dlogits. probs·(g/n) in one pass, then each row's target entry, (p − 1)·(g/n).
 */
export function probsMinusOneHot(probs: Tensor, targets: Tensor, g: Tensor): Tensor {
  const [n, classes] = probs.shape, T = targets.data;
  if (probs.shape.length !== 2 || g.size !== 1 || !(T instanceof Int32Array) || T.length !== n) {
    return formula(probs, targets, g);
  }
  for (let i = 0; i < n; i++) if (!(T[i] >= 0 && T[i] < classes)) return formula(probs, targets, g);
  // g / n as div(g, n) rounds it: n meets a float32 g as a float32.
  const f32 = g.data instanceof Float32Array, f = Math.fround;
  const scale = f32 ? f(g.data[0] / f(n)) : g.data[0] / n;
  const res = mul(probs, scale), o = res.data, p = probs.data;
  const round = o instanceof Float32Array ? f : (x: number) => x;
  for (let i = 0; i < n; i++) {
    const at = i * classes + T[i];
    o[at] = round(p[at] - 1) * scale;
  }
  return res;
}

/** `probsMinusOneHot` kernel by kernel. */
function formula(probs: Tensor, targets: Tensor, g: Tensor): Tensor {
  if (probs.shape.length !== 2) {
    throw new NinjagradError(`cross-entropy's dlogits needs (n, classes) probabilities`);
  }
  const [n, classes] = probs.shape;
  return mul(sub(probs, oneHot(targets, classes, undefined, probs)), div(g, n));
}
