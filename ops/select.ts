/**
 * Ops that choose between values: clamp, maximum, minimum and where. The gradient goes to the
 * value that was chosen (half each at a tie of maximum or minimum, as PyTorch), and a broadcast
 * input's share is summed back to its shape with `sumTo`, as in arithmetic.ts.
 */
import { atomic } from "../graph/op.ts";
import { sumTo } from "./kernels/broadcast.ts";
import { broadcastShape } from "./kernels/broadcast.ts";
import * as k from "./kernels/select.ts";

/** The bounds of clamp; null is no bound on that side. */
export interface ClampAttrs {
  /** The lower bound, or null. */
  min: number | null;
  /** The upper bound, or null. */
  max: number | null;
}

/** min(max(x, min), max); d/dx = 1 where min ≤ x ≤ max (bounds included), else 0. */
export const clamp = atomic<"x", ClampAttrs>({
  name: "clamp",
  inputs: ["x"],
  shape: ({ x }) => x,
  forward: ({ x }, out, { min, max }) => void k.clamp(x, min, max, out),
  vjp: { x: ({ g, inputs: { x }, attrs: { min, max } }) => k.clampBackward(g, x, min, max) },
});

const both = ({ a, b }: { a: readonly number[]; b: readonly number[] }) => broadcastShape(a, b);

/** The elementwise larger of a and b; the gradient goes to the larger, half each at a tie. */
export const maximum = atomic({
  name: "maximum",
  inputs: ["a", "b"],
  shape: both,
  forward: ({ a, b }, out) => void k.maximum(a, b, out),
  vjp: {
    a: ({ g, inputs: { a, b } }) => sumTo(k.extremeShare(g, a, b, false), a.shape),
    b: ({ g, inputs: { a, b } }) => sumTo(k.extremeShare(g, b, a, false), b.shape),
  },
});

/** The elementwise smaller of a and b; the gradient goes to the smaller, half each at a tie. */
export const minimum = atomic({
  name: "minimum",
  inputs: ["a", "b"],
  shape: both,
  forward: ({ a, b }, out) => void k.minimum(a, b, out),
  vjp: {
    a: ({ g, inputs: { a, b } }) => sumTo(k.extremeShare(g, a, b, true), a.shape),
    b: ({ g, inputs: { a, b } }) => sumTo(k.extremeShare(g, b, a, true), b.shape),
  },
});

/**
 * cond ? a : b elementwise, cond a tensor of 0s and 1s (any nonzero value counts as 1) that
 * takes no gradient; a receives g where cond holds, b where it does not.
 */
export const where = atomic({
  name: "where",
  inputs: ["cond", "a", "b"],
  nondiff: ["cond"],
  shape: ({ cond, a, b }) => broadcastShape(broadcastShape(cond, a), b),
  forward: ({ cond, a, b }, out) => void k.where(cond, a, b, out),
  vjp: {
    a: ({ g, inputs: { cond, a } }) => sumTo(k.whereShare(g, cond, true), a.shape),
    b: ({ g, inputs: { cond, b } }) => sumTo(k.whereShare(g, cond, false), b.shape),
  },
});
