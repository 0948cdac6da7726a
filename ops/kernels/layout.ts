/**
 * Moving elements: permuting axes, and taking or placing a block of columns. Slicing an axis,
 * concatenating along one and stacking along a new one are all the same move once a tensor is
 * seen as (outer, width) rows: the axes before the one cut form `outer`, the rest `width`.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, overwritten, type Shape, sizeOf, stridesOf, Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { copyRowsF32, swapAxesF32, transposeBlocksF32 } from "./simd.ts";

/** Checks that `axes` is a permutation of 0..rank−1 (negative axes count from the end). */
export function permutation(axes: readonly number[], rank: number): number[] {
  const seen = new Array<boolean>(rank).fill(false);
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  if (
    axes.length !== rank || out.some((a) => !(a >= 0 && a < rank) || seen[a] || !(seen[a] = true))
  ) {
    throw new NinjagradError(
      `permute needs each axis of a rank-${rank} tensor once, got [${axes.join(", ")}]`,
    );
  }
  return out;
}

/** The axes that undo `axes`: permuting by one and then the other changes nothing. */
export function inversePermutation(axes: readonly number[]): number[] {
  const inv = new Array<number>(axes.length);
  axes.forEach((a, i) => (inv[a] = i));
  return inv;
}

/** `x.permute(axes)`, copied: output axis i is input axis axes[i]. */
export function permute(x: Tensor, axes: readonly number[], out?: Tensor): Tensor {
  const rank = x.shape.length;
  const shape = axes.map((a) => x.shape[a]);
  const res = target(out, shape, x);
  const s = x.data, o = res.data, n = o.length;
  if (rank === 0 || n === 0) {
    if (n === 1) o[0] = s[0];
    return res;
  }
  if (s instanceof Float32Array && o instanceof Float32Array && swapF32(s, o, x.shape, axes)) {
    return res;
  }
  const inStrides = stridesOf(x.shape);
  const strides = axes.map((a) => inStrides[a]); // input stride of each output axis
  const counter = new Array<number>(rank).fill(0);
  const inner = shape[rank - 1], step = strides[rank - 1];
  let at = 0;
  for (let i = 0; i < n; i += inner) {
    for (let j = 0, k = at; j < inner; j++, k += step) o[i + j] = s[k];
    for (let axis = rank - 2; axis >= 0; axis--) {
      at += strides[axis];
      if (++counter[axis] < shape[axis]) break;
      at -= strides[axis] * shape[axis];
      counter[axis] = 0;
    }
  }
  return res;
}

/**
 * `permute` of float32 data when `axes` swaps two axes i < j and keeps the rest (attention's
 * head transposes): x seen as (pre, nᵢ, mid, nⱼ, post) becomes (pre, nⱼ, mid, nᵢ, post), moved
 * run by run (copyRows: on WebAssembly where both lie in its memory) or, for the last two axes,
 * matrix by matrix, without the general walk's per-run counter. False, having done nothing, for
 * any other permutation.
 */
function swapF32(s: Float32Array, o: Float32Array, shape: Shape, axes: readonly number[]): boolean {
  let i = -1, j = -1;
  for (let a = 0; a < axes.length; a++) {
    if (axes[a] === a) continue;
    if (i < 0) i = a;
    else if (j < 0) j = a;
    else return false;
  }
  if (j < 0 || axes[i] !== j || axes[j] !== i) return false;
  let pre = 1, mid = 1, post = 1;
  for (let a = 0; a < i; a++) pre *= shape[a];
  for (let a = i + 1; a < j; a++) mid *= shape[a];
  for (let a = j + 1; a < shape.length; a++) post *= shape[a];
  const ni = shape[i], nj = shape[j], rowStride = nj * post, block = ni * mid * rowStride;
  // The last two axes (kᵀ): pre matrices (nᵢ × nⱼ) transposed, on WebAssembly where resident.
  if (post === 1 && mid === 1 && transposeBlocksF32(s, o, pre, ni, nj)) return true;
  // Runs of a multiple of four values (the head transposes): every run in one WebAssembly call.
  if (swapAxesF32(s, o, pre, ni, mid, nj, post)) return true;
  const xStride = mid * rowStride;
  let at = 0;
  for (let p = 0; p < pre; p++) {
    for (let y = 0; y < nj; y++) {
      for (let m = 0; m < mid; m++) {
        const first = p * block + m * rowStride + y * post;
        if (post === 1) {
          // The last axis swapped: a strided gather.
          for (let x = 0, from = first; x < ni; x++, from += xStride) o[at++] = s[from];
          continue;
        }
        // nᵢ runs of `post` values, xStride apart in x, one after the other in the output.
        copyRows(s, first, xStride, o, at, post, ni, post);
        at += ni * post;
      }
    }
  }
  return true;
}

