/**
 * The makemore models' training step, as `deno task makemore` takes it (exercises/makemore/):
 * makemore's default sizes (n_layer 4, n_head 4, n_embd 64, n_embd2 64), batch 32, the lecture's
 * names split as makemore splits them; a step draws the minibatch, runs forward and backward
 * (reused buffers) and AdamW's update. tests/side_by_side.py times PyTorch's twin of each.
 */
import { seededRandom } from "../../ops/kernels/random.ts";
import { DEFAULT_SIZES } from "../makemore/config.ts";
import { createDatasets, wordsOf } from "../makemore/data.ts";
import { createModel, MODEL_TYPES, type ModelType } from "../makemore/models.ts";
import { Trainer } from "../makemore/train.ts";
import { NAMES_PATH } from "./timing.ts";

/** The bench's makemore cases, by model type. */
export const MAKEMORE_CASES: readonly ModelType[] = MODEL_TYPES;

/** A makemore model's training step, ready to time. */
export function makemoreWorkload(type: ModelType): { step(): void; loss(): number } {
  const random = seededRandom(3407);
  const { train, test } = createDatasets(wordsOf(Deno.readTextFileSync(NAMES_PATH)), random);
  const config = {
    blockSize: train.outputLength(),
    vocabSize: train.vocabSize(),
    ...DEFAULT_SIZES,
  };
  const trainer = new Trainer(createModel(type, config, random), train, test, {
    batchSize: 32,
    learningRate: 5e-4,
    weightDecay: 0.01,
  }, random);
  let last = NaN;
  return {
    step: () => {
      last = trainer.step().loss;
    },
    loss: () => last,
  };
}
