/** The settings of a training run, their lecture defaults, and the learning-rate schedule. */
import { NinjagradError } from "../../ops/kernels/errors.ts";
import type { FloatDType } from "../../ops/kernels/tensor.ts";
import { RNG_KINDS, type RngKind } from "../rng/recipe.ts";

/** How gradients are computed: the lecture's hand-written rules, or the engine's own. */
export type BackwardMode = "manual" | "auto";

/** Everything that shapes a run. */
export interface TrainConfig {
  /** Optimisation steps (200,000 in the lecture). */
  steps: number;
  /** Minibatch size (32). At least 2: BatchNorm's unbiased variance divides by n − 1. */
  batch: number;
  /** Hidden units (200). */
  hidden: number;
  /** Embedding width (10). */
  embd: number;
  /** Context length (3). */
  block: number;
  /** Learning rate before `decayAt`; from there on a tenth of it (0.1 → 0.01). */
  lr: number;
  /**
   * The step (0-based) from which the learning rate is `lr / 10`; absent: half of `steps`, as the
   * lecture's 100,000 of 200,000. A run that is to be extended with `--resume` fixes it, since a
   * shorter first run would otherwise drop the rate at half of its own length.
   */
  decayAt?: number;
  /** Seeds parameter init and minibatches (one stream, in that order); sampling uses seed + 10. */
  seed: number;
  /**
   * Whose random numbers: `seedrandom` (the default), or `torch`, the lecture's own generators
   * (torch's randn and randint; bngain and bnbias from its default generator seeded 42).
   */
  rng: RngKind;
  /** Float dtype of the training graph. */
  dtype: FloatDType;
  /** `manual`: hand-written rules on every node; `auto`: the engine's automatic rules. */
  backward: BackwardMode;
  /** Evaluate every this many steps (0: only at the end). */
  evalEvery: number;
  /** Training examples (a fixed, evenly spread subset) behind each periodic evaluation. */
  evalExamples: number;
  /** Milliseconds of steps run back to back before yielding to the event loop. */
  chunkMs: number;
  /**
   * Stop at the first node whose forward value or gradient is NaN or ±Inf, naming it (the
   * graph's `detectAnomaly`). A debugging switch: it slows steps down and is not saved.
   */
  detectAnomaly?: boolean;
}

/** The lecture's exercise-4 run. */
export const DEFAULT_CONFIG: Readonly<TrainConfig> = {
  steps: 200_000,
  batch: 32,
  hidden: 200,
  embd: 10,
  block: 3,
  lr: 0.1,
  seed: 2147483647,
  rng: "seedrandom",
  dtype: "float32",
  backward: "manual",
  evalEvery: 10_000,
  evalExamples: 10_000,
  chunkMs: 50,
};

/**
 * The most steps a run may ask for: a billion steps take more than a day at this engine's
 * 0.1 ms a step; more is a typo (`--steps 1e12`), not a plan.
 */
export const MAX_STEPS = 1_000_000_000;

/** The largest learning rate a run accepts: past it every step overflows (weights ~0.1, grads ~1). */
export const MAX_LR = 1000;

/**
 * The longest chunk of steps run back to back: signals (Ctrl-C) are handled between chunks, so a
 * longer one would keep a run from stopping.
 */
export const MAX_CHUNK_MS = 1000;

/** The largest size (hidden, embd, block, evaluation examples): the kernels' 32-bit offsets. */
const MAX_SIZE = 2 ** 31 - 1;

/** The step from which the learning rate is a tenth: `decayAt`, or half of `steps`. */
export function decayStep(config: Pick<TrainConfig, "steps" | "decayAt">): number {
  return config.decayAt ?? Math.floor(config.steps / 2);
}

/** The learning rate of step `i` (0-based): `lr` before `decayStep`, `lr / 10` from there on. */
export function learningRate(
  config: Pick<TrainConfig, "lr" | "steps" | "decayAt">,
  i: number,
): number {
  return i < decayStep(config) ? config.lr : config.lr / 10;
}

