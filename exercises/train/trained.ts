/** A trained model as plain data: what sampling, evaluation and checkpoints work from. */
import type { FloatDType } from "../../ops/kernels/tensor.ts";
import type { Ex4Sizes, Ex4Weights } from "../model/ex4.ts";
import type { BnStats } from "./eval.ts";

/** The parameters after training, the BatchNorm statistics re-estimated over the training set. */
export interface TrainedModel {
  sizes: Ex4Sizes;
  /** The dtype the parameters were trained in (their buffers' type). */
  dtype: FloatDType;
  weights: Ex4Weights;
  bn: BnStats;
  /** Index to symbol; `vocab[0]` is `.`. */
  vocab: string[];
}
