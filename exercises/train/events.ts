/**
 * What a training run emits. Training is an Observable of these; the CLI, the progress bar, the
 * JSON log and the chart trace collector all subscribe to it, and unsubscribing stops the run.
 */
import type {
  EvalEvent as FitEvalEvent,
  FitDoneEvent,
  LiveModel,
  StepEvent,
} from "../../ops/fit.ts";
import type { RngPlanState } from "../rng/recipe.ts";
import type { TrainedModel } from "./trained.ts";

// A lecture run's steps are `fit`'s (ops/fit.ts): the reporters and the charts read either.
export type { LiveModel, StepEvent };

/** A periodic evaluation on the splits. */
export interface EvalEvent extends FitEvalEvent {
  /**
   * How many training examples the BatchNorm statistics and the train loss were estimated on
   * (a fixed subset during training, to keep evaluations cheap); absent means all of them.
   */
  trainExamples?: number;
}

/**
 * The run is over: BatchNorm statistics were re-estimated over the whole training set and the
 * split losses measured with them. The last event before completion. A run that was stopped
 * (`interrupted`) estimates them on `estimatedOn` training examples instead, so that its state
 * can be saved at once; `finalStatistics` (final.ts) then computes the full ones.
 */
export interface DoneEvent extends FitDoneEvent {
  /** The trained model as plain data (copies), with the re-estimated BatchNorm statistics. */
  model: TrainedModel;
  /** The random streams' state after the last step (init and minibatches), for checkpoints. */
  rngState: RngPlanState;
  /**
   * Set when `interrupted`: the training examples BatchNorm statistics and the train loss were
   * estimated on (and as many validation examples at most for the val loss).
   */
  estimatedOn?: number;
}

/** Everything a training run emits. */
export type TrainEvent = StepEvent | EvalEvent | DoneEvent;
