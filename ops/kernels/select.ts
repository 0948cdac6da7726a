/**
 * Ops that choose between values: clamp, elementwise maximum and minimum, where, and the min over
 * an axis, with the masks their rules apply to `g`. Operands broadcast as in NumPy: equal shapes
 * and a one-element operand run as plain loops; other broadcasts walk index maps.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, sameShape, type Shape, sizeOf, type Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { broadcastShape, broadcastStrides } from "./broadcast.ts";
import { axisLength, normAxis, type ReduceAttrs, reducedShape } from "./reduce.ts";

/** min(max(x, lo), hi); a null bound is no bound. NaN stays NaN, as in torch.clamp. */
export function clamp(x: Tensor, lo: number | null, hi: number | null, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const s = x.data, o = res.data;
  const min = lo ?? -Infinity, max = hi ?? Infinity;
  for (let i = 0; i < s.length; i++) {
    const v = s[i];
    o[i] = v < min ? min : v > max ? max : v;
  }
  // torch.clamp with lo > hi sets every element to hi.
  if (min > max) o.fill(max);
  return res;
}

/** g where lo ≤ x ≤ hi (bounds included, as torch's clamp_backward), 0 elsewhere. */
export function clampBackward(g: Tensor, x: Tensor, lo: number | null, hi: number | null): Tensor {
  const res = target(undefined, x.shape, g);
  const gd = g.data, s = x.data, o = res.data;
  const min = lo ?? -Infinity, max = hi ?? Infinity;
  for (let i = 0; i < o.length; i++) o[i] = s[i] >= min && s[i] <= max ? gd[i] : 0;
  return res;
}

/**
 * For each element of `outShape` (row-major), the flat index of the element of `shape` that
 * broadcasting reads: identity for equal shapes, all zeros for one element.
 */
export function broadcastIndex(shape: Shape, outShape: Shape): Int32Array {
  const n = sizeOf(outShape), idx = new Int32Array(n);
  const strides = broadcastStrides(shape, outShape), rank = outShape.length;
  const counter = new Array<number>(rank).fill(0);
  let at = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = at;
    for (let axis = rank - 1; axis >= 0; axis--) {
      at += strides[axis];
      if (++counter[axis] < outShape[axis]) break;
      at -= strides[axis] * outShape[axis];
      counter[axis] = 0;
    }
  }
  return idx;
}

/** The broadcast shape of the operands, or `out`'s when it is that shape (no array made then). */
function resultShape(out: Tensor | undefined, ...shapes: Shape[]): Shape {
  let shape: Shape = shapes[0];
  for (let k = 1; k < shapes.length; k++) {
    if (!sameShape(shapes[k], shape)) shape = broadcastShape(shape, shapes[k]);
  }
  if (out !== undefined && !sameShape(out.shape, shape)) {
    throw new NinjagradError(
      `output buffer ${formatShape(out.shape)} does not fit ${formatShape(shape)}`,
    );
  }
  return shape;
}

const MAX = 0, MIN = 1;

/** The larger (MAX) or smaller (MIN) of u and v; NaN wins, as in torch.maximum and minimum. */
function pick(which: number, u: number, v: number): number {
  if (u !== u || v !== v) return NaN;
  return which === MAX ? (u >= v ? u : v) : (u <= v ? u : v);
}

function extreme(which: number, a: Tensor, b: Tensor, out: Tensor | undefined): Tensor {
  const shape = resultShape(out, a.shape, b.shape);
  const res = target(out, shape, a);
  const x = a.data, y = b.data, o = res.data, n = o.length;
  if (x.length === n && y.length === n) {
    for (let i = 0; i < n; i++) o[i] = pick(which, x[i], y[i]);
  } else {
    const ia = broadcastIndex(a.shape, shape), ib = broadcastIndex(b.shape, shape);
    for (let i = 0; i < n; i++) o[i] = pick(which, x[ia[i]], y[ib[i]]);
  }
  return res;
}

