/**
 * Exercise 2, by hand: cross-entropy's backward in one step. The lecture's insight: the gradient
 * of the mean negative log-likelihood with respect to the logits is the softmax, less one at each
 * row's target, over n.
 * @module
 */
import * as t from "../../ops/kernels/mod.ts";
import type { Ex2Rules } from "../ninja/lines.ts";

/** The hand-written backward pass of exercise 2: `ex2Rules.loss.logits`. */
export const ex2Rules: Ex2Rules = {
  // loss = F.cross_entropy(logits, Yb)
  loss: {
    // dlogits = F.softmax(logits, 1); dlogits[range(n), Yb] -= 1; dlogits /= n   (× dloss)
    logits: ({ dloss, probs, Yb, n }) =>
      t.mul(t.sub(probs, t.oneHot(Yb, probs.shape[1], undefined, probs)), t.div(dloss, n)),
  },
};
