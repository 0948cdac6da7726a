/**
 * Activations and other one-input maps: relu, sigmoid, gelu, sqrt, abs, and the loops their
 * rules call. Each value is computed in double and rounded once when stored (so a float32 result
 * is the correctly rounded double one); every kernel writes every element of its output, so it
 * allocates nothing when given `out`.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, sameShape, Tensor, type TensorData } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { fastExp, tanh32 } from "./fastmath.ts";
import { geluBackwardF32, geluF32, geluTanhBackwardF32, geluTanhF32, tanhF32 } from "./simd.ts";

/** Throws unless `g` and `x` have one shape (a rule's upstream gradient and the value it uses). */
function checkSame(what: string, g: Tensor, x: Tensor): void {
  if (!sameShape(g.shape, x.shape)) {
    throw new NinjagradError(
      `${what} needs one shape, got ${formatShape(g.shape)} and ${formatShape(x.shape)}`,
    );
  }
}

/** max(x, 0) */
export function relu(x: Tensor, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
  // x > 0 ? x : 0 keeps a NaN out of the positive branch; `x !== x` lets it through, as torch.
  for (let i = 0; i < s.length; i++) o[i] = s[i] > 0 ? s[i] : s[i] !== s[i] ? s[i] : 0;
  return res;
}

/** g where the output is positive, 0 elsewhere (relu's rule, read off its output). */
export function reluBackward(g: Tensor, out: Tensor, res?: Tensor): Tensor {
  checkSame("reluBackward", g, out);
  const r = target(res, g.shape, g);
  const gd = g.data, y = out.data, o = r.data;
  for (let i = 0; i < o.length; i++) o[i] = y[i] > 0 ? gd[i] : 0;
  return r;
}

/**
 * 1 / (1 + e⁻ˣ). Float32 takes fastmath's exp (Math.exp is a call into C, and the GRU's gates
 * spent a sixth of its step there): the same float32 but for rare near-ties (fastmath.ts).
 */
export function sigmoid(x: Tensor, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
  if (o instanceof Float32Array) {
    for (let i = 0; i < s.length; i++) o[i] = 1 / (1 + fastExp(-s[i]));
    return res;
  }
  for (let i = 0; i < s.length; i++) o[i] = 1 / (1 + Math.exp(-s[i]));
  return res;
}

/** g · y · (1 − y), sigmoid's rule written with its output y. */
export function sigmoidBackward(g: Tensor, y: Tensor, res?: Tensor): Tensor {
  checkSame("sigmoidBackward", g, y);
  const r = target(res, g.shape, g);
  const gd = g.data, s = y.data, o = r.data;
  for (let i = 0; i < o.length; i++) o[i] = gd[i] * (1 - s[i]) * s[i];
  return r;
}

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The error function, to about one unit in the last place of a double. Below 2.5 a series of
 * positive terms, erf x = 2/√π · e^(−x²) · Σ 2ⁿx^(2n+1) / (1·3·…·(2n+1)), which cancels nothing;
 * from 2.5 on, 1 − erfc x with erfc's continued fraction (Lentz's method).
 */
export function erf(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  let r: number;
  if (a < 2.5) {
    const x2 = a * a;
    let term = a, sum = a;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
    }
    r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  } else if (a < 6) {
    r = 1 - erfcFraction(a);
  } else {
    r = 1; // erfc(6) < 3e-17: below a double's spacing at 1
  }
  return x < 0 ? -r : r;
}

/**
 * erfc x for x ≥ 2.5: e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated
 * front to back by the modified Lentz method until a step changes it by less than 1e-17.
 */
function erfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x, c = x, d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/**
 * eˣ for x in [−708, 100] as kernels.wat's $expv computes it, step for step (so the two give the
 * same doubles): x = k·ln 2 + r, eˣ = 2ᵏ + 2ᵏ·(eʳ − 1), eʳ − 1 by its series to r¹¹.
 */
export function expSeries(x: number): number {
  const t = x * 1.4426950408889634 + 6755399441055744, k = t - 6755399441055744;
  const r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  const r2 = r * r, r4 = r2 * r2;
  const q = r * (((1 + r * 0.5) + r2 * (0.16666666666666666 + r * 0.041666666666666664)) +
    r4 * (((0.008333333333333333 + r * 0.001388888888888889) +
        r2 * (0.0001984126984126984 + r * 2.48015873015873e-05)) +
        r4 * ((2.7557319223985893e-06 + r * 2.755731922398589e-07) + r2 * 2.505210838544172e-08)));
  const s = 2 ** k; // exact: k is a whole number in [−1022, 145]
  return s + s * q;
}