/** The elementwise maximum of a and b (broadcasting). */
export function maximum(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return extreme(MAX, a, b, out);
}

/** The elementwise minimum of a and b (broadcasting). */
export function minimum(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return extreme(MIN, a, b, out);
}

/**
 * The share of `g` (the output's shape) that goes to `mine` in maximum (or minimum) of mine and
 * other: all of it where mine wins, none where it loses, half at a tie (torch's rule), at the
 * output's shape; the rule sums it to mine's shape.
 */
export function extremeShare(
  g: Tensor,
  mine: Tensor,
  other: Tensor,
  min: boolean,
): Tensor {
  const res = target(undefined, g.shape, g);
  const gd = g.data, x = mine.data, y = other.data, o = res.data, n = o.length;
  const ia = x.length === n ? undefined : broadcastIndex(mine.shape, g.shape);
  const ib = y.length === n ? undefined : broadcastIndex(other.shape, g.shape);
  for (let i = 0; i < n; i++) {
    const u = x[ia ? ia[i] : i], v = y[ib ? ib[i] : i];
    const wins = min ? u < v : u > v;
    o[i] = u === v ? gd[i] / 2 : wins ? gd[i] : 0;
  }
  return res;
}

/** cond ? a : b elementwise, where cond is nonzero (broadcasting all three). */
export function where(cond: Tensor, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const shape = resultShape(out, cond.shape, a.shape, b.shape);
  const res = target(out, shape, a);
  const c = cond.data, x = a.data, y = b.data, o = res.data, n = o.length;
  if (c.length === n && x.length === n && y.length === n) {
    for (let i = 0; i < n; i++) o[i] = c[i] !== 0 ? x[i] : y[i];
  } else {
    const ic = broadcastIndex(cond.shape, shape);
    const ia = broadcastIndex(a.shape, shape), ib = broadcastIndex(b.shape, shape);
    for (let i = 0; i < n; i++) o[i] = c[ic[i]] !== 0 ? x[ia[i]] : y[ib[i]];
  }
  return res;
}

/** g where cond is nonzero (`chosen`) or zero (not `chosen`), 0 elsewhere: where's rules. */
export function whereShare(g: Tensor, cond: Tensor, chosen: boolean): Tensor {
  const res = target(undefined, g.shape, g);
  const gd = g.data, c = cond.data, o = res.data, n = o.length;
  const ic = c.length === n ? undefined : broadcastIndex(cond.shape, g.shape);
  for (let i = 0; i < n; i++) o[i] = (c[ic ? ic[i] : i] !== 0) === chosen ? gd[i] : 0;
  return res;
}

/**
 * Min over an axis (or all of them); `argmin` receives, per output element, the position along
 * the axis of the first minimum (a NaN counts as the minimum, as in torch.min).
 */
export function min(x: Tensor, attrs: ReduceAttrs, argmin: Int32Array, out?: Tensor): Tensor {
  const shape = x.shape;
  const a = attrs.axis === null ? -1 : normAxis(attrs.axis, shape);
  const n = axisLength(shape, attrs.axis);
  let outer = 1, inner = 1;
  if (a >= 0) {
    for (let i = 0; i < a; i++) outer *= shape[i];
    for (let i = a + 1; i < shape.length; i++) inner *= shape[i];
  }
  const res = out ?? target(undefined, reducedShape(shape, attrs), x);
  if (res.size !== outer * inner || argmin.length < outer * inner) {
    throw new NinjagradError(
      `min: output buffer ${formatShape(res.shape)} does not fit the reduction of ${
        formatShape(shape)
      }`,
    );
  }
  const s = x.data, o = res.data;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      let best = Infinity, arg = 0;
      for (let k = 0; k < n; k++) {
        const v = s[(i * n + k) * inner + j];
        if (v < best || (v !== v && best === best)) {
          best = v;
          arg = k;
        }
      }
      o[i * inner + j] = best;
      argmin[i * inner + j] = arg;
    }
  }
  return res;
}
