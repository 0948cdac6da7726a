/**
 * The optimizers' updates, in place on a parameter's values, as PyTorch's single-tensor loops
 * write them. Float64 values are computed in double; float32 ones are rounded as PyTorch's CPU
 * kernels round them, op by op (tests/golden/sgd_float32.json and adamw_float32.json, bit for bit).
 * Where PyTorch fuses a multiply-add, the float32 product (exact in double) is added in double and
 * the sum rounded once: the same result but for a rare double rounding.
 */
import type { TensorData } from "./tensor.ts";
import { adamwF32 } from "./simd.ts";

/** Float32 parameters of at least this many values are updated on WebAssembly SIMD. */
const ADAMW_SIMD_MIN = 64;

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
 * AdamW's step `t` (counted from 1), as torch.optim.AdamW (1.13, single-tensor): p ·= 1 − lr·wd;
 * m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps),
 * with the moments `m`, `v` kept in place.
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
  if (p instanceof Float32Array) {
    // PyTorch's ops, each rounding to float32 (scalars too): p.mul_(decay);
    // m.mul_(β1).add_(g, alpha=1 − β1) (a fused multiply-add);
    // v.mul_(β2).addcmul_(g, g, value=1 − β2) ((1 − β2)·g rounded, then fused with ·g and +);
    // denom = (v.sqrt() / √(1 − β2ᵗ)).add_(eps); p.addcdiv_(m, denom, value=−stepSize).
    const f = Math.fround, dec = f(decay), b1 = f(beta1), a1 = f(1 - beta1);
    const b2 = f(beta2), a2 = f(1 - beta2), bc2 = f(bc2Sqrt), e = f(eps), step = f(-stepSize);
    if (
      p.length >= ADAMW_SIMD_MIN && g instanceof Float32Array && m instanceof Float32Array &&
      v instanceof Float32Array && adamwF32(p, g, m, v, [dec, b1, a1, b2, a2, bc2, e, step])
    ) return;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      p[i] = f(p[i] * dec);
      const mi = m[i] = f(f(m[i] * b1) + a1 * gi);
      const vi = v[i] = f(f(v[i] * b2) + f(a2 * gi) * gi);
      p[i] = f(p[i] + f(f(step * mi) / f(f(f(Math.sqrt(vi)) / bc2) + e)));
    }
    return;
  }
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    p[i] *= decay;
    m[i] = m[i] * beta1 + (1 - beta1) * gi;
    v[i] = v[i] * beta2 + (1 - beta2) * gi * gi;
    p[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}
