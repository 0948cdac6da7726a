/** Reductions over one axis (or all axes), keepdim or not, and their broadcasting inverses. */
import { NinjagradError } from "./errors.ts";
import { formatShape, overwritten, type Shape, sizeOf, Tensor, type TensorData } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { colsumF32, fillRowsF32, rowsumF32, rowsumShortF32, SIMD_MIN } from "./simd.ts";

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
  const a = axis === null ? ALL : normAxis(axis, shape);
  return [outerOf(shape, a), lengthOf(shape, a), innerOf(shape, a)];
}

/** The length of the reduced axis (every element's count for axis null): splitAt's n, no array. */
export function axisLength(shape: Shape, axis: number | null): number {
  return lengthOf(shape, axis === null ? ALL : normAxis(axis, shape));
}

// The kernels below take splitAt's three numbers one at a time, so that a call allocates no
// array; `a` is a normalised axis, or ALL for a reduction over every axis.
const ALL = -1;
/** The number of slices before the axis. */
function outerOf(shape: Shape, a: number): number {
  let outer = 1;
  for (let i = 0; i < a; i++) outer *= shape[i];
  return outer;
}
/** The axis's length. */
function lengthOf(shape: Shape, a: number): number {
  return a === ALL ? sizeOf(shape) : shape[a];
}
/** The number of elements after the axis. */
function innerOf(shape: Shape, a: number): number {
  let inner = 1;
  if (a !== ALL) { for (let i = a + 1; i < shape.length; i++) inner *= shape[i]; }
  return inner;
}

/** Whether `out` is `reducedShape(shape, …)` for the normalised axis `a`, allocating nothing. */
function isReduced(out: Shape, shape: Shape, a: number, keepdim: boolean): boolean {
  if (out.length !== (keepdim ? shape.length : a === ALL ? 0 : shape.length - 1)) return false;
  for (let i = 0; i < out.length; i++) {
    const want = keepdim ? (a === ALL || i === a ? 1 : shape[i]) : shape[i < a ? i : i + 1];
    if (out[i] !== want) return false;
  }
  return true;
}

/** Shape arrays by rank for `target`, refilled in place (a new tensor copies its shape). */
const scratchShapes: number[][] = [];

/** `out` when it has the reduced shape, else `target`'s answer; neither allocates a shape. */
function reducedTarget(x: Tensor, attrs: ReduceAttrs, a: number, out: Tensor | undefined): Tensor {
  if (out !== undefined && isReduced(out.shape, x.shape, a, attrs.keepdim)) return out;
  const shape = x.shape, keep = attrs.keepdim;
  const rank = keep ? shape.length : a === ALL ? 0 : shape.length - 1;
  const reduced = scratchShapes[rank] ??= new Array<number>(rank).fill(0);
  for (let i = 0, r = 0; i < shape.length; i++) {
    if (a !== ALL && i !== a) reduced[r++] = shape[i];
    else if (keep) reduced[r++] = 1;
  }
  return target(out, reduced, x);
}

/** Sum over an axis. */
export function sum(x: Tensor, attrs: ReduceAttrs, out?: Tensor): Tensor {
  const a = attrs.axis === null ? ALL : normAxis(attrs.axis, x.shape);
  const res = reducedTarget(x, attrs, a, out);
  const outer = outerOf(x.shape, a), n = lengthOf(x.shape, a), inner = innerOf(x.shape, a);
  const s = x.data, o = res.data;
  if (outer === 1 && inner > 1 && s.length >= SIMD_MIN && s instanceof Float32Array) {
    // Sums over the first axis (a batch's column sums) on WebAssembly SIMD, in the same order.
    if (o instanceof Float32Array && colsumF32(s, o, n, inner)) return res;
  }
  if (inner === 1) return rowSums(s, o, outer, n), res;
  o.fill(0);
  for (let i = 0; i < outer; i++) {
    for (let k = 0; k < n; k++) {
      const base = (i * n + k) * inner;
      for (let j = 0; j < inner; j++) o[i * inner + j] += s[base + j];
    }
  }
  return res;
}

/**
 * Rows of at least this many float32 values are summed in sixteen partial sums (`rowSums32`);
 * shorter ones, and float64 ones, in order.
 */
export const LONG_ROW = 256;

/**
 * o[i] = Σₖ x[i·width + k] in o's precision (every partial sum rounded to float32 for a float32
 * o, as `o[i] += …` rounds it): sums along the last axis. Rows are summed from 0 in order, four
 * rows at a time so that the four chains of dependent additions overlap; float32 rows of
 * `LONG_ROW` values or more take sixteen partial sums (see rowSums32).
 */
export function rowSums(x: TensorData, o: TensorData, rows: number, width: number): void {
  if (o instanceof Float32Array) return rowSums32(x, o, rows, width);
  let i = 0;
  for (; i + 3 < rows; i += 4) {
    const b = i * width;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = b, end = b + width; k < end; k++) {
      s0 += x[k], s1 += x[k + width], s2 += x[k + 2 * width], s3 += x[k + 3 * width];
    }
    o[i] = s0, o[i + 1] = s1, o[i + 2] = s2, o[i + 3] = s3;
  }
  for (; i < rows; i++) {
    let s = 0;
    for (let k = i * width, end = k + width; k < end; k++) s += x[k];
    o[i] = s;
  }
}

