/** Reductions over one axis (or all axes), keepdim or not, and their broadcasting inverses. */
import { NinjagradError } from "../../graph/errors.ts";
import { formatShape, type Shape, sizeOf, Tensor } from "../../graph/tensor.ts";
import { target } from "./elementwise.ts";
import { colsumF32, SIMD_MIN } from "./simd.ts";

/** Which axis to reduce (`null`: all of them) and whether to keep it as size 1. */
export interface ReduceAttrs {
  /** The axis to reduce (negative counts from the end); `null` reduces all of them. */
  axis: number | null;
  /** Whether the reduced axis stays, as size 1. */
  keepdim: boolean;
}

/** The axis as a non-negative number, or an error naming the shape. */
export function normAxis(axis: number, shape: Shape): number {
  const a = axis < 0 ? axis + shape.length : axis;
  if (a < 0 || a >= shape.length) {
    throw new NinjagradError(`axis ${axis} is out of range for shape ${formatShape(shape)}`);
  }
  return a;
}

/** The output shape of a reduction. */
export function reducedShape(shape: Shape, { axis, keepdim }: ReduceAttrs): number[] {
  if (axis === null) return keepdim ? shape.map(() => 1) : [];
  const a = normAxis(axis, shape);
  return keepdim ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
}

/** `[outer, n, inner]`: the reduced axis has length n, with `outer` rows before and `inner` after. */
export function splitAt(shape: Shape, axis: number | null): [number, number, number] {
  if (axis === null) return [1, sizeOf(shape), 1];
  const a = normAxis(axis, shape);
  return [sizeOf(shape.slice(0, a)), shape[a], sizeOf(shape.slice(a + 1))];
}

/** Sum over an axis. */
export function sum(x: Tensor, attrs: ReduceAttrs, out?: Tensor): Tensor {
  const res = target(out, reducedShape(x.shape, attrs), x);
  const [outer, n, inner] = splitAt(x.shape, attrs.axis);
  const s = x.data, o = res.data;
  if (outer === 1 && inner > 1 && s.length >= SIMD_MIN && s instanceof Float32Array) {
    // Sums over the first axis (a batch's column sums) on WebAssembly SIMD, in the same order.
    if (o instanceof Float32Array) return colsumF32(s, o, n, inner), res;
  }
  o.fill(0);
  if (inner === 1) {
    // Sums along the last axis (rows): the same additions in the same order, without a loop of one.
    for (let i = 0, base = 0; i < outer; i++, base += n) {
      for (let k = 0; k < n; k++) o[i] += s[base + k];
    }
    return res;
  }
  for (let i = 0; i < outer; i++) {
    for (let k = 0; k < n; k++) {
      const base = (i * n + k) * inner;
      for (let j = 0; j < inner; j++) o[i * inner + j] += s[base + j];
    }
  }
  return res;
}

/**
 * Max over an axis; `argmax` receives, per output element, the position along the axis of the
 * first maximum (ties go to the first, as in PyTorch).
 */
export function max(x: Tensor, attrs: ReduceAttrs, argmax: Int32Array, out?: Tensor): Tensor {
  const res = target(out, reducedShape(x.shape, attrs), x);
  const [outer, n, inner] = splitAt(x.shape, attrs.axis);
  const s = x.data, o = res.data;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      let best = -Infinity, arg = 0;
      for (let k = 0; k < n; k++) {
        const v = s[(i * n + k) * inner + j];
        if (v > best || (k === 0 && v !== v)) {
          best = v;
          arg = k;
        }
      }
      o[i * inner + j] = best;
      argmax[i * inner + j] = arg;
    }
  }
  return res;
}

/**
 * Spreads `g` (the shape of a reduction's output) back over the reduced axis, scaled by `scale`:
 * the backward of sum (scale 1) and mean (scale 1/n).
 */
export function expand(g: Tensor, shape: Shape, axis: number | null, scale = 1): Tensor {
  const res = Tensor.zeros(shape, g.dtype);
  const [outer, n, inner] = splitAt(shape, axis);
  const s = g.data, o = res.data;
  if (inner === 1) {
    for (let i = 0, base = 0; i < outer; i++, base += n) {
      const v = s[i] * scale;
      for (let k = 0; k < n; k++) o[base + k] = v;
    }
    return res;
  }
  for (let i = 0; i < outer; i++) {
    for (let k = 0; k < n; k++) {
      const base = (i * n + k) * inner;
      for (let j = 0; j < inner; j++) o[base + j] = s[i * inner + j] * scale;
    }
  }
  return res;
}

/** Routes `g` to the arg-max entry of each reduced slice, zeros elsewhere: max's backward. */
export function scatterMax(
  g: Tensor,
  shape: Shape,
  axis: number | null,
  argmax: Int32Array,
): Tensor {
  const res = Tensor.zeros(shape, g.dtype);
  const [outer, n, inner] = splitAt(shape, axis);
  const s = g.data, o = res.data;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      o[(i * n + argmax[i * inner + j]) * inner + j] = s[i * inner + j];
    }
  }
  return res;
}
