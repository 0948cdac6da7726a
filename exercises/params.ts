/**
 * The lecture's parameter init for the exercise-1 net: every parameter drawn from a standard normal
 * and scaled, deliberately non-zero, so that a wrong backward pass cannot hide behind zeros.
 * @module
 */
import { type FloatDType, sizeOf, Tensor } from "../ops/kernels/tensor.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import {
  EX1_PARAMS,
  type Ex1ParamName,
  type Ex1Params,
  ex1ParamShapes,
  type Ex1Sizes,
} from "./model/ex1.ts";
import { createRngPlan, orderedNormalSource } from "./rng/recipe.ts";

/**
 * `n` standard normals per call. {@link initEx1Params} calls it once per parameter, in the
 * lecture's order (C, W1, b1, W2, b2, bngain, bnbias), so a torch-compatible generator plugs in.
 */
export type NormalSource = (n: number) => Float64Array;

/**
 * The default source: Box–Muller on npm `seedrandom` seeded with `seed` (the project's seedrandom
 * plan, whose same stream then draws the minibatches).
 */
export function seededNormal(seed: number): NormalSource {
  return orderedNormalSource(createRngPlan("seedrandom", { seed }));
}

/** (scale, shift) of each parameter: x · scale + shift, with x a standard normal. */
function scaling(s: Omit<Ex1Sizes, "batch">): Record<Ex1ParamName, [number, number]> {
  return {
    C: [1, 0],
    // tanh's gain 5/3 over √fan_in (Kaiming init), as the lecture
    W1: [(5 / 3) / Math.sqrt(s.nEmbd * s.blockSize), 0],
    b1: [0.1, 0],
    W2: [0.1, 0],
    b2: [0.1, 0],
    bngain: [0.1, 1],
    bnbias: [0.1, 0],
  };
}

/**
 * The lecture's parameters for `sizes`: C randn; W1 randn·(5/3)/√(n_embd·block_size); b1, W2, b2
 * randn·0.1; bngain randn·0.1 + 1; bnbias randn·0.1. Computed in double precision, then stored in
 * `dtype` (default float64; a graph converts them to its own dtype anyway).
 */
export function initEx1Params(
  sizes: Omit<Ex1Sizes, "batch">,
  normal: NormalSource,
  dtype: FloatDType = "float64",
): Ex1Params {
  const shapes = ex1ParamShapes(sizes);
  const scale = scaling(sizes);
  const params = {} as Ex1Params;
  for (const name of EX1_PARAMS) {
    const n = sizeOf(shapes[name]);
    const z = normal(n);
    if (z.length !== n) {
      throw new NinjagradError(`the normal source gave ${z.length} numbers for ${name}, not ${n}`);
    }
    const [k, shift] = scale[name];
    const out = Tensor.zeros(shapes[name], dtype);
    for (let i = 0; i < n; i++) out.data[i] = z[i] * k + shift;
    params[name] = out;
  }
  return params;
}
