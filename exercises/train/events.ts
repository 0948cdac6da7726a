/**
 * What a training run emits. Training is an Observable of these; the CLI, the progress bar, the
 * JSON log and the chart trace collector all subscribe to it, and unsubscribing stops the run.
 */
import type { Graph, RuleCounts } from "../../graph/graph.ts";
import type { Gradients } from "../../graph/backward.ts";
import type { Node } from "../../graph/node.ts";
import type { RngPlanState } from "../rng/recipe.ts";
import type { TrainedModel } from "./trained.ts";

/** The live model during a step: read it synchronously inside the subscriber, never keep it. */
export interface LiveModel {
  /** The training graph, with its values from this step's forward pass. */
  graph: Graph;
  /** Trainable parameters by name (`C`, `W1`, …). */
  params: Readonly<Record<string, Node>>;
  /** This step's gradients (before the update is applied). */
  grads: Gradients;
  /** Activations worth charting by name (`hpreact`, `h`, `logits`). */
  activations: Readonly<Record<string, Node>>;
}

/** One optimisation step finished. */
export interface StepEvent {
  type: "step";
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  /** Mean milliseconds per step over the recent window. */
  msPerStep: number;
  model: LiveModel;
}

/** A periodic evaluation on the splits. */
export interface EvalEvent {
  type: "eval";
  step: number;
  train: number;
  val: number;
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
export interface DoneEvent {
  type: "done";
  /** Steps done. */
  step: number;
  train: number;
  val: number;
  /** Mean milliseconds per training step over the whole run (evaluations not included). */
  msPerStep: number;
  /** The training graph's rule counters at the end: `auto` is 0 for a hand-written backward. */
  ruleCounts: RuleCounts;
  /** The trained model as plain data (copies), with the re-estimated BatchNorm statistics. */
  model: TrainedModel;
  /** The random streams' state after the last step (init and minibatches), for checkpoints. */
  rngState: RngPlanState;
  /** True when the run was stopped (its abort signal) before its last step. */
  interrupted?: boolean;
  /**
   * Set when `interrupted`: the training examples BatchNorm statistics and the train loss were
   * estimated on (and as many validation examples at most for the val loss).
   */
  estimatedOn?: number;
}

/** Everything a training run emits. */
export type TrainEvent = StepEvent | EvalEvent | DoneEvent;
