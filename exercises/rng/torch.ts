/**
 * PyTorch's CPU generator (`torch.Generator()`, ATen's `CPUGeneratorImpl`, PyTorch 1.13) and the
 * two samplers the lecture calls on it, `torch.randn` and `torch.randint`, bit for bit.
 * @module
 */
import { MT19937, type MT19937State } from "./mt19937.ts";

/**
 * Which Box–Muller kernel PyTorch ran for float32 tensors of 16+ elements:
 * - `"avx2"`: `normal_fill_16_AVX2`, float32 Cephes polynomials from `avx_mathfun.h` compiled
 *   with fused multiply-adds; what x86 builds run on an AVX2 processor (the golden files' case).
 *   Matches PyTorch 1.13 bit for bit.
 * - `"scalar"`: `normal_fill_16`, float32 `std::log`/`cos`/`sin`, what builds without AVX2 run
 *   (e.g. `ATEN_CPU_CAPABILITY=default`). Here those are correctly rounded and glibc's are not
 *   always, so about 1.6% of normals differ from such a build by an ulp or so.
 */
export type BoxMullerKernel = "avx2" | "scalar";

/** Element types `randn` can produce. */
export type RandnDtype = "float32" | "float64";

/** A snapshot of a `TorchGenerator`, plain JSON: the engine and the cached second normal. */
export interface TorchGeneratorState {
  /** The Mersenne Twister's words and position. */
  engine: MT19937State;
  /** The second normal of the last double Box–Muller pair, not yet handed out, or null. */
  nextDoubleNormal: number | null;
}

/** The seed of a fresh `torch.Generator()` (ATen's `default_rng_seed_val`). */
export const TORCH_DEFAULT_SEED = 67280421310721;

const f = Math.fround;
const TWO_PI_F = f(2 * Math.PI); // _mm256_set1_ps(2.0f * c10::pi<double>)

/** PyTorch's CPU random generator: MT19937 seeded with `init_genrand(low 32 bits of the seed)`. */
export class TorchGenerator {
  #engine = new MT19937();
  #nextDoubleNormal: number | null = null;
  /** The Box–Muller kernel this generator imitates for float32 tensors of 16+ elements. */
  readonly kernel: BoxMullerKernel;

  /** `torch.Generator().manual_seed(seed)`; without a seed, a fresh `torch.Generator()`. */
  constructor(seed: number | bigint = TORCH_DEFAULT_SEED, kernel: BoxMullerKernel = "avx2") {
    this.kernel = kernel;
    this.manualSeed(seed);
  }

  /**
   * `g.manual_seed(seed)`: reseeds the engine with the seed's low 32 bits (negative seeds wrap as
   * in PyTorch) and drops the cached normal. Returns the generator, as PyTorch does.
   */
  manualSeed(seed: number | bigint): this {
    let low: number;
    if (typeof seed === "bigint") {
      if (seed < -(2n ** 63n) || seed >= 2n ** 64n) {
        throw new Error(`torch seeds must lie in [-2^63, 2^64), got ${seed}.`);
      }
      low = Number(BigInt.asUintN(32, seed));
    } else {
      if (!Number.isSafeInteger(seed)) {
        throw new Error(`torch seed must be a safe integer or a bigint, got ${seed}.`);
      }
      low = seed >>> 0;
    }
    this.#engine.seed(low);
    this.#nextDoubleNormal = null;
    return this;
  }

  /** One raw 32-bit draw (`generator->random()`). */
  randomU32(): number {
    return this.#engine.nextU32();
  }

