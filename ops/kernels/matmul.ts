/**
 * 2-D matrix product with the transposed variants read in place: `Aᵀ` and `Bᵀ` are never
 * materialised, so matmul's backward (g @ Bᵀ, Aᵀ @ g) costs no copies. One kernel serves all
 * four variants through strides. Float32 products are summed in float32, as PyTorch's float32
 * matmul sums them; float64 products in double. WebAssembly SIMD does the work; plain loops for
 * tiny products (and mixed dtypes) give the same bits.
 */
import { NinjagradError } from "../../graph/errors.ts";
import { formatShape, type Shape, Tensor } from "../../graph/tensor.ts";
import { target } from "./elementwise.ts";
import { gemmF32, gemmF64 } from "./simd.ts";

/** Whether each operand is read transposed. */
export interface MatmulAttrs {
  /** Whether A is read transposed. */
  transA: boolean;
  /** Whether B is read transposed. */
  transB: boolean;
}

/** The output shape of op(A) @ op(B), or an error naming both shapes. */
export function matmulShape(a: Shape, b: Shape, { transA, transB }: MatmulAttrs): number[] {
  if (a.length !== 2 || b.length !== 2) {
    throw new NinjagradError(
      `matmul needs 2-D operands, got ${formatShape(a)} and ${formatShape(b)}`,
    );
  }
  const [m, ka] = transA ? [a[1], a[0]] : [a[0], a[1]];
  const [kb, n] = transB ? [b[1], b[0]] : [b[0], b[1]];
  if (ka !== kb) {
    throw new NinjagradError(
      `matmul: inner dimensions differ: ${formatShape(a)}${transA ? "ᵀ" : ""} @ ${formatShape(b)}${
        transB ? "ᵀ" : ""
      } (${ka} vs ${kb})`,
    );
  }
  return [m, n];
}

/** The output shape handed to `target`, filled in place: a training step allocates nothing. */
const outShape = [0, 0];

/** C = op(A) @ op(B). */
export function matmul(a: Tensor, b: Tensor, attrs: MatmulAttrs, out?: Tensor): Tensor {
  const { transA, transB } = attrs, as = a.shape, bs = b.shape;
  // Sizes read without building arrays; matmulShape throws the error when they do not fit.
  if (as.length !== 2 || bs.length !== 2) matmulShape(as, bs, attrs);
  const m = transA ? as[1] : as[0], k = transA ? as[0] : as[1];
  const n = transB ? bs[0] : bs[1];
  if ((transB ? bs[1] : bs[0]) !== k) matmulShape(as, bs, attrs);
  outShape[0] = m, outShape[1] = n;
  const res = target(out, outShape, a);
  // A transposed operand is the same one read with its strides swapped: op(A)[i, p] is
  // A[i·rsA + p·csA], op(B)[p, j] is B[p·rsB + j·csB].
  const rsA = transA ? 1 : k, csA = transA ? m : 1;
  const rsB = transB ? 1 : n, csB = transB ? k : 1;
  const A = a.data, B = b.data, C = res.data;
  // WebAssembly and the loops give the same bits; below a few hundred multiply-adds, copying
  // into WebAssembly's memory costs more than it saves (and operands too big for its scratch
  // stay in JavaScript).
  const simd = m * n * k >= 512;
  if (C instanceof Float32Array && A instanceof Float32Array && B instanceof Float32Array) {
    if (!(simd && gemmF32(A, rsA, csA, B, rsB, csB, C, m, n, k))) {
      gemm32(A, rsA, csA, B, rsB, csB, C, m, n, k);
    }
  } else if (C instanceof Float64Array && A instanceof Float64Array && B instanceof Float64Array) {
    if (!(simd && gemmF64(A, rsA, csA, B, rsB, csB, C, m, n, k))) {
      gemm(A, rsA, csA, B, rsB, csB, C, m, n, k);
    }
  } else {
    gemm(A, rsA, csA, B, rsB, csB, C, m, n, k);
  }
  return res;
}

/**
 * The float32 product: every C[i, j] starts at 0 and adds, for p in order, the float32 product
 * A[i, p]·B[p, j] rounded to float32, each sum rounded to float32 (Math.fround of a double sum
 * or product of two float32 values is the float32 operation's result, bit for bit).
 */
function gemm32(
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
  const f = Math.fround;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0, pa = i * rsA, pb = j * csB; p < k; p++, pa += csA, pb += rsB) {
        acc = f(acc + f(A[pa] * B[pb]));
      }
      C[i * n + j] = acc;
    }
  }
}

