/**
 * 2-D matrix product with the transposed variants read in place: `Aᵀ` and `Bᵀ` are never
 * materialised, so matmul's backward (g @ Bᵀ, Aᵀ @ g) costs no copies.
 *
 * Float32 products of at least `BLAS_MIN` multiply-adds go to the system's BLAS when one is
 * loaded (blas.ts: OpenBLAS, the library PyTorch multiplies with): it sums in float32 with fused
 * multiply-adds, in blocks over k, so its last bits differ from the in-order sum's (within the
 * float32 sum's error bound, tests/kernels_test.ts), are the same for operands anywhere in
 * memory, and for products above 64³ multiply-adds (which OpenBLAS splits between threads) may
 * depend on the thread count. Every other product runs on WebAssembly SIMD with one kernel for
 * all four variants: each C[i, j] sums its float32 products in float32, in order (float64 ones
 * in double); plain loops for tiny products (and mixed dtypes) give the same bits.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, type Shape, Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { gemmF32, gemmF64 } from "./simd.ts";
import { sgemm } from "./blas.ts";

/**
 * Float32 products of at least this many multiply-adds go to the native BLAS when one is loaded
 * (blas.ts); smaller ones, and all of them without one, run in order on WebAssembly.
 */
export const BLAS_MIN = 8192;
/** Float32 and float64 products of at least this many multiply-adds run on WebAssembly. */
export const SIMD_MACS = 512;

let blasAllowed = true;

/** How many matrix products each path has run (the bench reads it to say which ran). */
export const matmulCounts: { blas: number; wasm: number; js: number } = {
  blas: 0,
  wasm: 0,
  js: 0,
};

/**
 * @internal Whether float32 products may use the native BLAS (tests of the in-order kernels
 * turn it off). Returns the previous setting.
 */
export function allowBlas(allowed: boolean): boolean {
  const was = blasAllowed;
  blasAllowed = allowed;
  return was;
}

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
  const simd = m * n * k >= SIMD_MACS;
  if (C instanceof Float32Array && A instanceof Float32Array && B instanceof Float32Array) {
    if (blasAllowed && m * n * k >= BLAS_MIN && sgemm(transA, transB, A, B, C, m, n, k)) {
      matmulCounts.blas++;
    } else if (simd && gemmF32(A, rsA, csA, B, rsB, csB, C, m, n, k)) {
      matmulCounts.wasm++;
    } else {
      gemm32(A, rsA, csA, B, rsB, csB, C, m, n, k);
      matmulCounts.js++;
    }
  } else if (C instanceof Float64Array && A instanceof Float64Array && B instanceof Float64Array) {
    if (simd && gemmF64(A, rsA, csA, B, rsB, csB, C, m, n, k)) matmulCounts.wasm++;
    else {
      gemm(A, rsA, csA, B, rsB, csB, C, m, n, k);
      matmulCounts.js++;
    }
  } else {
    gemm(A, rsA, csA, B, rsB, csB, C, m, n, k);
    matmulCounts.js++;
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
 * The double-precision product: every C[i, j] summed over p in order in double, rounded once
 * when stored. Tiny products, mixed dtypes and operands too big for WebAssembly's scratch come
 * here; gemmF64 gives the same bits, faster.
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
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0, pa = i * rsA, pb = j * csB; p < k; p++, pa += csA, pb += rsB) {
        acc += A[pa] * B[pb];
      }
      C[i * n + j] = acc;
    }
  }
}
