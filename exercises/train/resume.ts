/**
 * `train --resume FILE`: a saved run continued exactly where it stopped. The checkpoint fixes
 * everything that shapes the run (sizes, learning rate and its schedule, seed, generators, dtype,
 * backward); flags may repeat those settings but not change them. `--steps` sets the new total,
 * and the names must be the ones the run was trained on.
 */
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { type Checkpoint, loadCheckpoint } from "../checkpoint.ts";
import { decayStep, type TrainConfig } from "./config.ts";
import { LECTURE_NAMES_SOURCE } from "../data.ts";
import { loadTrainData, type TrainData } from "./data.ts";
import { checkRunSize } from "./limits.ts";
import type { TrainStart } from "./run.ts";

/** The flags that shape a run, and the config field each sets. */
const RUN_FLAGS = {
  batch: "batch",
  hidden: "hidden",
  embd: "embd",
  block: "block",
  lr: "lr",
  "lr-decay-at": "decayAt",
  seed: "seed",
  rng: "rng",
  dtype: "dtype",
  backward: "backward",
} as const satisfies Record<string, keyof TrainConfig>;

/** A run ready to continue. */
export interface Resumed {
  checkpoint: Checkpoint;
  /** The checkpoint's config, with the new `steps`, `evalEvery` and `detectAnomaly`. */
  config: TrainConfig;
  data: TrainData;
  start: TrainStart;
}

/**
 * Loads `path` and checks the command line against it. `given` are the flags typed (by name),
 * `fromFlags` the config they make (defaults for the rest).
 */
export async function resume(
  path: string,
  given: Readonly<Record<string, unknown>>,
  fromFlags: TrainConfig,
  dataFlag: string | undefined,
): Promise<Resumed> {
  const checkpoint = await loadCheckpoint(path);
  const saved = checkpoint.config;
  for (const [flag, key] of Object.entries(RUN_FLAGS)) {
    if (given[flag] === undefined) continue;
    const want = key === "decayAt" ? decayStep(saved) : saved[key];
    if (fromFlags[key] !== want) {
      throw new UsageError(
        `--${flag} ${fromFlags[key]} does not match the checkpoint's ${want}: a resumed run ` +
          `keeps the settings it was saved with; leave --${flag} out`,
      );
    }
  }
  const steps = given.steps === undefined ? saved.steps : fromFlags.steps;
  if (checkpoint.step >= steps) {
    throw new UsageError(
      `${path} is at step ${checkpoint.step} already${
        given.steps === undefined ? ", the end of its run" : ""
      }: pass --steps N with N > ${checkpoint.step} to train further`,
    );
  }
  const config: TrainConfig = {
    ...saved,
    // The schedule it was trained with, kept even as the total changes.
    decayAt: decayStep(saved),
    steps,
    evalEvery: given["eval-every"] === undefined ? saved.evalEvery : fromFlags.evalEvery,
    detectAnomaly: fromFlags.detectAnomaly,
  };
  const data = await resumeData(path, checkpoint, config.block, dataFlag);
  return {
    checkpoint,
    config,
    data,
    start: {
      step: checkpoint.step,
      weights: checkpoint.model.weights,
      rngState: checkpoint.rngState,
    },
  };
}

/** The names the run was trained on: `--data`, else the file the checkpoint names; checked. */
async function resumeData(
  path: string,
  checkpoint: Checkpoint,
  block: number,
  dataFlag: string | undefined,
): Promise<TrainData> {
  const saved = checkpoint.data;
  const source = dataFlag ?? saved.path;
  const trainedOn = `${saved.path ?? LECTURE_NAMES_SOURCE} (${
    saved.names.toLocaleString("en")
  } names)`;
  let data: TrainData;
  const { config } = checkpoint, { embd, hidden } = config;
  let tooLarge: unknown;
  const check = (vocab: number, examples: number) => {
    try {
      checkRunSize(config, { vocab, embd, block, hidden }, undefined, examples);
    } catch (e) {
      throw tooLarge = e;
    }
  };
  try {
    data = await loadTrainData(source, block, check);
  } catch (e) {
    if (e === tooLarge || dataFlag !== undefined || !(e instanceof NinjagradError)) throw e;
    throw new NinjagradError(
      // The loader's own advice (leave --data out...) does not apply here: keep what it found.
      `${path} was trained on ${trainedOn}, which cannot be loaded now (${
        e.message.split(": ")[0]
      }); pass --data with the same names`,
    );
  }
  const vocab = checkpoint.model.vocab, have = data.vocab.itos;
  if (vocab.length !== have.length || vocab.some((s, i) => s !== have[i])) {
    throw new NinjagradError(
      `${path} was trained on a vocabulary of ${vocab.length} symbols (${vocab.join("")}) ` +
        `but ${data.source} gives ${have.length} (${have.join("")}): resume with the names ` +
        `it was trained on${saved.path ? ` (${saved.path})` : ""}`,
    );
  }
  const now = data.fingerprint;
  if (now !== undefined && saved.sha256 !== now.sha256) {
    throw new NinjagradError(
      `${path} was trained on ${trainedOn}, but ${data.source} holds other names ` +
        `(${now.names.toLocaleString("en")} names, sha256 ${now.sha256.slice(0, 12)}… instead of ` +
        `${saved.sha256.slice(0, 12)}…): resume with the same names`,
    );
  }
  return data;
}
