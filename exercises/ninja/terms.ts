/**
 * The one-step formulas of exercises 2 and 3 as sums of the lecture's terms, so that a hint can
 * say which term a learner's formula misses or gets wrong (`hints.ts` fits the learner's result
 * to them). Keyed by `line.input`; exercise 4 has the same two lines.
 * @module
 */
import * as t from "../../ops/kernels/mod.ts";
import type { Tensor } from "../../ops/kernels/tensor.ts";
import type { Term } from "./hints.ts";

type Values = Readonly<Record<string, Tensor | number>>;

const OVER_BATCH = { axis: 0, keepdim: true };

/** The terms of a rule's reference result, which add up to it; by `line.input`. */
export const RULE_TERMS: Readonly<Record<string, (v: Values) => Term[]>> = {
  "loss.logits": (v) => {
    const probs = v.probs as Tensor, Yb = v.Yb as Tensor, n = v.n as number;
    const scale = t.div(v.dloss as Tensor, n);
    const onehot = t.oneHot(Yb, probs.shape[1], undefined, probs);
    return [
      { name: "the softmax part (softmax(logits)/n)", value: t.mul(probs, scale) },
      {
        name: "the −1 at each row's target (dlogits[range(n), Yb] -= 1)",
        value: t.mul(t.neg(onehot), scale),
      },
    ];
  },
  "hpreact.hprebn": (v) => {
    const g = v.dhpreact as Tensor, bnraw = v.bnraw as Tensor, n = v.n as number;
    const k = t.div(t.mul(v.bngain as Tensor, v.bnvar_inv as Tensor), n);
    return [
      { name: "the direct part (n*dhpreact)", value: t.mul(k, t.mul(n, g)) },
      {
        name: "the part through the mean (- dhpreact.sum(0))",
        value: t.expand(t.mul(k, t.neg(t.sum(g, OVER_BATCH))), g.shape, 0),
      },
      {
        name: "the part through the variance (- n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))",
        value: t.mul(
          k,
          t.neg(t.mul(n / (n - 1), t.mul(bnraw, t.sum(t.mul(g, bnraw), OVER_BATCH)))),
        ),
      },
    ];
  },
};