/**
 * Φ(x) for float32 kernels, as kernels.wat's $phi: erfc(|x|/√2)/2 for x < 0, 1 − that for
 * x ≥ 0, erfc z = t·e^(−z² − 1.26551223 + t·P(t)), t = 1/(1 + z/2) (Numerical Recipes' erfcc, a
 * relative error below 1.2e-7 everywhere), so Φ keeps its digits far into the negative tail,
 * where gelu is small. One exp and a polynomial, where `erf` runs a series of up to 60 terms.
 */
export function phi32(x: number): number {
  const z = Math.abs(x) * SQRT1_2, t = 1 / (1 + 0.5 * z);
  // P(t) by Estrin's scheme, as kernels.wat: four short chains of operations, not one long one.
  const t2 = t * t, t4 = t2 * t2;
  const p = (((1.00002368 + 0.37409196 * t) + t2 * (0.09678418 + -0.18628806 * t)) +
    t4 * ((0.27886807 + -1.13520398 * t) + t2 * (1.48851587 + -0.82215223 * t))) +
    (t4 * t4) * 0.17087277;
  const a = (-(z * z) - 1.26551223) + t * p;
  const h = 0.5 * (t * expSeries(a < -708 ? -708 : a));
  return x < 0 ? h : 1 - h;
}

/** √(2/π) and the cubic's coefficient of gelu's tanh form. */
const GELU_C = Math.sqrt(2 / Math.PI), GELU_A = 0.044715;

/** Whether `keep` is a float32 buffer of x's size, distinct from it, for gelu's tanh u. */
function keepsTanh(keep: Tensor | undefined, x: TensorData): boolean {
  return keep !== undefined && keep.data instanceof Float32Array && keep.data !== x &&
    keep.size === x.length;
}

/**
 * The buffer in which gelu's float32 tanh form keeps tanh u for its rule (`prev` when it still
 * fits x); undefined where nothing is kept (the exact form, float64), the rule then computes it.
 */
export function geluKeep(
  x: Tensor,
  approximate: "none" | "tanh" | undefined,
  prev: Tensor | undefined,
): Tensor | undefined {
  if (approximate !== "tanh" || !(x.data instanceof Float32Array)) return undefined;
  return prev !== undefined && sameShape(prev.shape, x.shape)
    ? prev
    : Tensor.owned(x.shape, "float32");
}

/**
 * gelu x = x·Φ(x) = x·erfc(−x/√2)/2, the exact form (PyTorch's default); with `tanh`, the
 * approximation x·(1 + tanh u)/2, u = √(2/π)·(x + 0.044715x³), computed as x / (1 + e^(−2u))
 * (the same number, without the cancellation of 1 + tanh u for negative x). Float64 tensors use
 * `erf`'s series and Math.exp (to a double's last digits); float32 ones phi32 on WebAssembly SIMD
 * (kernels.wat's gelu) and the tanh form WebAssembly's tanh, within the bounds
 * tests/ops_activation_test.ts checks over a grid of float32 x. Float32's tanh form leaves tanh u
 * in `keep` when given one of x's size (`geluKeep` makes it), for `geluBackward`'s `t`.
 */
export function gelu(
  x: Tensor,
  out?: Tensor,
  approximate: "none" | "tanh" = "none",
  keep?: Tensor,
): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
  const fast = o instanceof Float32Array;
  if (approximate === "tanh" && fast && s instanceof Float32Array && o !== s) {
    // u into t (`keep`, a float32 buffer of x's size, when given: tanh u stays there for the
    // rule), tanh in place on WebAssembly SIMD, then x·(1 + tanh u)/2: as PyTorch's float32
    // kernel, whose absolute error this shares (1 + tanh u cancels for negative x).
    const t = keepsTanh(keep, s) ? keep!.data as Float32Array : o;
    // The three loops below in one WebAssembly call, the same bits.
    if (geluTanhF32(s, t, o)) return res;
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      t[i] = GELU_C * (v + GELU_A * v * v * v);
    }
    if (!tanhF32(t, t)) { for (let i = 0; i < t.length; i++) t[i] = tanh32(t[i]); }
    for (let i = 0; i < s.length; i++) o[i] = 0.5 * s[i] * (1 + t[i]);
  } else if (approximate === "tanh") {
    for (let i = 0; i < s.length; i++) {
      const v = s[i], u = GELU_C * (v + GELU_A * v * v * v);
      o[i] = v / (1 + (fast ? fastExp(-2 * u) : Math.exp(-2 * u)));
    }
  } else if (fast) {
    if (s instanceof Float32Array && o instanceof Float32Array && geluF32(s, o)) return res;
    for (let i = 0; i < s.length; i++) o[i] = s[i] * phi32(s[i]);
  } else {
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      o[i] = v * 0.5 * (1 + erf(v * SQRT1_2));
    }
  }
  return res;
}