  /** `torch.randn(shape, dtype=dtype, generator=g)`: standard normals, row-major. */
  randn(shape: readonly number[], dtype: "float32"): Float32Array;
  /** `torch.randn(shape, dtype=dtype, generator=g)`: standard normals, row-major. */
  randn(shape: readonly number[], dtype: "float64"): Float64Array;
  /** `torch.randn(shape, dtype=dtype, generator=g)`: standard normals, row-major. */
  randn(shape: readonly number[], dtype?: RandnDtype): Float32Array | Float64Array;
  randn(shape: readonly number[], dtype: RandnDtype = "float32"): Float32Array | Float64Array {
    const n = numel(shape);
    const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
    if (n < 16) {
      // ATen's serial kernel: one normal_distribution<double> per element, cast to the dtype.
      for (let i = 0; i < n; i++) out[i] = this.#normalDouble();
      return out;
    }
    // normal_fill: uniforms for the whole tensor first, then Box–Muller on blocks of 16; a ragged
    // end redraws the last 16 uniforms (overwriting normals already made) and transforms again.
    const fill = this.#fill16For(dtype);
    for (let i = 0; i < n; i++) out[i] = this.#uniform(dtype);
    for (let i = 0; i + 16 <= n; i += 16) fill(out, i);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) out[i] = this.#uniform(dtype);
      fill(out, n - 16);
    }
    return out;
  }

  /**
   * `torch.randint(low, high, (n,), generator=g)`: `low + random32 % (high - low)` each, into
   * `out` when given (its first n elements; a training loop's buffer), else a new array.
   */
  randint(low: number, high: number, n: number, out?: Int32Array): Int32Array {
    const ok32 = (v: number) => Number.isInteger(v) && v >= -(2 ** 31) && v <= 2 ** 31;
    if (!ok32(low) || !ok32(high) || high <= low || high - low >= 2 ** 32) {
      throw new Error(`randint needs int32 bounds with low < high, got [${low}, ${high}).`);
    }
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`randint count must be a non-negative integer, got ${n}.`);
    }
    // The range is below 2^32, so PyTorch draws one 32-bit word per element (random64 is for
    // ranges of 2^32 or more, which an Int32Array cannot hold anyway).
    const range = high - low;
    const into = out ?? new Int32Array(n);
    for (let i = 0; i < n; i++) into[i] = low + (this.#engine.nextU32() % range);
    return into;
  }

  /** A copy of the whole state, the cached normal included; plain JSON. */
  getState(): TorchGeneratorState {
    return { engine: this.#engine.getState(), nextDoubleNormal: this.#nextDoubleNormal };
  }

  /** Restores a state taken with `getState`; the sequence then continues exactly. */
  setState(state: TorchGeneratorState): void {
    if (typeof state !== "object" || state === null || typeof state.engine !== "object") {
      throw new Error("TorchGenerator.setState needs a value from getState() ({engine, ...}).");
    }
    const cached = state.nextDoubleNormal;
    if (cached !== null && typeof cached !== "number") {
      throw new Error("TorchGenerator state.nextDoubleNormal must be a number or null.");
    }
    this.#engine.setState(state.engine);
    this.#nextDoubleNormal = cached;
  }

  /** `uniform_real_distribution<T>(0, 1)`: 24 bits of one word for float, 53 of two for double. */
  #uniform(dtype: RandnDtype): number {
    if (dtype === "float32") return (this.#engine.nextU32() & 0xffffff) * 2 ** -24;
    const hi = this.#engine.nextU32(); // random64() = (first << 32) | second
    const lo = this.#engine.nextU32();
    return ((hi & 0x1fffff) * 4294967296 + lo) * 2 ** -53;
  }

  /**
   * `normal_distribution<double>`: Box–Muller on two double uniforms; cos goes out now, sin is
   * kept in the generator for the next call (any later call of any size, until reseeded).
   */
  #normalDouble(): number {
    if (this.#nextDoubleNormal !== null) {
      const cached = this.#nextDoubleNormal;
      this.#nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.#uniform("float64");
    const u2 = this.#uniform("float64");
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.#nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  #fill16For(dtype: RandnDtype): (d: Float32Array | Float64Array, at: number) => void {
    if (dtype === "float64") return fill16Double;
    return this.kernel === "avx2" ? fill16Avx2 : fill16Scalar;
  }
}

/** A stand-in for torch's default generator after `torch.manual_seed(seed)`: a fresh generator. */
export function torchDefaultGenerator(
  seed: number | bigint,
  kernel: BoxMullerKernel = "avx2",
): TorchGenerator {
  // torch.manual_seed seeds the default generator exactly as Generator().manual_seed does.
  return new TorchGenerator(seed, kernel);
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new Error(`randn shape entries must be non-negative integers, got [${shape}].`);
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new Error(`randn shape [${shape}] is too large.`);
  return n;
}

/** normal_fill_16<double>: all in double, pairs (j, j+8). */
function fill16Double(d: Float32Array | Float64Array, at: number): void {
  for (let j = at; j < at + 8; j++) {
    const radius = Math.sqrt(-2 * Math.log(1 - d[j]));
    const theta = 2 * Math.PI * d[j + 8];
    d[j] = radius * Math.cos(theta);
    d[j + 8] = radius * Math.sin(theta);
  }
}

/** normal_fill_16<float>: float math; theta is formed in double and rounded, as C++ promotes. */
function fill16Scalar(d: Float32Array | Float64Array, at: number): void {
  for (let j = at; j < at + 8; j++) {
    const radius = f(Math.sqrt(f(-2 * f(Math.log(f(1 - d[j]))))));
    const theta = f(2 * Math.PI * d[j + 8]);
    d[j] = f(radius * f(Math.cos(theta)));
    d[j + 8] = f(radius * f(Math.sin(theta)));
  }
}

