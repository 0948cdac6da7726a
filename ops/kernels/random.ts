/**
 * Seeded random numbers for the ops and layers that need them (dropout's masks, layers' initial
 * weights): mulberry32, a small 32-bit generator, and normal numbers drawn from it.
 */
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
