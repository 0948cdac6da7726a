/**
 * The lecture's random recipe, and the random "plans" the `train` and `exercise` commands choose
 * between with `--rng seedrandom|torch`.
 *
 * The lecture draws, in this order:
 * 1. `random.seed(42); random.shuffle(words)` (CPython) — then the 80/10/10 split;
 * 2. `g = torch.Generator().manual_seed(2147483647)`, then `torch.randn` of C (vocab, embd),
 *    W1 (block·embd, hidden), b1 (hidden), W2 (hidden, vocab), b2 (vocab) from `g`;
 * 3. bngain and bnbias, each `torch.randn((1, hidden))`, from torch's *default* generator (seeded
 *    here with `torch.manual_seed(42)`, since the notebook left it unseeded);
 * 4. every minibatch: `torch.randint(0, ntrain, (batch,), generator=g)`, continuing `g` after b2.
 *
 * A {@link RngPlan} puts those streams (shuffle, main, bn) behind one interface, so that code which
 * initialises parameters and draws minibatches does not care whether the numbers are the
 * lecture's (`"torch"`) or the project's default seeded generator (`"seedrandom"`).
 * @module
 */
import { seedrandom } from "../deps.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import type { FloatDType, Shape } from "../../ops/kernels/tensor.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import type { MT19937State } from "./mt19937.ts";
import { PythonRandom } from "./python_random.ts";
import { torchDefaultGenerator, TorchGenerator, type TorchGeneratorState } from "./torch.ts";

/** The seeds of the streams. */
export interface RngSeeds {
  /** Seeds the word shuffle (`random.seed(shuffleSeed)` in the lecture). */
  shuffleSeed: number;
  /** Seeds the main stream: C, W1, b1, W2, b2, then every minibatch (`manual_seed(seed)`). */
  seed: number;
  /** Seeds the bngain/bnbias stream (`torch.manual_seed(defaultSeed)`); torch plan only. */
  defaultSeed: number;
}

/** The lecture's seeds: shuffle 42, generator 2147483647, default generator 42. */
export const LECTURE_SEEDS: Readonly<RngSeeds> = Object.freeze({
  shuffleSeed: 42,
  seed: 2147483647,
  defaultSeed: 42,
});

/** The names `--rng` accepts. */
export const RNG_KINDS = ["seedrandom", "torch"] as const;
/** `"seedrandom"` (the default) or `"torch"` (the lecture's numbers). */
export type RngKind = typeof RNG_KINDS[number];

/** seedrandom's ARC4 state (what `prng.state()` returns). */
export interface Arc4State {
  i: number;
  j: number;
  S: number[];
}

/** A plan's whole state, plain JSON: resume a run exactly with `setState`. */
export type RngPlanState =
  | { kind: "torch"; shuffle: MT19937State; main: TorchGeneratorState; bn: TorchGeneratorState }
  | { kind: "seedrandom"; shuffle: MT19937State; main: Arc4State };

/**
 * Every random number a training run or an exercise needs.
 *
 * Call order matters, as in the lecture: draw `normal` for C, W1, b1, W2, b2 (in that order),
 * `bnNormal` for bngain then bnbias, then `batchIndices` once per step. `normal` and
 * `batchIndices` share the main stream (the torch plan's minibatches continue the generator that
 * made the weights); `shuffle` has its own stream, and so does `bnNormal` in the torch plan.
 *
 * The arrays are *standard* normals: scaling (W1 · (5/3)/√(block·embd), b1 · 0.1, …) is the
 * caller's job (see {@link lectureParams}). Use {@link normalSource} to get the
 * `(name, shape, dtype)` function a parameter initialiser can call for every parameter.
 */