type Floats = Tensor["data"];

/**
 * C (m × n, row-major) = op(A) @ op(B), in blocks of 4 × 4 outputs kept in sixteen local
 * accumulators while p runs: each element loaded feeds four multiply-adds instead of one. Sums
 * run over p in order in double precision (float64 tensors).
 */
function gemm(
  A: Floats,
  rsA: number,
  csA: number,
  B: Floats,
  rsB: number,
  csB: number,
  C: Floats,
  m: number,
  n: number,
  k: number,
): void {
  const m4 = m - (m % 4), n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < n4; j += 4) block4x4(A, rsA, csA, B, rsB, csB, C, n, k, i, j);
    for (let j = n4; j < n; j++) block4x1(A, rsA, csA, B, rsB, csB, C, n, k, i, j);
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n4; j += 4) block1x4(A, rsA, csA, B, rsB, csB, C, n, k, i, j);
    for (let j = n4; j < n; j++) {
      let acc = 0;
      for (let p = 0, pa = i * rsA, pb = j * csB; p < k; p++, pa += csA, pb += rsB) {
        acc += A[pa] * B[pb];
      }
      C[i * n + j] = acc;
    }
  }
}

function block4x4(
  A: Floats,
  rsA: number,
  csA: number,
  B: Floats,
  rsB: number,
  csB: number,
  C: Floats,
  n: number,
  k: number,
  i: number,
  j: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const a1 = rsA, a2 = 2 * rsA, a3 = 3 * rsA, b1 = csB, b2 = 2 * csB, b3 = 3 * csB;
  for (let p = 0, pa = i * rsA, pb = j * csB; p < k; p++, pa += csA, pb += rsB) {
    const x0 = A[pa], x1 = A[pa + a1], x2 = A[pa + a2], x3 = A[pa + a3];
    const y0 = B[pb], y1 = B[pb + b1], y2 = B[pb + b2], y3 = B[pb + b3];
    c00 += x0 * y0, c01 += x0 * y1, c02 += x0 * y2, c03 += x0 * y3;
    c10 += x1 * y0, c11 += x1 * y1, c12 += x1 * y2, c13 += x1 * y3;
    c20 += x2 * y0, c21 += x2 * y1, c22 += x2 * y2, c23 += x2 * y3;
    c30 += x3 * y0, c31 += x3 * y1, c32 += x3 * y2, c33 += x3 * y3;
  }
  let o = i * n + j;
  C[o] = c00, C[o + 1] = c01, C[o + 2] = c02, C[o + 3] = c03, o += n;
  C[o] = c10, C[o + 1] = c11, C[o + 2] = c12, C[o + 3] = c13, o += n;
  C[o] = c20, C[o + 1] = c21, C[o + 2] = c22, C[o + 3] = c23, o += n;
  C[o] = c30, C[o + 1] = c31, C[o + 2] = c32, C[o + 3] = c33;
}

function block4x1(
  A: Floats,
  rsA: number,
  csA: number,
  B: Floats,
  rsB: number,
  csB: number,
  C: Floats,
  n: number,
  k: number,
  i: number,
  j: number,
): void {
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  const a1 = rsA, a2 = 2 * rsA, a3 = 3 * rsA;
  for (let p = 0, pa = i * rsA, pb = j * csB; p < k; p++, pa += csA, pb += rsB) {
    const y = B[pb];
    c0 += A[pa] * y, c1 += A[pa + a1] * y, c2 += A[pa + a2] * y, c3 += A[pa + a3] * y;
  }
  const o = i * n + j;
  C[o] = c0, C[o + n] = c1, C[o + 2 * n] = c2, C[o + 3 * n] = c3;
}

function block1x4(
  A: Floats,
  rsA: number,
  csA: number,
  B: Floats,
  rsB: number,
  csB: number,
  C: Floats,
  n: number,
  k: number,
  i: number,
  j: number,
): void {
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  const b1 = csB, b2 = 2 * csB, b3 = 3 * csB;
  for (let p = 0, pa = i * rsA, pb = j * csB; p < k; p++, pa += csA, pb += rsB) {
    const x = A[pa];
    c0 += x * B[pb], c1 += x * B[pb + b1], c2 += x * B[pb + b2], c3 += x * B[pb + b3];
  }
  const o = i * n + j;
  C[o] = c0, C[o + 1] = c1, C[o + 2] = c2, C[o + 3] = c3;
}
