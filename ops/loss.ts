/**
 * Losses beside the lecture's cross-entropy (nn.ts): the mean squared error, a composite op whose
 * closed form is the one line a learner derives, d/dpred mean((pred − target)²) =
 * 2(pred − target)/N; and cross-entropy over (…, C) logits with PyTorch's options, one kernel.
 */
import { atomic, composite } from "../graph/op.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { checkIntTensor } from "./kernels/indexing.ts";
import {
  crossEntropyRows,
  crossEntropyRowsBackward,
  type CrossEntropySaved,
} from "./kernels/loss.ts";
import { formatShape, sameShape } from "./kernels/tensor.ts";
import * as t from "./kernels/mod.ts";
import * as b from "./build.ts";

/** mean((pred − target)²) over every element (PyTorch's mse_loss, reduction "mean"). */
export const mseLoss = composite({
  name: "mse_loss",
  inputs: ["pred", "target"],
  build: ({ pred, target }) => {
    const diff = b.sub(pred, target).named("diff");
    return b.mean(b.pow(diff, 2).named("diff2")).named("loss");
  },
  closedForm: {
    // dpred = g · 2(pred − target)/N, N the number of (broadcast) elements; dtarget its negative
    pred: ({ g, inputs: { pred }, saved: { diff } }) =>
      t.sumTo(t.mul(diff, t.mul(g, 2 / diff.size)), pred.shape),
    target: ({ g, inputs: { target }, saved: { diff } }) =>
      t.sumTo(t.mul(diff, t.mul(g, -2 / diff.size)), target.shape),
  },
});

/** The options of cross-entropy over (…, C) logits, as PyTorch's. */
export interface CrossEntropyAttrs {
  /** A target value that marks a row to leave out (padding); PyTorch's default is −100. */
  ignoreIndex: number;
  /** ε: the target distribution is (1 − ε)·onehot + ε/C (0: none). */
  labelSmoothing: number;
}

/**
 * F.cross_entropy over logits (…, C), the classes on the last axis, and int32 targets (…):
 * the mean over the targets that are not `ignoreIndex` of −log softmax(logits)[target], with
 * label smoothing ε; d/dlogits = g·(softmax − (1 − ε)·onehot − ε/C)/count in counted rows, 0 in
 * ignored ones. One kernel rather than a subgraph: makemore's (B, T, C) batches are its use.
 */
export const crossEntropyAny = atomic<"logits" | "targets", CrossEntropyAttrs, CrossEntropySaved>({
  name: "cross_entropy_nd",
  inputs: ["logits", "targets"],
  nondiff: ["targets"],
  shape: ({ logits, targets }) => {
    const lead = logits.slice(0, -1);
    if (logits.length < 1 || !sameShape(lead, targets)) {
      throw new NinjagradError(
        `crossEntropy needs logits (…, C) and targets shaped as the logits without their last axis, got ${
          formatShape(logits)
        } and ${formatShape(targets)}: for (B, T, C) logits the targets are (B, T)`,
      );
    }
    return [];
  },
  forward: ({ logits, targets }, out, { ignoreIndex, labelSmoothing }, prev) => {
    checkIntTensor(targets.shape, "crossEntropy's targets", targets.dtype);
    return crossEntropyRows(logits, targets, ignoreIndex, labelSmoothing, out, prev);
  },
  vjp: {
    logits: ({ g, inputs: { targets }, attrs: { ignoreIndex, labelSmoothing }, saved }) =>
      crossEntropyRowsBackward(g, targets, ignoreIndex, labelSmoothing, saved),
  },
});
