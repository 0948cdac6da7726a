/**
 * The optimizers' updates, in place on a parameter's values, as PyTorch's single-tensor loops
 * write them. Each value is computed in double and rounded once to the parameter's dtype.
 */
import type { TensorData } from "./tensor.ts";

/**
 * SGD with momentum and weight decay: d = g + wd·p; buf = d on the first step, else
 * momentum·buf + d; p −= lr·buf (or lr·d without momentum). `buf` is the momentum buffer.
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
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + weightDecay * p[i];
    if (buf !== undefined) {
      d = first ? d : momentum * buf[i] + d;
      buf[i] = d;
      d = buf[i]; // what the buffer holds, rounded to its dtype, as PyTorch steps with it
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
