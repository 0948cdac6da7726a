/**
 * What a training run emits. Training is an Observable of these; the CLI, the progress bar, the
 * JSON log and the chart trace collector all subscribe to it, and unsubscribing stops the run.
 */
import type { Graph } from "../../graph/graph.ts";
import type { Gradients } from "../../graph/backward.ts";
import type { Node } from "../../graph/node.ts";

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
}

/** Everything a training run emits. */
export type TrainEvent = StepEvent | EvalEvent;
