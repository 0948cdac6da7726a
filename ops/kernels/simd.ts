/**
 * Float32 kernels on WebAssembly SIMD (ops/kernels/wasm/kernels.wat): operands are copied into
 * the module's memory, computed on there, and the float32 results copied out. Each gives the
 * bits of its JavaScript counterpart:
 * - `gemmF32` copies A and B in as they are (B read transposed is transposed there); every
 *   C[i, j] takes its float32 products in order into a float32 sum, as matmul.ts's JavaScript
 *   loop does: all four variants give the same bits.
 * - `tanhF32`, `expF32`, `logF32` compute in double precision, as fastmath.ts does.
 * - `sgdF32` computes p − lr·g in double and rounds once, as JavaScript's `p[i] -= lr * g[i]`.
 * - the elementwise kernels round each result once to float32, as JavaScript's double
 *   arithmetic stored into a Float32Array does, four lanes at a time. Below `SIMD_MIN` elements
 *   the copies cost more than the lanes save.
 */
import type { TensorData } from "../../graph/tensor.ts";
import {
  colsum,
  ew,
  exp,
  gemm32,
  gemm64,
  log,
  memory,
  sgd,
  tanh,
  transpose32,
  transpose64,
  unary,
} from "./wasm/kernels.wasm";

let f32 = new Float32Array(memory.buffer);
let f64 = new Float64Array(memory.buffer);
/** The memory's size in bytes; only `reserve` grows it. */
let capacity = memory.buffer.byteLength;
/**
 * Float32 views of places in the memory by float offset, then by length: kernels of different
 * lengths share offsets, and a view made again on every call would allocate on every step.
 */
const views = new Map<number, Map<number, Float32Array>>();

/** Grows the memory to at least `bytes` and renews the views (growing detaches them). */
function reserve(bytes: number): void {
  if (bytes <= capacity) return;
  memory.grow(Math.ceil((bytes - capacity) / 65536));
  capacity = memory.buffer.byteLength;
  f32 = new Float32Array(memory.buffer);
  f64 = new Float64Array(memory.buffer);
  views.clear();
  views64.clear();
}

/** The byte offset after `floats` float32 values from `at`, rounded up to 16 bytes. */
const after = (at: number, floats: number) => (at + floats * 4 + 15) & ~15;

/** The same for float64 views (the float64 matrix product's results). */
const views64 = new Map<number, Map<number, Float64Array>>();

/** `f64.subarray(offset, offset + length)`, made once per offset and length. */
function view64(offset: number, length: number): Float64Array {
  let byLength = views64.get(offset);
  if (byLength === undefined) views64.set(offset, byLength = new Map());
  let v = byLength.get(length);
  if (v === undefined) byLength.set(length, v = f64.subarray(offset, offset + length));
  return v;
}

/** `f32.subarray(offset, offset + length)`, made once per offset and length. */
function view(offset: number, length: number): Float32Array {
  let byLength = views.get(offset);
  if (byLength === undefined) views.set(offset, byLength = new Map());
  let v = byLength.get(length);
  if (v === undefined) byLength.set(length, v = f32.subarray(offset, offset + length));
  return v;
}

/**
 * C (m × n, row-major) = op(A) @ op(B), where op(A)[i, p] = A[i·rsA + p·csA] and
 * op(B)[p, j] = B[p·rsB + j·csB]. Every C[i, j] is summed over p in order in float32.
 */
export function gemmF32(
  A: Float32Array,
  rsA: number,
  csA: number,
  B: Float32Array,
  rsB: number,
  csB: number,
  C: Float32Array,
  m: number,
  n: number,
  k: number,
): void {
  // Byte offsets: C (m rounded up to 4 rows: the extra ones are scratch), A as given, B as
  // given, B transposed when it is read transposed; 16 bytes after each B (a row's last block
  // of four may read past its end).
  const cAt = 0, rawA = after(cAt, ((m + 3) & ~3) * n), rawB = after(rawA, A.length);
  const bT = after(rawB, B.length + 4);
  reserve(after(bT, k * n + 4));
  f32.set(A, rawA / 4);
  f32.set(B, rawB / 4);
  if (csB === 1) {
    gemm32(rawA, rsA, csA, rawB, rsB, cAt, m, n, k);
  } else {
    transpose32(rawB, bT, k, n);
    gemm32(rawA, rsA, csA, bT, n, cAt, m, n, k);
  }
  C.set(view(cAt / 4, m * n));
}

