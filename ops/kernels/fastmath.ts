/**
 * exp, log and tanh for float32 tensors, inlined into the kernels' loops. Math.exp and Math.tanh
 * are calls into C (6–17 ns each); these are a few multiply-adds in double precision with errors
 * below 1e-13 relative, far below float32's rounding (6e-8), so a float32 result equals the
 * correctly rounded one except in rare near-ties (off by one unit in the last place there).
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
/** 2^(j/32) for j in [0, 32). */
const POW2_32 = Float64Array.from({ length: 32 }, (_, j) => 2 ** (j / 32));

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

// tanh's Taylor coefficients, x³ to x¹⁵: used below |x| = 0.2, where 1 − 2/(e²ˣ + 1) cancels.
const T3 = -1 / 3, T5 = 2 / 15, T7 = -17 / 315, T9 = 62 / 2835, T11 = -1382 / 155925;
const T13 = 21844 / 6081075, T15 = -929569 / 638512875;

/** tanh x: its Taylor series near 0, else 1 − 2/(e²ˣ + 1) (which tends to ±1 on its own). */
export function fastTanh(x: number): number {
  if (x > -0.2 && x < 0.2) {
    const x2 = x * x;
    // x·(1 + …) rather than x + …, so that tanh(−0) is −0.
    return x * (1 + x2 * (T3 + x2 * (T5 + x2 * (T7 + x2 * (T9 + x2 * (T11 + x2 * (T13 +
                              x2 * T15)))))));
  }
  return 1 - 2 / (fastExp(2 * x) + 1);
}