/**
 * g · gelu'(x), gelu's rule: Φ(x) + x·φ(x) for the exact form (φ the normal density); for the
 * tanh form, with s = (1 + tanh u)/2 = 1/(1 + e^(−2u)), s + x·2s(1 − s)·√(2/π)·(1 + 3·0.044715x²).
 * `y`, the forward's output, spares float32's exact form an erfc: Φ(x) = y/x (0.5 where
 * |x| ≤ 1e-30), on WebAssembly SIMD (computed from x when `y` is not given); `t`, tanh u as
 * float32's tanh form kept it (`gelu`'s `keep`), spares that form its tanh.
 */
export function geluBackward(
  g: Tensor,
  x: Tensor,
  res?: Tensor,
  approximate: "none" | "tanh" = "none",
  y?: Tensor,
  t?: Tensor,
): Tensor {
  checkSame("geluBackward", g, x);
  const r = target(res, g.shape, g);
  const gd = g.data, s = x.data, o = r.data;
  const fast = o instanceof Float32Array;
  const exp = fast ? fastExp : Math.exp;
  if (approximate === "tanh" && fast && s instanceof Float32Array && o !== s && o !== gd) {
    // t = tanh u (kept by the forward, or on WebAssembly SIMD here: the same bits), then
    // g·((1 + t)/2 + x(1 − t²)/2·du/dx).
    let th = o;
    if (keepsTanh(t, s)) {
      th = t!.data as Float32Array;
      // The loop below in one WebAssembly pass, the same bits.
      if (gd instanceof Float32Array && geluTanhBackwardF32(gd, s, th, o)) return r;
    } else {
      for (let i = 0; i < s.length; i++) {
        const v = s[i];
        o[i] = GELU_C * (v + GELU_A * v * v * v);
      }
      if (!tanhF32(o, o)) { for (let i = 0; i < o.length; i++) o[i] = tanh32(o[i]); }
    }
    for (let i = 0; i < o.length; i++) {
      const v = s[i], t = th[i];
      o[i] = gd[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * v * v));
    }
    return r;
  }
  if (approximate === "tanh") {
    for (let i = 0; i < o.length; i++) {
      const v = s[i], u = GELU_C * (v + GELU_A * v * v * v);
      const sg = 1 / (1 + exp(-2 * u));
      o[i] = gd[i] * (sg + v * 2 * sg * (1 - sg) * GELU_C * (1 + 3 * GELU_A * v * v));
    }
    return r;
  }
  if (fast && gd instanceof Float32Array && s instanceof Float32Array) {
    const out = y !== undefined && sameShape(y.shape, x.shape) && y.data instanceof Float32Array
      ? y.data
      : gelu(x, undefined, "none").data as Float32Array;
    if (geluBackwardF32(gd, s, out, o)) return r;
    for (let i = 0; i < o.length; i++) {
      const v = s[i], m = -0.5 * v * v, phi = Math.abs(v) > 1e-30 ? out[i] / v : 0.5;
      o[i] = gd[i] * (phi + v * (expSeries(m < -708 ? -708 : m) * INV_SQRT_2PI));
    }
    return r;
  }
  for (let i = 0; i < o.length; i++) {
    const v = s[i];
    const cdf = 0.5 * (1 + erf(v * SQRT1_2));
    const pdf = exp(-0.5 * v * v) * INV_SQRT_2PI;
    o[i] = gd[i] * (cdf + v * pdf);
  }
  return r;
}

/** √x */
export function sqrt(x: Tensor, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
  for (let i = 0; i < s.length; i++) o[i] = Math.sqrt(s[i]);
  return res;
}

/** g / (2·y), sqrt's rule written with its output y = √x. */
export function sqrtBackward(g: Tensor, y: Tensor, res?: Tensor): Tensor {
  checkSame("sqrtBackward", g, y);
  const r = target(res, g.shape, g);
  const gd = g.data, s = y.data, o = r.data;
  for (let i = 0; i < o.length; i++) o[i] = gd[i] / (2 * s[i]);
  return r;
}

/** |x| */
export function abs(x: Tensor, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
  for (let i = 0; i < s.length; i++) o[i] = Math.abs(s[i]);
  return res;
}

/** g · sign(x), with sign(0) = 0 (abs's rule, as torch's `grad * self.sgn()`). */
export function absBackward(g: Tensor, x: Tensor, res?: Tensor): Tensor {
  checkSame("absBackward", g, x);
  const r = target(res, g.shape, g);
  const gd = g.data, s = x.data, o = r.data;
  for (let i = 0; i < o.length; i++) o[i] = s[i] > 0 ? gd[i] : s[i] < 0 ? -gd[i] : 0;
  return r;
}
