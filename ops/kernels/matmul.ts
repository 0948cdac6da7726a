/**
 * 2-D matrix product with the transposed variants read in place: `Aᵀ` and `Bᵀ` are never
 * materialised, so matmul's backward (g @ Bᵀ, Aᵀ @ g) costs no copies.
 */
import { NinjagradError } from "../../graph/errors.ts";
import { formatShape, type Shape, Tensor } from "../../graph/tensor.ts";
import { target } from "./elementwise.ts";

/** Whether each operand is read transposed. */
export interface MatmulAttrs {
  transA: boolean;
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

/** C = op(A) @ op(B). */
export function matmul(a: Tensor, b: Tensor, attrs: MatmulAttrs, out?: Tensor): Tensor {
  const [m, n] = matmulShape(a.shape, b.shape, attrs);
  const k = attrs.transA ? a.shape[0] : a.shape[1];
  const res = target(out, [m, n], a);
  const A = a.data, B = b.data, C = res.data;
  C.fill(0);
  // Loop orders keep the innermost loop walking contiguous memory where the layout allows.
  if (!attrs.transB) {
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const aip = attrs.transA ? A[p * m + i] : A[i * k + p];
        const bp = p * n;
        for (let j = 0; j < n; j++) C[ci + j] += aip * B[bp + j];
      }
    }
  } else {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        const bj = j * k;
        if (attrs.transA) { for (let p = 0; p < k; p++) acc += A[p * m + i] * B[bj + p]; }
        else {
          const ai = i * k;
          for (let p = 0; p < k; p++) acc += A[ai + p] * B[bj + p];
        }
        C[i * n + j] = acc;
      }
    }
  }
  return res;
}
