/**
 * A seeded generator on npm `seedrandom` (ARC4). Training draws init and minibatches from its
 * RngPlan (exercises/rng/recipe.ts), whose seedrandom plan gives the same numbers as
 * `SeededRandom(seed)`'s `normal` then `randint`; sampling uses a `SeededRandom` of its own, so
 * drawing names never moves the training stream.
 */
import { seedrandom } from "../deps.ts";

/** seedrandom's ARC4 state: two indices and the 256-byte permutation. Plain JSON. */
export interface ArcState {
  i: number;
  j: number;
  S: number[];
}

/** What `seedrandom(seed, { state })` returns, typed (the package ships no types). */
interface StatefulPrng {
  (): number;
  state(): ArcState;
}
type Seedrandom = (seed: string, options: { state: boolean | ArcState }) => StatefulPrng;
const makePrng = seedrandom as unknown as Seedrandom;

/** A seeded generator whose state can be saved. */
export class SeededRandom {
  readonly #prng: StatefulPrng;

  /** A generator seeded with `String(seed)`, or resumed from a saved `state`. */
  constructor(seed: number | string, state?: ArcState) {
    this.#prng = makePrng(String(seed), { state: state ?? true });
  }

  /** A uniform float in [0, 1) with 52 random bits. */
  uniform(): number {
    return this.#prng();
  }

  /** An integer in [0, n). */
  randint(n: number): number {
    return Math.floor(this.#prng() * n);
  }

  /**
   * `n` standard normals by Box–Muller. Each pair of uniforms gives two normals; 1 − u keeps the
   * logarithm's argument away from zero.
   */
  normal(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - this.#prng()));
      const theta = 2 * Math.PI * this.#prng();
      out[i] = r * Math.cos(theta);
      if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
    }
    return out;
  }

  /** A copy of the generator's state (plain JSON). */
  state(): ArcState {
    return this.#prng.state();
  }
}
