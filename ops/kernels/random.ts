/**
 * Seeded random numbers for the ops and layers that need them (dropout's masks, layers' initial
 * weights): mulberry32, a small 32-bit generator, and normal numbers drawn from it.
 */
import { NinjagradError } from "./errors.ts";
import type { TensorData } from "./tensor.ts";

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** The 32-bit state after one mulberry32 step; its output is `mix(state)`. */
function mix(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const GOLDEN = 0x6d2b79f5;

/** mulberry32 seeded with `seed`: the same seed gives the same numbers in [0, 1). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + GOLDEN) | 0;
    return mix(state);
  };
}

/** A standard normal number from two uniform ones (Box–Muller). */
export function normal(random: Random): number {
  const u = 1 - random(); // in (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * Fills `mask` with dropout's multipliers: 0 with probability p, else 1/(1 − p), so the kept
 * values keep their expectation. The `draw`-th mask of `seed` is always the same mask.
 */
export function dropoutMask(mask: TensorData, p: number, seed: number, draw: number): void {
  const scale = p < 1 ? 1 / (1 - p) : 0;
  // Each draw starts the generator afresh from (seed, draw), so masks never depend on shapes
  // or on how many masks were drawn before.
  let state = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(draw + 1, 0x85ebca77)) | 0;
  for (let i = 0; i < mask.length; i++) {
    state = (state + GOLDEN) | 0;
    mask[i] = mix(state) < p ? 0 : scale;
  }
}

/**
 * torch.multinomial on rows of weights (rows × c, nonnegative, not necessarily summing to 1):
 * `samples` class indices per row into `out` (int32, rows × samples), drawn from `random` by
 * inverting the cumulative sum; without replacement a drawn class is then left out.
 */
export function multinomial(
  weights: TensorData,
  rows: number,
  c: number,
  samples: number,
  replacement: boolean,
  random: Random,
  out: TensorData,
): void {
  const w = new Float64Array(c);
  for (let r = 0; r < rows; r++) {
    let total = 0, positive = 0;
    for (let j = 0; j < c; j++) {
      const v = weights[r * c + j];
      if (!(v >= 0 && v < Infinity)) {
        throw new NinjagradError(
          `multinomial: weight ${v} in row ${r} is not a finite nonnegative number`,
        );
      }
      w[j] = v, total += v;
      if (v > 0) positive++;
    }
    if (!(total > 0) || (!replacement && positive < samples)) {
      throw new NinjagradError(
        total > 0
          ? `multinomial: row ${r} has ${positive} nonzero weights, fewer than the ${samples} samples asked for without replacement: pass { replacement: true }`
          : `multinomial: row ${r} has no positive weight to draw from`,
      );
    }
    for (let s = 0; s < samples; s++) {
      let u = random() * total, pick = -1;
      for (let j = 0; j < c; j++) {
        if (w[j] > 0) pick = j; // the last positive class takes what rounding leaves over
        u -= w[j];
        if (u < 0 && w[j] > 0) break;
      }
      out[r * samples + s] = pick;
      if (!replacement) total -= w[pick], w[pick] = 0;
    }
  }
}