/** `[outer, width]`: a shape seen as rows of everything from `axis` on. */
export function rowsAt(shape: Shape, axis: number): [number, number] {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  return [outer, sizeOf(shape) / Math.max(outer, 1)];
}

/**
 * Columns [from, from + width) of `src` seen as (outer, total) rows, into a tensor of `shape`
 * (outer · width elements): a slice's forward, and the share of each part in concat's backward.
 */
export function takeColumns(
  src: Tensor,
  outer: number,
  total: number,
  from: number,
  width: number,
  shape: Shape,
  out?: Tensor,
): Tensor {
  const res = target(out, shape, src);
  copyRows(src.data, from, total, res.data, 0, width, outer, width);
  return res;
}

/**
 * Writes `part` (outer · width elements) into columns [from, from + width) of `dst` seen as
 * (outer, total) rows: concat's forward, and a slice's backward into zeros.
 */
export function putColumns(
  part: Tensor,
  dst: Tensor,
  outer: number,
  total: number,
  from: number,
  width: number,
): void {
  if (part.size !== outer * width || dst.size !== outer * total) {
    throw new NinjagradError(
      `putColumns: ${formatShape(part.shape)} does not fill ${outer} rows of ${width} in ${
        formatShape(dst.shape)
      }`,
    );
  }
  copyRows(part.data, 0, width, dst.data, from, total, outer, width);
}

/** Above this many rows, a slice's backward zeroes its whole buffer at once. */
const FILL_ROWS = 16;

/**
 * A slice's backward: zeros of `shape` with `g` written into columns [from, from + width). The
 * columns around the block are zeroed (a recycled buffer holds the last pass's values): row by
 * row for a few rows, else the whole buffer in one fill, which the block then overwrites (two
 * fills a row cost more in calls than in zeros: the Transformer's q, k, v split, 512 rows, spent
 * 40 µs a slice on them).
 */
export function placeColumns(
  g: Tensor,
  shape: Shape,
  outer: number,
  total: number,
  from: number,
  width: number,
): Tensor {
  const res = overwritten(shape, g.dtype), o = res.data, rest = total - from - width;
  if (from + rest > 0 && outer > FILL_ROWS) o.fill(0);
  else if (from + rest > 0) {
    for (let r = 0, at = 0; r < outer; r++, at += total) {
      if (from > 0) o.fill(0, at, at + from);
      if (rest > 0) o.fill(0, at + from + width, at + total);
    }
  }
  putColumns(g, res, outer, total, from, width);
  return res;
}

/**
 * `rows` runs of `width` values, run r from s[a + r·sStride] into o[b + r·oStride]: where both
 * lie in the kernels' memory, in one WebAssembly call (a call per run costs more than the copy
 * of a short run), else run by run.
 */
function copyRows(
  s: Tensor["data"],
  a: number,
  sStride: number,
  o: Tensor["data"],
  b: number,
  oStride: number,
  rows: number,
  width: number,
): void {
  if (
    s instanceof Float32Array && o instanceof Float32Array &&
    copyRowsF32(s, a, sStride, o, b, oStride, rows, width)
  ) return;
  for (let r = 0; r < rows; r++) copyRun(s, a + r * sStride, o, b + r * oStride, width);
}

/**
 * o[b …] = s[a …], `n` elements: a long run through `set` (a memory copy), a short one unrolled by
 * four (a plain loop of a few elements costs more in its bookkeeping than in its copies).
 */
function copyRun(s: Tensor["data"], a: number, o: Tensor["data"], b: number, n: number): void {
  if (n >= 256) {
    o.set(s.subarray(a, a + n), b);
    return;
  }
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    o[b + j] = s[a + j];
    o[b + j + 1] = s[a + j + 1];
    o[b + j + 2] = s[a + j + 2];
    o[b + j + 3] = s[a + j + 3];
  }
  for (; j < n; j++) o[b + j] = s[a + j];
}
