/**
 * Activations and other one-input maps: relu, sigmoid, gelu, sqrt, abs, and the loops their
 * rules call. Each value is computed in double and rounded once when stored (so a float32 result
 * is the correctly rounded double one); every kernel writes every element of its output, so it
 * allocates nothing when given `out`.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, sameShape, type Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";

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

/** 1 / (1 + e⁻ˣ) */
export function sigmoid(x: Tensor, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
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

/** gelu x = x · Φ(x) = x · (1 + erf(x/√2)) / 2, the exact form (PyTorch's default). */
export function gelu(x: Tensor, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
  for (let i = 0; i < s.length; i++) {
    const v = s[i];
    o[i] = v * 0.5 * (1 + erf(v * SQRT1_2));
  }
  return res;
}

/** g · (Φ(x) + x·φ(x)), gelu's rule: Φ the normal distribution function, φ its density. */
export function geluBackward(g: Tensor, x: Tensor, res?: Tensor): Tensor {
  checkSame("geluBackward", g, x);
  const r = target(res, g.shape, g);
  const gd = g.data, s = x.data, o = r.data;
  for (let i = 0; i < o.length; i++) {
    const v = s[i];
    const cdf = 0.5 * (1 + erf(v * SQRT1_2));
    const pdf = Math.exp(-0.5 * v * v) * INV_SQRT_2PI;
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
