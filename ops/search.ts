/**
 * Ops that find elements by value or read them by index: argmax and topk's indices (int32
 * outputs, no gradient: an index is a step function of x, flat almost everywhere, as in
 * PyTorch) and gather, whose rule scatter-adds g back to where each value came from. topk's
 * values are gather(x, axis, topk's indices), so they take a gradient.
 */
import { atomic } from "../graph/op.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape } from "./kernels/tensor.ts";
import { checkIntTensor } from "./kernels/indexing.ts";
import { normAxis, type ReduceAttrs, reducedShape } from "./kernels/reduce.ts";
import * as k from "./kernels/movement.ts";

/** torch.argmax(x, dim, keepdim): int32 indices; no gradient. */
export const argmax = atomic<"x", ReduceAttrs>({
  name: "argmax",
  inputs: ["x"],
  nondiff: ["x"],
  dtype: "int32",
  shape: ({ x }, attrs) => reducedShape(x, attrs),
  forward: ({ x }, out, { axis }) => void k.argmax(x, axis, out),
  vjp: {},
});

/** What topk is asked for: k, the axis, largest or smallest first. */
export interface TopkAttrs {
  /** How many elements. */
  k: number;
  /** The axis (non-negative). */
  axis: number;
  /** The largest (true) or the smallest first. */
  largest: boolean;
}

/** torch.topk(x, k, dim, largest).indices: int32, sorted from the largest; no gradient. */
export const topkIndices = atomic<"x", TopkAttrs>({
  name: "topk_indices",
  inputs: ["x"],
  nondiff: ["x"],
  dtype: "int32",
  shape: ({ x }, { k: count, axis }) => {
    const a = normAxis(axis, x);
    if (!(Number.isInteger(count) && count >= 0 && count <= x[a])) {
      throw new NinjagradError(
        `topk: k = ${count} does not fit axis ${axis} of ${formatShape(x)} (0..${x[a]})`,
      );
    }
    return x.map((d, i) => (i === a ? count : d));
  },
  forward: ({ x }, out, { k: count, axis, largest }) =>
    void k.topkIndices(x, count, normAxis(axis, x.shape), largest, out),
  vjp: {},
});

/** The index map a gather forward made, and the shapes it was made from. */
interface GatherSaved {
  from: Int32Array;
}

/**
 * torch.gather(x, axis, index): out[…, i, …] = x[…, index[…, i, …], …] along `axis`, index an
 * int32 tensor of x's rank whose other axes match x's; d/dx scatter-adds g to those places.
 */
export const gather = atomic<"x" | "index", { axis: number }, GatherSaved>({
  name: "gather",
  inputs: ["x", "index"],
  nondiff: ["index"],
  shape: ({ x, index }, { axis }) => {
    const a = normAxis(axis, x);
    const fits = index.length === x.length && index.every((d, i) => i === a || d === x[i]);
    if (!fits) {
      throw new NinjagradError(
        `gather along axis ${axis} needs an index of x's shape but for that axis, got x ${
          formatShape(x)
        } and index ${formatShape(index)}`,
      );
    }
    return index;
  },
  forward: ({ x, index }, out, { axis }) => {
    checkIntTensor(index.shape, "gather", index.dtype);
    const from = k.gatherMap(x.shape, normAxis(axis, x.shape), index);
    k.take(x, from, out);
    return { from };
  },
  vjp: { x: ({ g, inputs: { x }, saved }) => k.untake(g, saved.from, x.shape) },
});

/** torch.arange(x.size(axis)): 0, 1, …, n − 1 as int32, n read off x on every run; no gradient. */
export const arangeLike = atomic<"x", { axis: number }>({
  name: "arange",
  inputs: ["x"],
  nondiff: ["x"],
  dtype: "int32",
  shape: ({ x }, { axis }) => [x[normAxis(axis, x)]],
  forward: (_inputs, out) => {
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = i;
  },
  vjp: {},
});