/** Throws a one-line error for settings a run cannot work with (the CLI checks flags first). */
export function checkConfig(c: TrainConfig): void {
  const whole = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new NinjagradError(`${name} must be a whole number ${range}, got ${show(v)}`);
    }
  };
  whole("steps", c.steps, 1, MAX_STEPS);
  whole("hidden", c.hidden, 1, MAX_SIZE);
  whole("embd", c.embd, 1, MAX_SIZE);
  whole("block", c.block, 1, MAX_SIZE);
  whole("evalEvery", c.evalEvery, 0, MAX_STEPS);
  whole("evalExamples", c.evalExamples, 2, MAX_SIZE);
  if (c.decayAt !== undefined) whole("decayAt", c.decayAt, 0, MAX_STEPS);
  if (!Number.isSafeInteger(c.batch) || c.batch < 2 || c.batch > MAX_SIZE) {
    throw new NinjagradError(
      Number.isSafeInteger(c.batch) && c.batch < 2
        ? BATCH_MESSAGE(c.batch)
        : `batch must be a whole number from 2 to ${MAX_SIZE}, got ${show(c.batch)}`,
    );
  }
  whole("seed", c.seed, 0, Number.MAX_SAFE_INTEGER - 10); // sampling uses seed + 10
  if (!RNG_KINDS.includes(c.rng)) {
    throw new NinjagradError(`rng must be one of ${RNG_KINDS.join(", ")}, got ${c.rng}`);
  }
  if (c.dtype !== "float32" && c.dtype !== "float64") {
    throw new NinjagradError(`dtype must be float32 or float64, got ${c.dtype}`);
  }
  if (c.backward !== "manual" && c.backward !== "auto") {
    throw new NinjagradError(`backward must be manual or auto, got ${c.backward}`);
  }
  if (typeof c.lr !== "number" || !(c.lr > 0) || !Number.isFinite(c.lr)) {
    throw new NinjagradError(`lr must be a positive number, got ${show(c.lr)}`);
  }
  if (c.lr < smallestLr(c.dtype) || c.lr > MAX_LR) {
    throw new NinjagradError(
      `lr must be from ${smallestLr(c.dtype)} to ${MAX_LR} (outside, a ${c.dtype} run never ` +
        `moves or overflows at once), got ${show(c.lr)}`,
    );
  }
  if (typeof c.chunkMs !== "number" || !(c.chunkMs > 0) || !(c.chunkMs <= MAX_CHUNK_MS)) {
    throw new NinjagradError(
      `chunkMs must be a positive number of milliseconds, at most ${MAX_CHUNK_MS} (Ctrl-C is ` +
        `handled between chunks), got ${show(c.chunkMs)}`,
    );
  }
  if (c.detectAnomaly !== undefined && typeof c.detectAnomaly !== "boolean") {
    throw new NinjagradError(`detectAnomaly must be true or false, got ${show(c.detectAnomaly)}`);
  }
}

/** A setting as it was given: strings quoted, so `"5"` does not read as the number 5. */
function show(v: unknown): string {
  return typeof v === "number" ? String(v) : v === undefined ? "nothing" : JSON.stringify(v);
}

/**
 * The smallest learning rate a run accepts: below it an update lr·grad (gradients are at most
 * about 1) is lost in the rounding of weights of about 0.01 and more, 2^-24 of their size in
 * float32, 2^-53 in float64, and the run never moves.
 */
export function smallestLr(dtype: FloatDType): number {
  return dtype === "float32" ? 1e-10 : 1e-19;
}

/** Why a batch must hold at least two examples. */
export const BATCH_MESSAGE = (got: number | string): string =>
  `batch must be at least 2, got ${got}${batchWhy(Number(got))}`;

/** For a batch of one: BatchNorm's unbiased variance would divide 0 by 0. */
function batchWhy(batch: number): string {
  return batch === 1
    ? ": BatchNorm's unbiased variance divides by n − 1, which is 0 for a batch of one " +
      "(0/0: the variance, and with it the loss, would be NaN); use a batch of 2 or more"
    : "";
}
