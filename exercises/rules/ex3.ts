/**
 * Exercise 3, by hand: batchnorm's backward in one step, from the mathematical expression of its
 * output (the mean and the variance are functions of every row, so each row's gradient has a
 * direct part, a part through the mean and a part through the variance).
 * @module
 */
import * as t from "../../ops/kernels/mod.ts";
import type { Ex3Rules } from "../ninja/lines.ts";

/** Sums over the batch, keeping the axis: `(1, n_hidden)`, which broadcasts over the rows. */
const OVER_BATCH = { axis: 0, keepdim: true };

/** The hand-written backward pass of exercise 3: `ex3Rules.hpreact.hprebn`. */
export const ex3Rules: Ex3Rules = {
  // hpreact = bngain * (hprebn - bnmeani) * bnvar_inv + bnbias
  hpreact: {
    // dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0)
    //                                 - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))
    hprebn: ({ dhpreact, bngain, bnvar_inv, bnraw, n }) => {
      const inner = t.sub(
        t.sub(t.mul(n, dhpreact), t.sum(dhpreact, OVER_BATCH)),
        t.mul(n / (n - 1), t.mul(bnraw, t.sum(t.mul(dhpreact, bnraw), OVER_BATCH))),
      );
      return t.mul(t.div(t.mul(bngain, bnvar_inv), n), inner);
    },
  },
};
