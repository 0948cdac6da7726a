/**
 * NumPy broadcasting: the one place where shapes are stretched (forward) and where gradients are
 * summed back to an input's shape (backward, `sumTo`). Rules call `sumTo`; none repeats it.
 */
import { NinjagradError } from "../../graph/errors.ts";
import { formatShape, sameShape, type Shape, sizeOf, Tensor } from "../../graph/tensor.ts";

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
  broadcastShape(shape, g.shape); // validates compatibility
  const out = Tensor.zeros(shape, g.dtype);
  const o = out.data, src = g.data;
  const strides = broadcastStrides(shape, g.shape);
  forEachBroadcast(g.shape, strides, strides, (i, io) => {
    o[io] += src[i];
  });
  return out;
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