/**
 * `gemmF32` for float64 operands: every C[i, j] summed over p in order in double, as the
 * JavaScript loops in matmul.ts sum it (kernels.wat's gemm64), two lanes at a time.
 */
export function gemmF64(
  A: Float64Array,
  rsA: number,
  csA: number,
  B: Float64Array,
  rsB: number,
  csB: number,
  C: Float64Array,
  m: number,
  n: number,
  k: number,
): void {
  // Byte offsets as gemmF32's, eight bytes a value.
  const after64 = (at: number, doubles: number) => (at + doubles * 8 + 15) & ~15;
  const cAt = 0, rawA = after64(cAt, ((m + 3) & ~3) * n), rawB = after64(rawA, A.length);
  const bT = after64(rawB, B.length + 2);
  reserve(after64(bT, k * n + 2));
  f64.set(A, rawA / 8);
  f64.set(B, rawB / 8);
  if (csB === 1) {
    gemm64(rawA, rsA, csA, rawB, rsB, cAt, m, n, k);
  } else {
    transpose64(rawB, bT, k, n);
    gemm64(rawA, rsA, csA, bT, n, cAt, m, n, k);
  }
  C.set(view64(cAt / 8, m * n));
}

/** out = exp(x) elementwise, for float32 arrays of the same length (see kernels.wat). */
export function expF32(x: Float32Array, out: Float32Array): void {
  pairwise(exp, x, out);
}

/** out = ln(x) elementwise, for float32 arrays of the same length (see kernels.wat). */
export function logF32(x: Float32Array, out: Float32Array): void {
  pairwise(log, x, out);
}

/** Runs a kernel that works on pairs of float32 values: x in (padded), out back. */
function pairwise(
  kernel: (src: number, dst: number, pairs: number) => void,
  x: Float32Array,
  out: Float32Array,
): void {
  const n = x.length, padded = n + (n & 1);
  reserve(8 * padded);
  f32.set(x);
  if (padded !== n) f32[n] = 1;
  kernel(0, padded * 4, padded / 2);
  out.set(view(padded, n));
}

/** out = tanh(x) elementwise, for float32 arrays of the same length. */
export function tanhF32(x: Float32Array, out: Float32Array): void {
  const n = x.length, padded = (n + 3) & ~3;
  reserve(8 * padded);
  f32.set(x);
  f32.fill(0, n, padded);
  tanh(0, padded * 4, padded / 4);
  out.set(view(padded, n));
}

// The elementwise kernels take any typed arrays so that callers need no casts; they are called
// only for float32 ones.

/** Fewer elements than this stay in JavaScript (same bits either way). */
export const SIMD_MIN = 256;

/** Binary ops of `ew`: 0 add, 1 sub, 2 mul, 3 div, 4 y − x, 5 y / x. */
export type EwOp = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * o[r][j] = x[r][j] op y[r·ystep + j·ycol] for a (rows, width) x: `ycol` 1 and `ystep` 0 for a
 * row reused by every row (or a whole y when rows is 1), `ycol` 0 for one y per row (ystep 1)
 * or one y for everything (ystep 0).
 */
export function ewF32(
  op: EwOp,
  x: TensorData,
  y: TensorData,
  o: TensorData,
  rows: number,
  width: number,
  ystep: 0 | 1,
  ycol: 0 | 1,
): void {
  const n = rows * width, yAt = after(0, n), oAt = after(yAt, y.length);
  reserve(oAt + n * 4);
  f32.set(x);
  f32.set(y, yAt / 4);
  ew(op, 0, yAt, oAt, rows, width, ystep, ycol);
  o.set(view(oAt / 4, n));
}

/** `ewF32` with a scalar y (already rounded to float32). */
export function scalarF32(op: EwOp, x: TensorData, s: number, o: TensorData): void {
  const n = x.length, yAt = after(0, n), oAt = after(yAt, 1);
  reserve(oAt + n * 4);
  f32.set(x);
  f32[yAt / 4] = s;
  ew(op, 0, yAt, oAt, 1, n, 0, 0);
  o.set(view(oAt / 4, n));
}

