/**
 * The 32-bit Mersenne Twister (Matsumoto & Nishimura, 1998), the engine under both PyTorch's CPU
 * generator and CPython's `random`. The two differ only in how they seed it: PyTorch calls
 * `init_genrand(seed)`, CPython calls `init_by_array(chunks of the seed)`.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** A snapshot of the engine: the 624 state words and the position of the next word to temper. */
export interface MT19937State {
  /** The 624 state words, each an unsigned 32-bit integer. */
  mt: number[];
  /** Index (0..624) of the next word to output; 624 means "twist before the next output". */
  index: number;
}

/** The 32-bit Mersenne Twister, output-compatible with the reference `mt19937ar.c`. */
export class MT19937 {
  #mt = new Uint32Array(N);
  #index = N;

  /** Seeds with `init_genrand(seed)`; 5489 is the reference (and C++ `std::mt19937`) default. */
  constructor(seed = 5489) {
    this.seed(seed);
  }

  /** Reference `init_genrand`: only the seed's low 32 bits matter, as in PyTorch. */
  seed(s: number): void {
    if (!Number.isSafeInteger(s)) {
      throw new Error(`MT19937 seed must be a safe integer, got ${s}; pass a whole number.`);
    }
    const mt = this.#mt;
    mt[0] = s >>> 0; // ToUint32 is exact modulo 2^32 for any safe integer, negatives included
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1];
      mt[i] = Math.imul(1812433253, prev ^ (prev >>> 30)) + i;
    }
    this.#index = N;
  }

  /** Reference `init_by_array`, the seeding CPython's `random.seed(int)` uses. */
  seedByArray(key: readonly number[]): void {
    if (key.length === 0) {
      throw new Error("MT19937 seedByArray needs a non-empty key; CPython passes [0] for seed 0.");
    }
    for (const k of key) {
      if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) {
        throw new Error(`MT19937 key words must be unsigned 32-bit integers, got ${k}.`);
      }
    }
    this.seed(19650218);
    const mt = this.#mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1];
      // The sum stays below 2^34, exact in a double; the Uint32Array store wraps it modulo 2^32.
      mt[i] = (mt[i] ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + key[j] + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1];
      mt[i] = ((mt[i] ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) >>> 0) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = UPPER_MASK; // guarantees a non-zero state
    this.#index = N;
  }

  /** The next output, an unsigned 32-bit integer. */
  nextU32(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#mt[this.#index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A copy of the state; `setState` of it resumes the sequence exactly. */
  getState(): MT19937State {
    return { mt: Array.from(this.#mt), index: this.#index };
  }

  /** Restores a state taken with `getState` (or parsed back from its JSON). */
  setState(state: MT19937State): void {
    const { mt, index } = state;
    if (!Array.isArray(mt) || mt.length !== N) {
      throw new Error(
        `MT19937 state needs ${N} words, got ${mt?.length}; pass a getState() value.`,
      );
    }
    if (!Number.isInteger(index) || index < 0 || index > N) {
      throw new Error(`MT19937 state index must be an integer in 0..${N}, got ${index}.`);
    }
    for (const w of mt) {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new Error(`MT19937 state words must be unsigned 32-bit integers, got ${w}.`);
      }
    }
    this.#mt.set(mt);
    this.#index = index;
  }

  /** Regenerates all 624 words at once (the reference `genrand_int32` refill). */
  #twist(): void {
    const mt = this.#mt;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M - N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.#index = 0;
  }
}
