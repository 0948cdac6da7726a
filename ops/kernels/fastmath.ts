/**
 * exp, log and tanh for float32 tensors, inlined into the kernels' loops. Math.exp is a call
 * into C (6–17 ns); exp and log here are a few multiply-adds in double precision with errors
 * below 1e-13 relative, far below float32's rounding (6e-8), so a float32 result equals the
 * correctly rounded one except in rare near-ties (off by one unit in the last place there).
 * tanh is a rational function rather than an exp (the lecture's step spends more time in tanh
 * than anywhere but its matrix products): within one unit in the last place.
 * Float64 tensors keep Math.*: the goldens compare them to 1e-12.
 */

// x = (32k + j)·ln2/32 + r with |r| ≤ ln2/64, so eˣ = 2^k · 2^(j/32) · eʳ and eʳ needs only
// five terms of its series (error < 3e-15).
const SCALE = 32 / Math.LN2;
// ln2/32 split so that n·HI is exact for the |n| < 2^16 used here (fdlibm's ln 2, over 32).
const HI = 6.93147180369123816490e-01 / 32;
const LO = 1.90821492927058770002e-10 / 32;
const LN2 = 0.6931471805599453;
// Adding then subtracting 1.5·2^52 rounds a double to the nearest integer (ties to even).
const ROUND = 6755399441055744;
const POW2_BIAS = 1075;
/** 2^k for k in [−1075, 1024), indexed by k + 1075. */
const POW2 = Float64Array.from({ length: 2099 }, (_, i) => 2 ** (i - POW2_BIAS));
/** 2^(j/32) for j in [0, 32) (kernels.wat's softmax_rows takes them from here too). */
export const POW2_32: Float64Array = Float64Array.from({ length: 32 }, (_, j) => 2 ** (j / 32));

/** eˣ, as the comment above says. */
export function fastExp(x: number): number {
  // NaN, ±Infinity, overflow and deep underflow go to Math.exp, which gets them exactly right.
  if (!(x > -708 && x < 709)) return Math.exp(x);
  const k = (x * SCALE + ROUND) - ROUND;
  const r = (x - k * HI) - k * LO;
  const n = k | 0;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
  return POW2[(n >> 5) + POW2_BIAS] * POW2_32[n & 31] * p;
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
// Which 32-bit word holds the sign and exponent depends on the platform's byte order.
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * ln x: x = m·2^e with m in [√½, √2), then ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| < 0.172,
 * by its odd series to s¹⁵ (error < 1e-13). Zero, negatives, subnormals, ∞ and NaN go to Math.log.
 */
export function fastLog(x: number): number {
  if (!(x >= 2.2250738585072014e-308 && x < Infinity)) return Math.log(x);
  // The exponent is read off the bits; m is then x scaled by a power of two, exactly (writing
  // the bits back and reading a double would stall on the partial store).
  bits[0] = x;
  let e = (words[HIGH] >>> 20) - 1023;
  let m = x * POW2[POW2_BIAS - e];
  if (m > Math.SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1) / (m + 1), s2 = s * s;
  const series = s * (2 + s2 * (2 / 3 + s2 * (2 / 5 + s2 * (2 / 7 + s2 * (2 / 9 + s2 * (2 / 11 +
                        s2 * (2 / 13 + s2 * (2 / 15))))))));
  return e * LN2 + series;
}

// tanh x ≈ x·P(x²)/Q(x²): a rational fit of degree 4 over 4 in x² (P(0) = Q(0) = 1, Lawson's
// weighted least squares on [0, 9]), relative error below 2.2e-8.
const P1 = 0.1338399421552475, P2 = 0.003499012434287005;
const P3 = 2.0661521951750874e-05, P4 = 1.34201620280959e-08;
const Q1 = 0.46717315701399, Q2 = 0.025890269158999713;
const Q3 = 0.0003291064715742958, Q4 = 7.804872643588827e-07;

/**
 * tanh x for float32 tensors: x capped at ±9 (tanh rounds to ±1 beyond), then x·P(x²)/Q(x²) in
 * double, P and Q by Estrin's scheme, rounded once to float32. Within one unit in the last place
 * of tanh x rounded to float32, over every float32 x (tests/bench/tanh_ulp.ts), as PyTorch's
 * vectorised tanhf promises; kernels.wat's tanh takes the same steps four lanes at a time and
 * gives the same bits (a rational function needs a third of the operations of an exp).
 */
export function tanh32(x: number): number {
  // f64x2.pmin(x, 9) then pmax(…, −9): a NaN stays NaN.
  const c = 9 < x ? 9 : x, v = c < -9 ? -9 : c;
  const t = v * v, t2 = t * t;
  const p = ((1 + t * P1) + t2 * (P2 + t * P3)) + t2 * t2 * P4;
  const q = ((1 + t * Q1) + t2 * (Q2 + t * Q3)) + t2 * t2 * Q4;
  return Math.fround((v * p) / q);
}
