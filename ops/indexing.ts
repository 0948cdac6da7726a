/** Indexing by integer tensors: embedding lookup, pick, one-hot. Indices get no gradient. */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape } from "./kernels/tensor.ts";
import { checkTargets } from "./kernels/loss.ts";

/** `table[idx]` (the lecture's `C[Xb]`); backward scatter-adds rows, so repeated indices add up. */
export const embedding = atomic({
  name: "embedding",
  inputs: ["table", "idx"],
  nondiff: ["idx"],
  shape: ({ table, idx }) => {
    if (table.length !== 2) {
      throw new NinjagradError(`embedding table must be 2-D, got ${formatShape(table)}`);
    }
    return [...idx, table[1]];
  },
  forward: ({ table, idx }, out) => {
    t.checkIntTensor(idx.shape, "embedding", idx.dtype);
    t.checkIndices(idx, table.shape[0], "embedding");
    t.gatherRows(table, idx, out);
  },
  vjp: { table: ({ g, inputs: { table, idx } }) => t.scatterAddRows(g, idx, table.shape) },
});

/**
 * `x[range(n), idx]`: the entry of each row at its index (the lecture's `logprobs[range(n), Yb]`).
 * Inside crossEntropy (`targets: true`), an index out of range is reported as a target.
 */
export const pick = atomic<"x" | "idx", { targets?: boolean }>({
  name: "pick",
  inputs: ["x", "idx"],
  nondiff: ["idx"],
  shape: ({ x, idx }) => {
    if (x.length !== 2 || idx.length !== 1 || idx[0] !== x[0]) {
      throw new NinjagradError(
        `pick needs x (n, c) and idx (n,), got ${formatShape(x)} and ${formatShape(idx)}`,
      );
    }
    return [x[0]];
  },
  forward: ({ x, idx }, out, { targets }) => {
    t.checkIntTensor(idx.shape, "pick", idx.dtype);
    if (targets) checkTargets(idx, x.shape[1]);
    else t.checkIndices(idx, x.shape[1], "pick");
    t.pick(x, idx, out);
  },
  vjp: { x: ({ g, inputs: { x, idx } }) => t.unpick(g, idx, x.shape) },
});

/** One-hot rows of `classes` entries. Not differentiable. */
export const oneHot = atomic<"idx", { classes: number }>({
  name: "one_hot",
  inputs: ["idx"],
  nondiff: ["idx"],
  shape: ({ idx }, { classes }) => [...idx, classes],
  forward: ({ idx }, out, { classes }) => {
    t.checkIntTensor(idx.shape, "one_hot", idx.dtype);
    t.checkIndices(idx, classes, "one_hot");
    t.oneHot(idx, classes, out);
  },
  vjp: {},
});
