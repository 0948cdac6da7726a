/**
 * NumPy broadcasting: the one place where shapes are stretched (forward) and where gradients are
 * summed back to an input's shape (backward, `sumTo`). Rules call `sumTo`; none repeats it.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, sameShape, type Shape, sizeOf, Tensor, type TensorData } from "./tensor.ts";
import { rowSums } from "./reduce.ts";
import { colsumF32, SIMD_MIN } from "./simd.ts";

/** The shape two operands broadcast to, or an error naming both shapes. */
export function broadcastShape(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new NinjagradError(
        `shapes ${formatShape(a)} and ${
          formatShape(b)
        } do not broadcast: axis ${i} is ${da} against ${db}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Whether `a` and `b` broadcast to exactly `out`: `broadcastShape(a, b)` equals `out`, worked
 * out without making the array (kernels given an output buffer check it on every call).
 */
export function broadcastsTo(a: Shape, b: Shape, out: Shape): boolean {
  const rank = out.length;
  if (a.length > rank || b.length > rank || (a.length !== rank && b.length !== rank)) {
    return false;
  }
  for (let i = 0; i < rank; i++) {
    const ia = i - rank + a.length, ib = i - rank + b.length;
    const da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da !== db && da !== 1 && db !== 1) return false;
    if (out[i] !== (da === 1 ? db : da)) return false;
  }
  return true;
}

/** Whether `a` and `b` broadcast at all (`broadcastShape` would not throw), allocating nothing. */
function compatible(a: Shape, b: Shape): boolean {
  for (let i = 1; i <= a.length && i <= b.length; i++) {
    const da = a[a.length - i], db = b[b.length - i];
    if (da !== db && da !== 1 && db !== 1) return false;
  }
  return true;
}

/**
 * Strides with which an operand of `shape` is read while walking `outShape` row-major: 0 on the
 * axes it is broadcast along.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = rank - shape.length + i;
    strides[axis] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Calls `visit(outIndex, aIndex, bIndex)` for every element of `outShape`, with the flat indices
 * of the two broadcast operands. The innermost axis runs as a plain loop.
 */
export function forEachBroadcast(
  outShape: Shape,
  aStrides: number[],
  bStrides: number[],
  visit: (o: number, ia: number, ib: number) => void,
): void {
  const rank = outShape.length;
  const n = sizeOf(outShape);
  if (rank === 0) {
    if (n === 1) visit(0, 0, 0);
    return;
  }
  const inner = outShape[rank - 1];
  const sa = aStrides[rank - 1], sb = bStrides[rank - 1];
  const counter = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < inner; j++) visit(o + j, ia + j * sa, ib + j * sb);
    // Advance the odometer over the outer axes.
    for (let axis = rank - 2; axis >= 0; axis--) {
      ia += aStrides[axis];
      ib += bStrides[axis];
      if (++counter[axis] < outShape[axis]) break;
      ia -= aStrides[axis] * outShape[axis];
      ib -= bStrides[axis] * outShape[axis];
      counter[axis] = 0;
    }
  }
}

/**
 * Sums `g` down to `shape`: over the leading axes `g` has in excess and over every axis where
 * `shape` is 1 and `g` is not. The backward half of broadcasting. Returns `g` itself when the
 * shapes already agree.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  if (shape.length > g.shape.length) {
    throw new NinjagradError(
      `cannot sum a gradient of shape ${formatShape(g.shape)} to ${formatShape(shape)}`,
    );
  }
  if (!compatible(shape, g.shape)) broadcastShape(shape, g.shape); // throws, naming both
  const out = Tensor.zeros(shape, g.dtype);
  const o = out.data, src = g.data;
  const n = src.length, m = o.length;
  // The sums the lecture's graphs need, in the same order as the general walk below and
  // accumulated in the output (so in float32 for float32): hand-written rules that sum with
  // `sum` must get the very same bits.
  if (m === 1) {
    rowSums(src, o, 1, n);
  } else if (isTrailing(shape, g.shape)) {
    // (rows, m) summed over rows into m: a bias's gradient.
    const simd = n >= SIMD_MIN && src instanceof Float32Array && o instanceof Float32Array;
    if (!(simd && colsumF32(src, o, n / m, m))) {
      for (let base = 0; base < n; base += m) for (let j = 0; j < m; j++) o[j] += src[base + j];
    }
  } else if (isLeading(shape, g.shape)) {
    // (m, width) summed over each row into (m, 1).
    rowSums(src, o, m, n / m);
  } else {
    sumAny(src, g.shape, o, shape);
  }
  return out;
}

/**
 * The general walk of `sumTo`. A function of its own: its closure would otherwise make every
 * `sumTo` call allocate.
 */
function sumAny(src: TensorData, from: Shape, o: TensorData, shape: Shape): void {
  const strides = broadcastStrides(shape, from);
  forEachBroadcast(from, strides, strides, (i, io) => {
    o[io] += src[i];
  });
}

/** Whether `small` equals the trailing axes of `big`, with only 1s before them. */
function isTrailing(small: Shape, big: Shape): boolean {
  let lead = 0;
  while (lead < small.length && small[lead] === 1) lead++;
  const tail = small.length - lead;
  if (tail > big.length) return false;
  for (let i = 0; i < tail; i++) if (small[lead + i] !== big[big.length - tail + i]) return false;
  return true;
}

/** Whether `small` equals `big` on every axis but trailing ones where it is 1. */
function isLeading(small: Shape, big: Shape): boolean {
  if (small.length !== big.length) return false;
  let end = small.length;
  while (end > 0 && small[end - 1] === 1) end--;
  for (let i = 0; i < end; i++) if (small[i] !== big[i]) return false;
  return true;
}

/**
 * The axes (of `have`, keepdim) over which a gradient of shape `have` would have to be summed to
 * become `want`, or null when no such sum exists. Used in error hints.
 */
export function axesToSum(have: Shape, want: Shape): number[] | null {
  if (have.length < want.length) return null;
  const axes: number[] = [];
  const lead = have.length - want.length;
  for (let i = 0; i < have.length; i++) {
    const w = i < lead ? 1 : want[i - lead];
    if (w === have[i]) continue;
    if (w !== 1) return null;
    axes.push(i);
  }
  return axes.length > 0 ? axes : null;
}