/** Unary ops: 0 −x, 1 x², 2 1/x, 3 1 − x² (in double, rounded once). */
export function unaryF32(op: 0 | 1 | 2 | 3, x: TensorData, o: TensorData): void {
  const n = x.length, oAt = after(0, n);
  reserve(oAt + n * 4);
  f32.set(x);
  unary(op, 0, oAt, n);
  o.set(view(oAt / 4, n));
}

/** o[j] = Σ over rows of x[r·width + j], summed in order in float32 (o is overwritten). */
export function colsumF32(x: TensorData, o: TensorData, rows: number, width: number): void {
  const oAt = after(0, rows * width);
  reserve(oAt + width * 4);
  f32.set(x);
  colsum(0, oAt, rows, width);
  o.set(view(oAt / 4, width));
}

/** p −= lr·g in place, for float32 arrays of the same length (in double, rounded once). */
export function sgdF32(p: Float32Array, g: Float32Array, lr: number): void {
  const n = p.length, gAt = after(0, n);
  reserve(gAt + n * 4);
  f32.set(p);
  f32.set(g, gAt / 4);
  sgd(0, gAt, lr, n);
  p.set(view(0, n));
}

// Fused kernels of the composite ops (fused.ts). Their imports sit here with them, apart from
// the kernels above.
import { bn_forward } from "./wasm/kernels.wasm";

/** Where `batchNormF32` left its results: float offsets and lengths (see `batchNormResult`). */
const bn = { vec: 0, mat: 0, vstep: 0, mstep: 0, width: 0, size: 0 };

/**
 * Batchnorm's training forward over x (rows × width) with gain and bias (width each, float32):
 * every node of the subgraph computed in the memory, each rounded as its own kernel rounds it
 * (kernels.wat's bn_forward). `batchNormResult` then copies the results out, one by one.
 */
export function batchNormF32(
  x: Float32Array,
  gain: Float32Array,
  bias: Float32Array,
  rows: number,
  width: number,
  invN: number,
  invN1: number,
  eps: number,
): void {
  const size = rows * width, vstep = (width + 3) & ~3, mstep = (size + 3) & ~3;
  // x, four floats of slack (the column sums read up to a quad past it), gain, bias, then the
  // six vectors and the five matrices.
  const gAt = after(0, size + 4), bAt = after(gAt, vstep), vAt = after(bAt, vstep);
  const mAt = after(vAt, 6 * vstep);
  reserve(mAt + 5 * mstep * 4);
  f32.set(x);
  f32.set(gain, gAt / 4);
  f32.set(bias, bAt / 4);
  bn_forward(0, gAt, bAt, vAt, mAt, rows, width, invN, invN1, eps);
  bn.vec = vAt / 4, bn.mat = mAt / 4, bn.vstep = vstep, bn.mstep = mstep;
  bn.width = width, bn.size = size;
}

/**
 * Copies result `k` of the last `batchNormF32` into `out`: 0–5 the vectors bnsum, bnmeani,
 * bnvarsum, bnvar, bnvar_eps, bnvar_inv; 6–10 the matrices bndiff, bndiff2, bnraw, bnscaled,
 * hpreact.
 */
export function batchNormResult(k: number, out: TensorData): void {
  out.set(
    k < 6 ? view(bn.vec + k * bn.vstep, bn.width) : view(bn.mat + (k - 6) * bn.mstep, bn.size),
  );
}

import { mul_one_minus_square } from "./wasm/kernels.wasm";

/** o = g·(1 − y²) elementwise for float32 arrays of one length, in double, rounded once. */
export function mulOneMinusSquareF32(g: Float32Array, y: Float32Array, o: TensorData): void {
  const n = g.length, yAt = after(0, n), oAt = after(yAt, n);
  reserve(oAt + n * 4);
  f32.set(g);
  f32.set(y, yAt / 4);
  mul_one_minus_square(0, yAt, oAt, n);
  o.set(view(oAt / 4, n));
}

import { all_finite } from "./wasm/kernels.wasm";

/**
 * Whether every value of a float32 array is finite (neither NaN nor ±Infinity), read off the
 * exponent bits (kernels.wat's all_finite).
 */
export function finiteF32(x: Float32Array): boolean {
  reserve(x.length * 4);
  f32.set(x);
  return all_finite(0, x.length) === 1;
}