export interface RngPlan {
  /** Which implementation this is. */
  readonly kind: RngKind;
  /** The seeds it was created with. */
  readonly seeds: Readonly<RngSeeds>;
  /** Shuffles `items` in place: CPython's `random.shuffle` after `random.seed(shuffleSeed)`. */
  shuffle<T>(items: T[]): void;
  /**
   * Standard normals of `shape` from the main stream, row-major. The torch plan always draws
   * float32 normals (what `torch.randn` gives the lecture) and widens them for `"float64"`, so a
   * float64 graph starts from the same numbers as the float32 one.
   */
  normal(shape: Shape, dtype: FloatDType): Float32Array | Float64Array;
  /**
   * Standard normals for bngain and bnbias; same conventions as `normal`. The torch plan draws
   * them from its own generator (torch's default one); the seedrandom plan from the main stream.
   */
  bnNormal(shape: Shape, dtype: FloatDType): Float32Array | Float64Array;
  /**
   * `n` integers uniform in [0, high) from the main stream (`torch.randint(0, high, (n,))`),
   * written into `out` when given (at least n long: no allocation per step), else a new array.
   */
  batchIndices(n: number, high: number, out?: Int32Array): Int32Array;
  /** A copy of every stream's state, plain JSON. */
  getState(): RngPlanState;
  /** Restores a `getState` value of a plan of the same kind. */
  setState(state: RngPlanState): void;
}

/** Creates the plan `--rng kind` names, with the lecture's seeds unless told otherwise. */
export function createRngPlan(kind: RngKind, seeds: Partial<RngSeeds> = {}): RngPlan {
  const all = { ...LECTURE_SEEDS, ...seeds };
  for (const [name, v] of Object.entries(all)) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new NinjagradError(`the ${name} must be a non-negative whole number, got ${v}`);
    }
  }
  if (kind === "torch") return new TorchRecipePlan(all);
  if (kind === "seedrandom") return new SeedrandomPlan(all);
  throw new NinjagradError(`unknown rng "${kind}": use one of ${RNG_KINDS.join(", ")}`);
}

/** The lecture's generators: CPython `random` for the shuffle, two torch CPU generators. */
export class TorchRecipePlan implements RngPlan {
  readonly kind = "torch";
  readonly seeds: Readonly<RngSeeds>;
  #shuffle: PythonRandom;
  #main: TorchGenerator;
  #bn: TorchGenerator;

  /** `random.seed(shuffleSeed)`, `Generator().manual_seed(seed)`, `manual_seed(defaultSeed)`. */
  constructor(seeds: RngSeeds = LECTURE_SEEDS) {
    this.seeds = Object.freeze({ ...seeds });
    this.#shuffle = new PythonRandom(seeds.shuffleSeed);
    this.#main = new TorchGenerator(seeds.seed);
    this.#bn = torchDefaultGenerator(seeds.defaultSeed);
  }

  shuffle<T>(items: T[]): void {
    this.#shuffle.shuffle(items);
  }

