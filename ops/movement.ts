/**
 * Ops that move or mask elements: expand, roll, tril, triu and masked_fill. Each reads its
 * input through an index map or a mask, so each rule sends `g` back the same way: expand sums
 * the copies (`untake`), roll moves g back, tril/triu and masked_fill zero what they replaced.
 */
import { atomic, type RuleArgs } from "../graph/op.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, sameShape, type Shape, type Tensor } from "./kernels/tensor.ts";
import { broadcastIndex } from "./kernels/select.ts";
import { broadcastsTo } from "./kernels/broadcast.ts";
import * as k from "./kernels/movement.ts";
import { sizesFrom, type SizeSpec } from "../graph/size.ts";

/** An index map and the shapes it was made for, kept by a forward for the next run and the rule. */
interface MapSaved {
  from: Int32Array;
  input: Shape;
  output: Shape;
}

/** `prev` when it was made for these shapes, else a new map from `make`. */
function mapFor(prev: MapSaved | undefined, input: Shape, output: Shape, make: () => Int32Array) {
  if (prev !== undefined && sameShape(prev.input, input) && sameShape(prev.output, output)) {
    return prev;
  }
  return { from: make(), input, output };
}

/** The shape torch's x.expand(*sizes) gives: −1 keeps an axis, a size-1 axis grows, new leading axes. */
export function expandedShape(x: Shape, sizes: readonly number[]): number[] {
  const lead = sizes.length - x.length;
  const out = sizes.map((s, i) => (i >= lead && s === -1 ? x[i - lead] : s));
  const fits = lead >= 0 && out.every((s) => Number.isInteger(s) && s >= 0) &&
    x.every((d, i) => d === out[i + lead] || d === 1);
  if (!fits) {
    throw new NinjagradError(
      `expand: ${formatShape(x)} cannot be expanded to (${
        sizes.join(", ")
      }): only axes of size 1 grow (−1 keeps one), and new axes go in front`,
    );
  }
  return out;
}

/** Copies x into `out`, broadcast, through an index map kept for the next run and the rule. */
function expandForward({ x }: { x: Tensor }, out: Tensor, _attrs: unknown, prev?: MapSaved) {
  const saved = mapFor(prev, x.shape, out.shape, () => broadcastIndex(x.shape, out.shape));
  k.take(x, saved.from, out);
  return saved;
}

/** expand's rule: g summed over the copies back into x's shape. */
const expandRule = ({ g, inputs: { x }, saved }: RuleArgs<"x", unknown, MapSaved>) =>
  k.untake(g, saved.from, x.shape);

/** x.expand(sizes): a broadcast copy; d/dx sums g over the copies (`sumTo`'s work). */
export const expand = atomic<"x", { sizes: readonly number[] }, MapSaved>({
  name: "expand",
  inputs: ["x"],
  shape: ({ x }, { sizes }) => expandedShape(x, sizes),
  forward: expandForward,
  vjp: { x: expandRule },
});

/**
 * x.expand(sizes) with live sizes (`expand(start, [idx.size(0), -1])`): those given as
 * `{ axis }` are read off `like` on every run; `like` gives its shape only, no gradient.
 */
export const expandSized = atomic<"x" | "like", { sizes: readonly SizeSpec[] }, MapSaved>({
  name: "expand",
  inputs: ["x", "like"],
  nondiff: ["like"],
  shape: ({ x, like }, { sizes }) => expandedShape(x, sizesFrom(sizes, like)),
  forward: expandForward,
  vjp: { x: expandRule },
});

/** roll's shifts and axes, as torch.roll's; no axes rolls the flattened tensor. */
export interface RollAttrs {
  /** How far each axis moves (toward higher indices), one per axis in `dims`. */
  shifts: readonly number[];
  /** The axes (non-negative; empty: the flattened tensor). */
  dims: readonly number[];
}

/** torch.roll: elements shifted along axes, wrapping around; d/dx rolls g back. */
export const roll = atomic<"x", RollAttrs, MapSaved>({
  name: "roll",
  inputs: ["x"],
  shape: ({ x }, { dims }) => {
    for (const d of dims) {
      if (!(d >= 0 && d < x.length)) {
        throw new NinjagradError(`roll: axis ${d} is out of range for ${formatShape(x)}`);
      }
    }
    return x;
  },
  forward: ({ x }, out, { shifts, dims }, prev) => {
    const saved = mapFor(prev, x.shape, out.shape, () => k.rollMap(x.shape, shifts, dims));
    k.take(x, saved.from, out);
    return saved;
  },
  vjp: { x: ({ g, inputs: { x }, saved }) => k.untake(g, saved.from, x.shape) },
});

/** The diagonal of tril and triu: 0 the main one, positive above it, negative below. */
export interface TriangleAttrs {
  /** The diagonal that bounds what is kept. */
  diagonal: number;
}

const atLeast2D = (what: string) => ({ x }: { x: Shape }) => {
  if (x.length < 2) {
    throw new NinjagradError(`${what} needs at least 2 axes, got ${formatShape(x)}`);
  }
  return x;
};

/** torch.tril: keeps column − row ≤ diagonal of the last two axes; d/dx is g kept the same way. */
export const tril = atomic<"x", TriangleAttrs>({
  name: "tril",
  inputs: ["x"],
  shape: atLeast2D("tril"),
  forward: ({ x }, out, { diagonal }) => void k.triangle(x, diagonal, true, out),
  vjp: { x: ({ g, attrs: { diagonal } }) => k.triangle(g, diagonal, true) },
});

/** torch.triu: keeps column − row ≥ diagonal of the last two axes; d/dx is g kept the same way. */
export const triu = atomic<"x", TriangleAttrs>({
  name: "triu",
  inputs: ["x"],
  shape: atLeast2D("triu"),
  forward: ({ x }, out, { diagonal }) => void k.triangle(x, diagonal, false, out),
  vjp: { x: ({ g, attrs: { diagonal } }) => k.triangle(g, diagonal, false) },
});

/**
 * x.masked_fill(mask, value): `value` where mask (broadcast to x) is nonzero, x elsewhere; the
 * mask takes no gradient, and d/dx is g where the mask is 0, 0 where value was written.
 */
export const maskedFill = atomic<"x" | "mask", { value: number }, MapSaved>({
  name: "masked_fill",
  inputs: ["x", "mask"],
  nondiff: ["mask"],
  shape: ({ x, mask }) => {
    if (!broadcastsTo(mask, x, x)) {
      throw new NinjagradError(
        `maskedFill: the mask ${formatShape(mask)} does not broadcast to x ${formatShape(x)}`,
      );
    }
    return x;
  },
  forward: ({ x, mask }, out, { value }, prev) => {
    const saved = mapFor(prev, mask.shape, x.shape, () => broadcastIndex(mask.shape, x.shape));
    k.maskedFill(x, mask, saved.from, value, out);
    return saved;
  },
  vjp: {
    x: ({ g, inputs: { mask }, saved }) => k.maskedFillBackward(g, mask, saved.from),
  },
});
