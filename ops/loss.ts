/**
 * Losses beside cross-entropy (nn.ts): the mean squared error, a composite op whose closed form
 * is the one line a learner derives, d/dpred mean((pred − target)²) = 2(pred − target)/N.
 */
import { composite } from "../graph/op.ts";
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
