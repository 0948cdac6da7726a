/**
 * Layout ops: they move elements, so each rule moves `g` back. concat and stack take any number
 * of inputs (`x0`, `x1`, …): one record per count, made when first asked for; slice, permute and
 * the N-D transpose take one.
 */
import { atomic, type AtomicOp } from "../graph/op.ts";
import type { Rule } from "../graph/op.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, type Shape } from "./kernels/tensor.ts";
import * as k from "./kernels/layout.ts";
import { sizeFrom, type SizeSpec } from "../graph/size.ts";

/** The axis along which concat joins, or at which stack inserts the new one. */
export interface JoinAttrs {
  /** The axis (negative counts from the end). */
  axis: number;
}

/** Where each input lies in the output, seen as (outer, total) rows: its first column and width. */
interface Join {
  outer: number;
  total: number;
  from: number[];
  width: number[];
}

/** The axis as a non-negative number below `rank`, or an error naming the op and the shape. */
function axisOf(op: string, axis: number, rank: number, shape: Shape): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new NinjagradError(
      `${op}: axis ${axis} is out of range for ${
        op === "stack" ? "stacking tensors of shape" : "shape"
      } ${formatShape(shape)}`,
    );
  }
  return a;
}

/** The layout of concat (stack = false) or stack of tensors of these shapes along `axis`. */
function join(shapes: readonly Shape[], axis: number, stack: boolean): Join {
  const first = shapes[0];
  const a = axisOf(stack ? "stack" : "concat", axis, first.length + (stack ? 1 : 0), first);
  const outer = k.rowsAt(first, a)[0];
  const width = shapes.map((s, i) => {
    const fits = stack
      ? s.length === first.length && s.every((d, j) => d === first[j])
      : s.length === first.length && s.every((d, j) => j === a || d === first[j]);
    if (!fits) {
      throw new NinjagradError(
        stack
          ? `stack needs tensors of one shape, got ${formatShape(first)} and ${
            formatShape(s)
          } (input ${i})`
          : `concat along axis ${a} needs the other axes equal, got ${formatShape(first)} and ${
            formatShape(s)
          } (input ${i})`,
      );
    }
    return k.rowsAt(s, a)[1];
  });
  const from: number[] = [];
  let total = 0;
  for (const w of width) from.push(total), total += w;
  return { outer, total, from, width };
}

function shapesOf(inputs: Readonly<Record<string, { shape: Shape }>>, count: number): Shape[] {
  return Array.from({ length: count }, (_, i) => inputs[`x${i}`].shape);
}

function joinShape(shapes: readonly Shape[], axis: number, stack: boolean): number[] {
  const first = shapes[0];
  const a = axisOf(stack ? "stack" : "concat", axis, first.length + (stack ? 1 : 0), first);
  join(shapes, axis, stack); // checks the shapes fit
  if (stack) return [...first.slice(0, a), shapes.length, ...first.slice(a)];
  return first.map((d, j) => (j === a ? shapes.reduce((s, x) => s + x[a], 0) : d));
}

const concatRecords = new Map<number, AtomicOp<string, JoinAttrs, Join>>();
const stackRecords = new Map<number, AtomicOp<string, JoinAttrs, Join>>();

/**
 * The record of concat (or stack) of `count` inputs: forward writes each input into its block
 * of columns and keeps where each lies; input i's rule takes its block of g back.
 */
function joinRecord(count: number, stack: boolean): AtomicOp<string, JoinAttrs, Join> {
  const records = stack ? stackRecords : concatRecords;
  const have = records.get(count);
  if (have) return have;
  const names = Array.from({ length: count }, (_, i) => `x${i}`);
  const vjp: Record<string, Rule<string, JoinAttrs, Join>> = {};
  names.forEach((name, i) => {
    // The layout the forward worked out (what it saved): once a step, not once per input.
    vjp[name] = ({ g, inputs, saved: { outer, total, from, width } }) =>
      k.takeColumns(g, outer, total, from[i], width[i], inputs[name].shape);
  });
  const record = atomic<string, JoinAttrs, Join>({
    name: stack ? "stack" : "concat",
    inputs: names,
    shape: (shapes, { axis }) => joinShape(names.map((name) => shapes[name]), axis, stack),
    forward: (inputs, out, { axis }) => {
      const layout = join(shapesOf(inputs, count), axis, stack);
      const { outer, total, from, width } = layout;
      names.forEach((name, i) => k.putColumns(inputs[name], out, outer, total, from[i], width[i]));
      return layout;
    },
    vjp,
  });
  records.set(count, record);
  return record;
}

/** concat of `count` inputs along an axis (torch.cat): the record for that many inputs. */
export function concat(count: number): AtomicOp<string, JoinAttrs, Join> {
  return joinRecord(count, false);
}