  normal(shape: Shape, dtype: FloatDType): Float32Array | Float64Array {
    return widen(this.#main.randn(shape, "float32"), dtype);
  }

  bnNormal(shape: Shape, dtype: FloatDType): Float32Array | Float64Array {
    return widen(this.#bn.randn(shape, "float32"), dtype);
  }

  batchIndices(n: number, high: number, out?: Int32Array): Int32Array {
    checkIndexRange(n, high, out);
    return this.#main.randint(0, high, n, out);
  }

  getState(): RngPlanState {
    return {
      kind: "torch",
      shuffle: this.#shuffle.getState(),
      main: this.#main.getState(),
      bn: this.#bn.getState(),
    };
  }

  setState(state: RngPlanState): void {
    if (state?.kind !== "torch") throw stateKindError("torch", state);
    // Restore into fresh generators, so a bad state leaves this plan as it was.
    const shuffle = new PythonRandom(0);
    const main = new TorchGenerator(0);
    const bn = new TorchGenerator(0);
    restoring(() => {
      shuffle.setState(state.shuffle);
      main.setState(state.main);
      bn.setState(state.bn);
    });
    [this.#shuffle, this.#main, this.#bn] = [shuffle, main, bn];
  }
}

/** A seedrandom prng with its state exposed (the npm package ships no types). */
interface Arc4Prng {
  (): number;
  state(): Arc4State;
}

/**
 * The project's default, on the `seedrandom` package (ARC4). One stream seeded with
 * `String(seed)` serves `normal`, `bnNormal` and `batchIndices` in call order, with the same
 * Box–Muller and `floor(u · high)` as `exercises/train/random.ts`'s `SeededRandom(seed)`, so a run
 * moved onto this plan keeps its numbers; `defaultSeed` is not used. The shuffle is the lecture's
 * (CPython's `random.seed(shuffleSeed)`, as the training data already uses), so both plans split
 * the words alike. Normals come in pairs from two 52-bit uniforms; an odd count drops the last
 * sine, so the main stream's state is only the ARC4 state.
 */
export class SeedrandomPlan implements RngPlan {
  readonly kind = "seedrandom";
  readonly seeds: Readonly<RngSeeds>;
  #shuffle: PythonRandom;
  #main: Arc4Prng;

  /** `random.seed(seeds.shuffleSeed)` for the shuffle, ARC4 seeded `String(seeds.seed)`. */
  constructor(seeds: RngSeeds = LECTURE_SEEDS) {
    this.seeds = Object.freeze({ ...seeds });
    this.#shuffle = new PythonRandom(seeds.shuffleSeed);
    this.#main = arc4(String(seeds.seed));
  }

  shuffle<T>(items: T[]): void {
    this.#shuffle.shuffle(items);
  }

  normal(shape: Shape, dtype: FloatDType): Float32Array | Float64Array {
    return boxMuller(this.#main, shape, dtype);
  }

  bnNormal(shape: Shape, dtype: FloatDType): Float32Array | Float64Array {
    return boxMuller(this.#main, shape, dtype);
  }

  batchIndices(n: number, high: number, out?: Int32Array): Int32Array {
    checkIndexRange(n, high, out);
    const into = out ?? new Int32Array(n);
    for (let i = 0; i < n; i++) into[i] = Math.floor(this.#main() * high);
    return into;
  }

  getState(): RngPlanState {
    return { kind: "seedrandom", shuffle: this.#shuffle.getState(), main: this.#main.state() };
  }

  setState(state: RngPlanState): void {
    if (state?.kind !== "seedrandom") throw stateKindError("seedrandom", state);
    const shuffle = new PythonRandom(0);
    restoring(() => shuffle.setState(state.shuffle));
    this.#main = restoreArc4(state.main);
    this.#shuffle = shuffle;
  }
}

/** A parameter's name in the lecture's model. */
export type ParamName = "C" | "W1" | "b1" | "W2" | "b2" | "bngain" | "bnbias";

/** The lecture's parameter order, the order `normal` must be called in. */
export const PARAM_ORDER: readonly ParamName[] = ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"];

/**
 * A normal source for a parameter initialiser: `bngain` and `bnbias` come from the plan's bn
 * stream, every other name from the main stream. Call it in {@link PARAM_ORDER}.
 */
export function normalSource(
  plan: RngPlan,
): (name: string, shape: Shape, dtype: FloatDType) => Float32Array | Float64Array {
  return (name, shape, dtype) =>
    name === "bngain" || name === "bnbias"
      ? plan.bnNormal(shape, dtype)
      : plan.normal(shape, dtype);
}

/**
 * A normal source for an initialiser that asks for `n` standard normals at a time, in
 * {@link PARAM_ORDER}, without naming the parameter (the `(n) => Float64Array` of
 * `initEx4Weights`): its 6th and 7th calls (bngain, bnbias) go to `bnNormal`, every other call to
 * `normal`. Use a fresh source for each initialisation.
 */
export function orderedNormalSource(plan: RngPlan): (n: number) => Float64Array {
  let call = 0;
  return (n) => {
    const name = PARAM_ORDER[call++] ?? "";
    const x = normalSource(plan)(name, [n], "float64");
    return x instanceof Float64Array ? x : Float64Array.from(x);
  };
}

/** The model sizes the recipe needs. */
export interface RecipeSizes {
  /** Symbols in the vocabulary (27). */
  vocabSize: number;
  /** Embedding width (10). */
  nEmbd: number;
  /** Context length (3). */
  blockSize: number;
  /** Hidden units (64; 200 in exercise 4). */
  nHidden: number;
}

/** The lecture's parameters, float32, by name. */
export type LectureParams = Record<ParamName, Tensor>;

/**
 * The lecture's seven parameters from `plan`, scaled as the notebook does and rounded as PyTorch
 * rounds float32 `tensor * python_float`: the scalar becomes a float32 and every operation rounds
 * (so W1 is `(x · f(5/3)) / f(√(block·embd))`, bngain `x · f(0.1) + 1`).
 */
export function lectureParams(plan: RngPlan, sizes: RecipeSizes): LectureParams {
  const { vocabSize: v, nEmbd: e, blockSize: b, nHidden: h } = sizes;
  for (const [name, n] of Object.entries(sizes)) {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new NinjagradError(`${name} must be a positive whole number, got ${n}`);
    }
  }
  const f = Math.fround;
  const draw = (shape: number[], scale: (x: number) => number, bn = false) => {
    const x = bn ? plan.bnNormal(shape, "float32") : plan.normal(shape, "float32");
    return new Tensor(Float32Array.from(x, scale), shape);
  };
  const tenth = f(0.1);
  const gain = f(5 / 3);
  const fanIn = f(Math.sqrt(b * e));
  return {
    C: draw([v, e], (x) => x),
    W1: draw([b * e, h], (x) => f(f(x * gain) / fanIn)),
    b1: draw([h], (x) => f(x * tenth)),
    W2: draw([h, v], (x) => f(x * tenth)),
    b2: draw([v], (x) => f(x * tenth)),
    bngain: draw([1, h], (x) => f(f(x * tenth) + 1), true),
    bnbias: draw([1, h], (x) => f(x * tenth), true),
  };
}

/** `random.seed(shuffleSeed); random.shuffle(words)` on a copy; the input is untouched. */
export function lectureShuffle(words: readonly string[], shuffleSeed: number): string[] {
  const copy = words.slice();
  new PythonRandom(shuffleSeed).shuffle(copy);
  return copy;
}

function widen(x: Float32Array, dtype: FloatDType): Float32Array | Float64Array {
  return dtype === "float64" ? Float64Array.from(x) : x;
}

function arc4(seed: string): Arc4Prng {
  return seedrandom(seed, { state: true }) as Arc4Prng;
}

function restoreArc4(state: Arc4State): Arc4Prng {
  const byte = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < 256;
  const ok = state !== null && typeof state === "object" && byte(state.i) && byte(state.j) &&
    Array.isArray(state.S) && state.S.length === 256 && state.S.every(byte);
  if (!ok) {
    throw new NinjagradError(
      "the saved rng state is damaged (seedrandom needs {i, j, S[256]} of bytes): " +
        "resume from another checkpoint or start afresh",
    );
  }
  return seedrandom("", { state: { i: state.i, j: state.j, S: state.S.slice() } }) as Arc4Prng;
}

function boxMuller(
  u: () => number,
  shape: Shape,
  dtype: FloatDType,
): Float32Array | Float64Array {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new NinjagradError(`normal shape entries must be whole numbers ≥ 0, got [${shape}]`);
    }
    n *= d;
  }
  const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())); // 1 − u > 0, so the log is finite
    const theta = 2 * Math.PI * u();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

function checkIndexRange(n: number, high: number, out: Int32Array | undefined): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new NinjagradError(`batch size must be a whole number ≥ 0, got ${n}`);
  }
  if (out !== undefined && out.length < n) {
    throw new NinjagradError(`an index buffer of ${out.length} cannot hold a batch of ${n}`);
  }
  if (!Number.isSafeInteger(high) || high < 1 || high > 2 ** 31) {
    throw new NinjagradError(`cannot draw indices below ${high}: the split has no examples`);
  }
}

/** Runs a restore, turning the generators' own errors into one-line NinjagradErrors. */
function restoring(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new NinjagradError(
      `the saved rng state is damaged (${why}): resume from another checkpoint or start afresh`,
    );
  }
}

function stateKindError(want: RngKind, state: unknown): NinjagradError {
  const got = (state as { kind?: unknown } | null)?.kind;
  return new NinjagradError(
    `this is a ${want} rng plan but the saved state is ${
      typeof got === "string" ? `"${got}"` : "not a plan state"
    }: resume with the same --rng`,
  );
}
