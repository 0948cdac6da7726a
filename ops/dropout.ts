/**
 * Dropout: in training, each element is zeroed with probability p and the others scaled by
 * 1/(1 − p); in evaluation it is the identity. The mask is a leaf-like source of randomness: the
 * forward draws it from the node's seed, keeps it in `saved`, and the rule multiplies `g` by the
 * same mask. A new mask is drawn only when `draws.count` moves on (see `dropout` in build.ts:
 * after each backward pass that notifies observers), so finite differences see one mask.
 */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import { dropoutMask } from "./kernels/random.ts";
import { sameShape, Tensor } from "./kernels/tensor.ts";

/** Dropout's attributes. */
export interface DropoutAttrs {
  /** The probability of zeroing an element. */
  p: number;
  /** Training (drop) or evaluation (identity). */
  training: boolean;
  /** Seeds the masks: the same seed draws the same masks in the same order. */
  seed: number;
  /** Which mask of the seed to use now; moving it on draws a new one at the next forward. */
  draws: { count: number };
}

/** The mask in use (0 or 1/(1 − p) per element) and which draw it is. */
export interface DropoutSaved {
  /** The multipliers, shaped like x. */
  mask: Tensor;
  /** The draw the mask came from. */
  draw: number;
}

/** dropout(x, p, training); d/dx = the mask the forward used (1 in evaluation). */
export const dropout = atomic<"x", DropoutAttrs, DropoutSaved | undefined>({
  name: "dropout",
  inputs: ["x"],
  shape: ({ x }) => x,
  forward: ({ x }, out, { p, training, seed, draws }, prev) => {
    if (!training) return void t.copy(x, out);
    let saved = prev;
    if (
      saved === undefined || saved.mask.dtype !== x.dtype || !sameShape(saved.mask.shape, x.shape)
    ) {
      saved = { mask: Tensor.owned(x.shape, x.dtype), draw: -1 };
    }
    if (saved.draw !== draws.count) {
      dropoutMask(saved.mask.data, p, seed, draws.count);
      saved.draw = draws.count;
    }
    t.mul(x, saved.mask, out);
    return saved;
  },
  vjp: { x: ({ g, attrs: { training }, saved }) => (training ? t.mul(g, saved!.mask) : g) },
});