/** normal_fill_16_AVX2, one lane at a time (lanes are independent). std 1, mean 0 are exact. */
function fill16Avx2(d: Float32Array | Float64Array, at: number): void {
  for (let j = at; j < at + 8; j++) {
    const radius = f(Math.sqrt(f(-2 * log256(f(1 - d[j])))));
    sincos256(f(TWO_PI_F * d[j + 8]));
    d[j] = f(radius * cosOut);
    d[j + 8] = f(radius * sinOut);
  }
}

// --- avx_mathfun.h (Cephes float polynomials), one lane, with GCC's FMA contraction ---
// GCC (-ffp-contract=fast, -mfma in the AVX2 build) fuses a multiply into the add or subtract that
// consumes it when that is the multiply's only use; when both operands of an add are multiplies,
// the earlier multiply is the one fused. Each `fma32` below marks one such fusion.

const LOG_P = [
  7.0376836292E-2,
  -1.1514610310E-1,
  1.1676998740E-1,
  -1.2420140846E-1,
  1.4249322787E-1,
  -1.6668057665E-1,
  2.0000714765E-1,
  -2.4999993993E-1,
  3.3333331174E-1,
].map(f);
const LOG_Q1 = f(-2.12194440e-4);
const LOG_Q2 = f(0.693359375);
const SQRTHF = f(0.707106781186547524);
const FOPI = f(1.27323954473516);
const DP1 = f(-0.78515625);
const DP2 = f(-2.4187564849853515625e-4);
const DP3 = f(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1].map(f);
const COS_P = [2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002].map(f);

const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

/** log256_ps for a positive normal float (1 − u ≥ 2⁻²⁴, so no denormal or NaN lanes arise). */
function log256(v: number): number {
  bitsF32[0] = v;
  const bits = bitsU32[0];
  let e = (bits >>> 23) - 127 + 1;
  bitsU32[0] = (bits & 0x807fffff) | 0x3f000000; // mantissa into [0.5, 1)
  const m = bitsF32[0];
  let x: number;
  if (m < SQRTHF) {
    e -= 1;
    x = f(f(m - 1) + m);
  } else {
    x = f(m - 1);
  }
  const z = f(x * x);
  let y = fma32(LOG_P[0], x, LOG_P[1]);
  for (let k = 2; k < 9; k++) y = fma32(y, x, LOG_P[k]);
  y = f(y * x);
  y = fma32(y, z, f(e * LOG_Q1));
  y = fma32(z, -0.5, y);
  x = f(x + y);
  return fma32(e, LOG_Q2, x);
}

let sinOut = 0;
let cosOut = 0;

/** sincos256_ps for theta ≥ 0; results in `sinOut`, `cosOut` (no allocation per call). */
function sincos256(theta: number): void {
  let j = Math.trunc(f(theta * FOPI));
  j = (j + 1) & ~1;
  let x = fma32(j, DP1, theta);
  x = fma32(j, DP2, x);
  x = fma32(j, DP3, x);
  const z = f(x * x);
  let yc = fma32(COS_P[0], z, COS_P[1]);
  yc = fma32(yc, z, COS_P[2]);
  yc = f(yc * z);
  yc = fma32(yc, z, -f(z * 0.5));
  yc = f(yc + 1);
  let ys = fma32(SIN_P[0], z, SIN_P[1]);
  ys = fma32(ys, z, SIN_P[2]);
  ys = f(ys * z);
  ys = fma32(ys, x, x);
  const sinPoly = (j & 2) === 0;
  const s = sinPoly ? ys : yc;
  const c = sinPoly ? yc : ys;
  sinOut = j & 4 ? -s : s;
  cosOut = ~(j - 2) & 4 ? -c : c;
}

/**
 * Float32 fused multiply-add, correctly rounded. a·b of two floats is exact in a double; the sum
 * rounds twice (to double, then float), which goes wrong only when the double lands exactly
 * halfway between two floats: then the sign of the first rounding's error breaks the tie.
 */
function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f(s);
  if (r === s) return r;
  const d = s - r;
  const other = s + d; // the float on the far side of s when s is a midpoint
  if (f(other) !== other) return r;
  const bv = s - p;
  const err = (p - (s - bv)) + (c - bv); // TwoSum: exact p + c − s
  if (err === 0) return r;
  return (err > 0) === (d < 0) ? r : other;
}
