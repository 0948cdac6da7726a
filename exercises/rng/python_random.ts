import { MT19937, type MT19937State } from "./mt19937.ts";

/**
 * CPython's `random.Random`, for the integer seeds, `random()`, `getrandbits`, `randbelow` and
 * `shuffle` the lecture uses (`random.seed(42); random.shuffle(words)`), bit for bit.
 */
export class PythonRandom {
  #mt = new MT19937();

  /** Same as CPython's `random.seed(seed)` for an int (version 2 seeding). */
  constructor(seed: number | bigint) {
    this.seed(seed);
  }

  /**
   * CPython seeds with `init_by_array` of abs(seed) cut into 32-bit words, least significant
   * first (`[0]` for 0), so 42 and -42 give the same sequence.
   */
  seed(seed: number | bigint): void {
    if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
      throw new Error(`PythonRandom seed must be a safe integer or a bigint, got ${seed}.`);
    }
    let n = BigInt(seed);
    if (n < 0n) n = -n;
    const key: number[] = [];
    do {
      key.push(Number(n & 0xffffffffn));
      n >>= 32n;
    } while (n > 0n);
    this.#mt.seedByArray(key);
  }

  /** A float in [0, 1) with 53 random bits: CPython's `(a*2^26 + b) / 2^53`, a 27 bits, b 26. */
  random(): number {
    const a = this.#mt.nextU32() >>> 5;
    const b = this.#mt.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * CPython's `getrandbits(k)` for k up to 53: 32-bit words fill from the least significant end
   * and the last word keeps its top bits.
   */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 53) {
      throw new Error(`getrandbits supports 0..53 bits here, got ${k}.`);
    }
    if (k === 0) return 0;
    if (k <= 32) return this.#mt.nextU32() >>> (32 - k);
    const low = this.#mt.nextU32();
    const high = this.#mt.nextU32() >>> (64 - k);
    return high * 4294967296 + low;
  }

  /** CPython's `_randbelow_with_getrandbits(n)`: rejection sampling on bit_length(n) bits. */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new Error(`randbelow needs a positive safe integer, got ${n}.`);
    }
    const k = bitLength(n); // of n, not n-1, exactly as CPython (so powers of two waste draws)
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** CPython's `shuffle`, in place: for i from len-1 down to 1, swap x[i], x[randbelow(i+1)]. */
  shuffle<T>(arr: T[]): void {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
  }

  /** A copy of the engine state; CPython keeps nothing else (no cached gauss here). */
  getState(): MT19937State {
    return this.#mt.getState();
  }

  /** Restores a state taken with `getState`. */
  setState(state: MT19937State): void {
    this.#mt.setState(state);
  }
}

/** Number of bits needed to write n (n ≥ 1), like Python's `int.bit_length`. */
function bitLength(n: number): number {
  return n < 4294967296 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / 4294967296));
}
