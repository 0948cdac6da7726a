/** The settings of a training run, their lecture defaults, and the learning-rate schedule. */
import { NinjagradError } from "../../graph/errors.ts";
import type { FloatDType } from "../../graph/tensor.ts";
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
  /** Learning rate of the first half; the second half uses a tenth of it (0.1 → 0.01). */
  lr: number;
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

/** The learning rate of step `i` (0-based): `lr` for the first half, `lr / 10` after. */
export function learningRate(config: Pick<TrainConfig, "lr" | "steps">, i: number): number {
  return i < Math.floor(config.steps / 2) ? config.lr : config.lr / 10;
}

/** Throws a one-line error for settings a run cannot work with (the CLI checks flags first). */
export function checkConfig(c: TrainConfig): void {
  const whole = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) {
      throw new NinjagradError(`${name} must be a whole number ≥ ${min}, got ${v}`);
    }
  };
  whole("steps", c.steps, 1);
  whole("hidden", c.hidden, 1);
  whole("embd", c.embd, 1);
  whole("block", c.block, 1);
  whole("evalEvery", c.evalEvery, 0);
  whole("evalExamples", c.evalExamples, 2);
  if (!Number.isInteger(c.batch) || c.batch < 2) throw new NinjagradError(BATCH_MESSAGE(c.batch));
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) {
    throw new NinjagradError(`seed must be a whole number ≥ 0, got ${c.seed}`);
  }
  if (!RNG_KINDS.includes(c.rng)) {
    throw new NinjagradError(`rng must be one of ${RNG_KINDS.join(", ")}, got ${c.rng}`);
  }
  if (c.dtype !== "float32" && c.dtype !== "float64") {
    throw new NinjagradError(`dtype must be float32 or float64, got ${c.dtype}`);
  }
  if (c.backward !== "manual" && c.backward !== "auto") {
    throw new NinjagradError(`backward must be manual or auto, got ${c.backward}`);
  }
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) {
    throw new NinjagradError(`lr must be a positive number, got ${c.lr}`);
  }
}

/** Why a batch must hold at least two examples. */
export const BATCH_MESSAGE = (got: number | string): string =>
  `batch must be at least 2, got ${got}: BatchNorm's unbiased variance divides by n − 1, ` +
  "which is 0 for a batch of one";
