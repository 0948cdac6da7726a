/**
 * torch.multinomial: class indices drawn from rows of weights (int32, no gradient). Randomness
 * comes from the node's own generator (a seed or a `Random` the caller passes), advanced by
 * every forward, so each run of the graph draws anew and the same seed repeats the same draws.
 */
import { atomic } from "../graph/op.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape } from "./kernels/tensor.ts";
import { multinomial as draw, type Random } from "./kernels/random.ts";

/** multinomial's attributes. */
export interface MultinomialAttrs {
  /** Samples per row. */
  samples: number;
  /** Whether a class may be drawn again in one row. */
  replacement: boolean;
  /** The generator the draws come from. */
  random: Random;
}

/** Samples (n,) from weights (c,) or (r, n) from (r, c); no gradient (weights are nondiff). */
export const multinomial = atomic<"probs", MultinomialAttrs>({
  name: "multinomial",
  inputs: ["probs"],
  nondiff: ["probs"],
  dtype: "int32",
  shape: ({ probs }, { samples }) => {
    if (probs.length !== 1 && probs.length !== 2) {
      throw new NinjagradError(
        `multinomial takes weights (c,) or (rows, c), got ${formatShape(probs)}`,
      );
    }
    if (!(Number.isInteger(samples) && samples >= 1)) {
      throw new NinjagradError(`multinomial's numSamples is a positive integer, got ${samples}`);
    }
    return probs.length === 1 ? [samples] : [probs[0], samples];
  },
  forward: ({ probs }, out, { samples, replacement, random }) => {
    const c = probs.shape[probs.shape.length - 1], rows = probs.size / Math.max(c, 1);
    draw(probs.data, rows, c, samples, replacement, random, out.data);
  },
  vjp: {},
});
