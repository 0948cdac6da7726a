/**
 * exp, log and tanh for float32 tensors, inlined into the kernels' loops. Math.exp is a call
 * into C (6–17 ns); exp and log here are a few multiply-adds in double precision with errors
 * below 1e-13 relative, far below float32's rounding (6e-8), so a float32 result equals the
 * correctly rounded one except in rare near-ties (off by one unit in the last place there).
 * tanh runs in float32 itself, as its WebAssembly kernel does (the lecture's step spends more
 * time in tanh than anywhere but its matrix products): within one unit in the last place.
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

const f = Math.fround;
// eʳ − 1's Taylor coefficients 1/2! … 1/8!, and tanh's x³ … x¹¹, as float32 values.
const E2 = f(0.5), E3 = f(0.16666666666666666), E4 = f(0.041666666666666664);
const E5 = f(0.008333333333333333), E6 = f(0.001388888888888889);
const E7 = f(0.0001984126984126984), E8 = f(2.48015873015873e-05);
const T3 = f(-0.3333333333333333), T5 = f(0.13333333333333333), T7 = f(-0.05396825396825397);
const T9 = f(0.021869488536155203), T11 = f(-0.008863235529902197);
const INV_LN2 = f(1.4426950408889634), LN2_HI = f(0.693145751953125);
const LN2_LO = f(1.428606765330187e-06), ROUND32 = f(12582912), SMALL = f(0.35);

/**
 * tanh x in float32 arithmetic, every step rounded to float32 (Math.fround of a double sum,
 * product or quotient of two float32 values is the float32 operation's result): the steps of
 * kernels.wat's tanh, which gives the same bits four lanes at a time. Within one unit in the last
 * place of tanh x rounded to float32 over every float32 x (tests/bench/tanh_ulp.ts), which is
 * what PyTorch's vectorised tanhf promises too.
 */
export function tanh32(x: number): number {
  const a = Math.abs(x);
  // f32x4.pmin(a, 9): a NaN stays NaN.
  const y = f(2 * (9 < a ? 9 : a));
  const k = f(f(f(y * INV_LN2) + ROUND32) - ROUND32);
  const r = f(f(y - f(k * LN2_HI)) - f(k * LN2_LO));
  // Estrin's scheme: pairs of terms side by side, so that the steps depend on each other less.
  const r2 = f(r * r), r4 = f(r2 * r2);
  const low = f(f(1 + f(r * E2)) + f(r2 * f(E3 + f(r * E4))));
  const high = f(f(E5 + f(r * E6)) + f(r2 * f(E7 + f(r * E8))));
  const q = f(r * f(low + f(r4 * high)));
  const s = k !== k ? 1 : 2 ** k;
  const e = f(f(s - 1) + f(s * q));
  let t = f(e / f(e + 2));
  if (a < SMALL) {
    const a2 = f(a * a), a4 = f(a2 * a2);
    const p = f(f(T3 + f(a2 * T5)) + f(a4 * f(f(T7 + f(a2 * T9)) + f(a4 * T11))));
    t = f(a + f(a * f(a2 * p)));
  }
  return x < 0 || Object.is(x, -0) ? -t : t;
}