/**
 * `rowSums` into float32: `Math.fround` after every addition, as a float32 store would (from 256
 * values on, on WebAssembly SIMD, four rows at a time: kernels.wat's rowsum_short). A row of
 * `LONG_ROW` values or more would be one long chain of dependent additions: it is summed in
 * sixteen partial sums instead, value k going to partial k mod 16, each in order; then
 * (s[j] + s[4+j]) + (s[8+j] + s[12+j]) for j < 4, those four added as (v0 + v1) + (v2 + v3),
 * and the last width mod 16 values in order (on WebAssembly SIMD, kernels.wat's rowsum, the same
 * bits). More partial sums also make a long sum's rounding error smaller.
 */
function rowSums32(x: TensorData, o: Float32Array, rows: number, width: number): void {
  const f = Math.fround;
  if (width >= LONG_ROW) {
    if (x instanceof Float32Array && rowsumF32(x, o, rows, width)) return;
    for (let i = 0; i < rows; i++) o[i] = longRow(x, i * width, width);
    return;
  }
  if (x instanceof Float32Array && rows * width >= SIMD_MIN && rowsumShortF32(x, o, rows, width)) {
    return;
  }
  let i = 0;
  for (; i + 3 < rows; i += 4) {
    const b = i * width;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = b, end = b + width; k < end; k++) {
      s0 = f(s0 + x[k]), s1 = f(s1 + x[k + width]);
      s2 = f(s2 + x[k + 2 * width]), s3 = f(s3 + x[k + 3 * width]);
    }
    o[i] = s0, o[i + 1] = s1, o[i + 2] = s2, o[i + 3] = s3;
  }
  for (; i < rows; i++) {
    let s = 0;
    for (let k = i * width, end = k + width; k < end; k++) s = f(s + x[k]);
    o[i] = s;
  }
}

/** The sixteen partial sums of rowSums32, for the row of `width` values at `start`. */
const partials = new Float64Array(16);
function longRow(x: TensorData, start: number, width: number): number {
  const f = Math.fround, s = partials;
  s.fill(0);
  const blocks = start + (width & ~15), end = start + width;
  for (let k = start; k < blocks; k += 16) {
    for (let j = 0; j < 16; j++) s[j] = f(s[j] + x[k + j]);
  }
  const v0 = f(f(s[0] + s[4]) + f(s[8] + s[12])), v1 = f(f(s[1] + s[5]) + f(s[9] + s[13]));
  const v2 = f(f(s[2] + s[6]) + f(s[10] + s[14])), v3 = f(f(s[3] + s[7]) + f(s[11] + s[15]));
  let total = f(f(v0 + v1) + f(v2 + v3));
  for (let k = blocks; k < end; k++) total = f(total + x[k]);
  return total;
}

/**
 * Max over an axis; `argmax` receives, per output element, the position along the axis of the
 * first maximum (ties go to the first, as in PyTorch).
 */
export function max(x: Tensor, attrs: ReduceAttrs, argmax: Int32Array, out?: Tensor): Tensor {
  const a = attrs.axis === null ? ALL : normAxis(attrs.axis, x.shape);
  const res = reducedTarget(x, attrs, a, out);
  const outer = outerOf(x.shape, a), n = lengthOf(x.shape, a), inner = innerOf(x.shape, a);
  const s = x.data, o = res.data;
  if (inner === 1) {
    // Along the last axis (a row's max): the same comparisons without the index arithmetic.
    // The first entry starts the scan (a NaN there stays the max, as above).
    for (let i = 0, base = 0; i < outer; i++, base += n) {
      let best = n > 0 ? s[base] : -Infinity, arg = 0;
      for (let k = 1; k < n; k++) {
        const v = s[base + k];
        if (v > best) {
          best = v;
          arg = k;
        }
      }
      o[i] = best;
      argmax[i] = arg;
    }
    return res;
  }
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
  const res = overwritten(shape, g.dtype);
  const a = axis === null ? ALL : normAxis(axis, shape);
  const outer = outerOf(shape, a), n = lengthOf(shape, a), inner = innerOf(shape, a);
  const s = g.data, o = res.data;
  if (inner === 1) {
    if (
      s instanceof Float32Array && o instanceof Float32Array && o.length >= SIMD_MIN &&
      fillRowsF32(s, o, outer, n, scale)
    ) return res; // on WebAssembly SIMD, the same bits
    // A loop, not fill, for short rows: a double handed to a builtin is boxed, an allocation per
    // row. A long row is worth the one allocation: fill writes it several times faster.
    for (let i = 0, base = 0; i < outer; i++, base += n) {
      const v = s[i] * scale;
      if (n >= 1024) o.fill(v, base, base + n);
      else for (let k = 0; k < n; k++) o[base + k] = v;
    }
    return res;
  }
  // Every slice along the axis is the same: the first is computed, then copied, doubling.
  for (let i = 0; i < outer; i++) {
    const first = i * n * inner, from = i * inner, end = first + n * inner;
    for (let j = 0; j < inner; j++) o[first + j] = s[from + j] * scale;
    for (let done = first + inner; done < end; done += done - first) {
      o.copyWithin(done, first, Math.min(done, end - (done - first)));
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
  const a = axis === null ? ALL : normAxis(axis, shape);
  const outer = outerOf(shape, a), n = lengthOf(shape, a), inner = innerOf(shape, a);
  const s = g.data, o = res.data;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      o[(i * n + argmax[i * inner + j]) * inner + j] = s[i * inner + j];
    }
  }
  return res;
}