/** stack of `count` inputs along a new axis (torch.stack): the record for that many inputs. */
export function stack(count: number): AtomicOp<string, JoinAttrs, Join> {
  return joinRecord(count, true);
}

/** A slice along one axis, `x[..., start:end, ...]`, with Python's rules for the bounds. */
export interface SliceAttrs {
  /** The axis sliced (negative counts from the end). */
  axis: number;
  /** The first index kept (negative counts from the end). */
  start: number;
  /** One past the last index kept (negative counts from the end; default the axis's length). */
  end: number | null;
}

/** The slice as (outer, total) rows: which columns it keeps, and the output shape. */
function sliced(shape: Shape, { axis, start, end }: SliceAttrs) {
  const a = axisOf("slice", axis, shape.length, shape), n = shape[a];
  const clip = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const lo = clip(start), hi = clip(end ?? n);
  if (!(hi > lo)) {
    throw new NinjagradError(
      `slice [${start}:${end ?? ""}] of axis ${a} (length ${n}) of ${
        formatShape(shape)
      } is empty: keep at least one index`,
    );
  }
  const [outer, total] = k.rowsAt(shape, a), inner = total / n;
  const out = shape.map((d, j) => (j === a ? hi - lo : d));
  return { outer, total, from: lo * inner, width: (hi - lo) * inner, shape: out };
}

/** `x[..., start:end, ...]` along one axis; backward puts g back into zeros of x's shape. */
export const slice = atomic<"x", SliceAttrs>({
  name: "slice",
  inputs: ["x"],
  shape: ({ x }, attrs) => sliced(x, attrs).shape,
  forward: ({ x }, out, attrs) => {
    const s = sliced(x.shape, attrs);
    k.takeColumns(x, s.outer, s.total, s.from, s.width, out.shape, out);
  },
  vjp: {
    x: ({ g, inputs: { x }, attrs }) => {
      const s = sliced(x.shape, attrs);
      return k.placeColumns(g, x.shape, s.outer, s.total, s.from, s.width);
    },
  },
});

/** slice's attrs with live bounds: a `{ axis }` bound is read off the `like` input per run. */
export interface SliceSizedAttrs {
  /** The axis sliced (negative counts from the end). */
  axis: number;
  /** The first index kept: a number, or an axis of `like` whose size it is. */
  start: SizeSpec;
  /** One past the last index kept, the same way (null: the axis's length). */
  end: SizeSpec | null;
}

/** The bounds of a live slice when `like` has shape `like`. */
const boundsOf = (like: Shape, { axis, start, end }: SliceSizedAttrs): SliceAttrs => ({
  axis,
  start: sizeFrom(start, like),
  end: end === null ? null : sizeFrom(end, like),
});

/**
 * `x[..., start:end, ...]` with bounds read off `like` on every run (`mask[:T, :T]` with T =
 * x.size(1) follows T); `like` gives its shape only, no gradient.
 */
export const sliceSized = atomic<"x" | "like", SliceSizedAttrs>({
  name: "slice",
  inputs: ["x", "like"],
  nondiff: ["like"],
  shape: ({ x, like }, attrs) => sliced(x, boundsOf(like, attrs)).shape,
  forward: ({ x, like }, out, attrs) => {
    const s = sliced(x.shape, boundsOf(like.shape, attrs));
    k.takeColumns(x, s.outer, s.total, s.from, s.width, out.shape, out);
  },
  vjp: {
    x: ({ g, inputs: { x, like }, attrs }) => {
      const s = sliced(x.shape, boundsOf(like.shape, attrs));
      return k.placeColumns(g, x.shape, s.outer, s.total, s.from, s.width);
    },
  },
});

/** An order of the axes and the order that undoes it. */
export interface PermuteAttrs {
  /** Output axis i is input axis `axes[i]`. */
  axes: readonly number[];
  /** The permutation that undoes `axes` (for the rule). */
  inverse: readonly number[];
}

/** `x.permute(axes)`; backward permutes g back with the inverse order. */
export const permute = atomic<"x", PermuteAttrs>({
  name: "permute",
  inputs: ["x"],
  shape: ({ x }, { axes }) => k.permutation(axes, x.length).map((a) => x[a]),
  forward: ({ x }, out, { axes }) => void k.permute(x, axes, out),
  vjp: { x: ({ g, attrs: { inverse } }) => k.permute(g, inverse) },
});

/** `x.transpose(dim0, dim1)` for any rank: swaps two axes; swapping them again is its rule. */
export const transposeAxes = atomic<"x", PermuteAttrs>({
  name: "transpose",
  inputs: ["x"],
  shape: ({ x }, { axes }) => k.permutation(axes, x.length).map((a) => x[a]),
  forward: ({ x }, out, { axes }) => void k.permute(x, axes, out),
  vjp: { x: ({ g, attrs: { axes } }) => k.permute(g, axes) },
});
