/**
 * The optimizers' updates, in place on a parameter's values, as PyTorch's single-tensor loops
 * write them. Float64 values are computed in double; SGD rounds float32 ones as PyTorch's CPU
 * kernels do (tests/golden/sgd_float32.json, bit for bit); AdamW computes each float32 value in
 * double and rounds it once.
 */
import type { TensorData } from "./tensor.ts";

/**
 * SGD with momentum and weight decay: d = g + wd·p; buf = d on the first step, else
 * momentum·buf + d; p −= lr·buf (or lr·d without momentum). `buf` is the momentum buffer. In
 * float32, as torch.optim.SGD's ops round: `g.add(p, alpha=wd)` and `p.add_(d, alpha=-lr)` are a
 * fused multiply-add each on PyTorch's CPU (here the float32 product, exact in double, is added
 * in double and the sum rounded to float32: the same but for a rare double rounding), and
 * `buf.mul_(momentum).add_(d)` rounds twice.
 */
export function sgdMomentumUpdate(
  p: TensorData,
  g: TensorData,
  buf: TensorData | undefined,
  first: boolean,
  lr: number,
  momentum: number,
  weightDecay: number,
): void {
  if (p instanceof Float32Array) {
    const f = Math.fround, wd = f(weightDecay), mu = f(momentum), step = f(-lr);
    for (let i = 0; i < p.length; i++) {
      let d = f(g[i] + wd * p[i]);
      if (buf !== undefined) buf[i] = d = first ? d : f(f(mu * buf[i]) + d);
      p[i] = p[i] + step * d;
    }
    return;
  }
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + weightDecay * p[i];
    if (buf !== undefined) {
      d = first ? d : momentum * buf[i] + d;
      buf[i] = d;
    }
    p[i] -= lr * d;
  }
}

/**
 * AdamW's step `t` (counted from 1): p ·= 1 − lr·wd; m += (1 − β1)(g − m); v = β2·v + (1 − β2)g²;
 * p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps), with the moments `m`, `v` kept in place.
 */
export function adamwUpdate(
  p: TensorData,
  g: TensorData,
  m: TensorData,
  v: TensorData,
  t: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
): void {
  const stepSize = lr / (1 - beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    p[i] *= decay;
    m[i] += (1 - beta1) * (gi - m[i]);
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    p[i] -= stepSize * (m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps));
  }
}
