/**
 * Matrix products batched over leading axes, as torch.matmul: (..., m, k) @ (..., k, n), the
 * leading (batch) axes broadcast. Each product of the batch is the 2-D kernel of matmul.ts run
 * on views of the operands' blocks (so it sums in the same order, on WebAssembly where that pays);
 * a batch against one 2-D matrix is a single 2-D product of the stacked rows.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, type Shape, sizeOf, Tensor, type TensorData } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { broadcastShape, broadcastStrides } from "./broadcast.ts";
import {
  BLAS_MIN,
  matmul,
  type MatmulAttrs,
  matmulCounts,
  matmulShape,
  SIMD_MACS,
} from "./matmul.ts";
import { gemmBatchF32 } from "./simd.ts";

/** The output shape of op(A) @ op(B) for operands of rank 2 or more, or an error naming both. */
export function batchedMatmulShape(a: Shape, b: Shape, attrs: MatmulAttrs): number[] {
  if (a.length < 2 || b.length < 2) {
    throw new NinjagradError(
      `batched matmul needs operands of rank 2 or more, got ${formatShape(a)} and ${
        formatShape(b)
      }`,
    );
  }
  const [m, n] = matmulShape(a.slice(-2), b.slice(-2), attrs);
  let batch: number[];
  try {
    batch = broadcastShape(a.slice(0, -2), b.slice(0, -2));
  } catch {
    throw new NinjagradError(
      `matmul: the batch axes of ${formatShape(a)} and ${
        formatShape(b)
      } do not broadcast (the last two axes are the matrices)`,
    );
  }
  return [...batch, m, n];
}

/** Views of consecutive (rows, cols) blocks of a tensor's data, made once per buffer. */
const views = new WeakMap<TensorData, Tensor[]>();

function blocks(t: Tensor, count: number, rows: number, cols: number): Tensor[] {
  const have = views.get(t.data);
  if (have && have.length === count && have[0].shape[0] === rows && have[0].shape[1] === cols) {
    return have;
  }
  const size = rows * cols, made: Tensor[] = [];
  for (let i = 0; i < count; i++) {
    made.push(new Tensor(t.data.subarray(i * size, (i + 1) * size), [rows, cols]));
  }
  views.set(t.data, made);
  return made;
}

/** C = op(A) @ op(B) over broadcast batch axes; the transposes apply to each matrix. */
export function batchedMatmul(a: Tensor, b: Tensor, attrs: MatmulAttrs, out?: Tensor): Tensor {
  const as = a.shape, bs = b.shape;
  const shape = batchedMatmulShape(as, bs, attrs);
  const res = target(out, shape, a);
  const ra = as.length, rb = bs.length, rank = shape.length;
  const m = shape[rank - 2], n = shape[rank - 1];
  if (rb === 2 && !attrs.transA) {
    // Every matrix of A meets the same B: one product of A's rows stacked, (batch·m, k) @ op(B).
    const k = as[ra - 1];
    matmul(a.reshape([a.size / k, k]), b, attrs, res.reshape([res.size / n, n]));
    return res;
  }
  const batch = shape.slice(0, -2), count = sizeOf(batch);
  if (unbroadcast(as, bs, batch) && wasmBatch(a, b, res, attrs, count, m, n)) return res;
  const aBlocks = blocks(a, a.size / (as[ra - 2] * as[ra - 1]), as[ra - 2], as[ra - 1]);
  const bBlocks = blocks(b, b.size / (bs[rb - 2] * bs[rb - 1]), bs[rb - 2], bs[rb - 1]);
  const outBlocks = blocks(res, count, m, n);
  // Block strides: how far A's (B's) block index moves along each batch axis; 0 where broadcast.
  const sa = broadcastStrides(as.slice(0, -2), batch),
    sb = broadcastStrides(bs.slice(0, -2), batch);
  const counter = new Array<number>(batch.length).fill(0);
  let ia = 0, ib = 0;
  for (let i = 0; i < count; i++) {
    matmul(aBlocks[ia], bBlocks[ib], attrs, outBlocks[i]);
    for (let axis = batch.length - 1; axis >= 0; axis--) {
      ia += sa[axis];
      ib += sb[axis];
      if (++counter[axis] < batch[axis]) break;
      ia -= sa[axis] * batch[axis];
      ib -= sb[axis] * batch[axis];
      counter[axis] = 0;
    }
  }
  return res;
}

/** Whether both operands have the output's batch axes, none broadcast. */
function unbroadcast(a: Shape, b: Shape, batch: Shape): boolean {
  if (a.length !== batch.length + 2 || b.length !== batch.length + 2) return false;
  for (let i = 0; i < batch.length; i++) if (a[i] !== batch[i] || b[i] !== batch[i]) return false;
  return true;
}

/**
 * The products of a batch whose every matrix product would run on WebAssembly (too small for
 * the BLAS, large enough for the lanes), in one loop of its kernel calls: the bits of the
 * product-by-product loop below, without matmul's per-product work.
 */
function wasmBatch(
  a: Tensor,
  b: Tensor,
  res: Tensor,
  { transA, transB }: MatmulAttrs,
  count: number,
  m: number,
  n: number,
): boolean {
  const A = a.data, B = b.data, C = res.data, as = a.shape;
  const k = transA ? as[as.length - 2] : as[as.length - 1], macs = m * n * k;
  if (!(A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array)) {
    return false;
  }
  if (macs < SIMD_MACS || macs >= BLAS_MIN) return false;
  if (!gemmBatchF32(A, B, C, count, m, n, k, transA, transB)) return false;
  matmulCounts.wasm += count;
  return true;
}
