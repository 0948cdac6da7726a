/**
 * The training trace: what the training charts need, sampled from the stream of training events
 * without slowing the hot loop. Per step the collector does O(1) work (the loss goes into a
 * preallocated Float32Array); every K steps it reads per-parameter statistics off the live model;
 * at the last step (and now and then before it, in case the run is stopped) it keeps activation
 * and gradient histograms and a snapshot of the graph.
 */
import { tap } from "../graph/deps.ts";
import type { Gradients } from "../graph/backward.ts";
import type { Graph } from "../graph/graph.ts";
import type { Node, Observable } from "../graph/node.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { type GraphSnapshot, snapshotGraph } from "./snapshot.ts";
import { type Histogram, histogram, stdOf, tensorStats } from "./stats.ts";
import type { ParamStat } from "./charts/params.ts";
import type { LrChange } from "./charts/training.ts";

/**
 * A finished training step, as the trace reads it: the step's loss and learning rate and the live
 * model (read synchronously inside the subscriber, never kept). The lecture's training events
 * and those of any training loop that has these fields are traced as they are.
 */
export interface TraceStep {
  /** Tells a step event from an evaluation. */
  type: "step";
  /** The step's number. */
  step: number;
  /** How many steps the run has. */
  totalSteps: number;
  /** The minibatch loss. */
  loss: number;
  /** The learning rate the update used. */
  lr: number;
  /** The live model after the backward pass, before the update. */
  model: {
    /** The training graph, with this step's forward values. */
    graph: Graph;
    /** The trainable parameters by name. */
    params: Readonly<Record<string, Node>>;
    /** This step's gradients. */
    grads: Gradients;
    /** The activations to draw histograms of, by name. */
    activations: Readonly<Record<string, Node>>;
  };
}

/** An evaluation on the splits (periodic, or the final one: `type` "done"). */
export interface TraceEval {
  /** "eval" for an evaluation during the run, "done" for the final one when it ends. */
  type: "eval" | "done";
  /** The step after which it was measured. */
  step: number;
  /** The training split's loss. */
  train: number;
  /** The validation split's loss. */
  val: number;
  /** True when the run was stopped before its last step (a "done" event only). */
  interrupted?: boolean;
}

/** What the trace collector takes in. */
export type TraceEvent = TraceStep | TraceEval;

/** Statistics of one parameter at one sampled step. */
export interface ParamSample {
  /** The number of the step it was read at (`TraceStep.step`, in the run's own numbering). */
  step: number;
  /** The parameter's name: its key in the step's `model.params`. */
  name: string;
  /** The learning rate of that step's update. */
  lr: number;
  /** The population standard deviation of the parameter's gradient; NaN when none reached it. */
  gradStd: number;
  /** The population standard deviation of the parameter's value, before that step's update. */
  dataStd: number;
  /** log10(lr · std(grad) / std(data)); null when not finite (no gradient, zero data). */
  updateRatio: number | null;
}

/** Histograms of the live model at one step. */
export interface HistogramSet {
  /** The number of the step they were taken at (`TraceStep.step`). */
  step: number;
  /** One per activation of the step's `model.activations`, in order (integer ones skipped). */
  activations: Histogram[];
  /** The gradients of the same activations. */
  gradients: Histogram[];
}

/** What a training run leaves for the charts. */
export interface TrainingTrace {
  /** Statistics were sampled every `every` steps. */
  every: number;
  /** The step number of the first step event. */
  firstStep: number;
  /** Step events seen. */
  steps: number;
  /** The loss of every step, in order (`steps` entries). */
  loss: Float32Array;
  /** Evaluations on the splits (eval events, and the final one). */
  evals: { step: number; train: number; val: number }[];
  /** The learning rate from each step on where it changed (the first entry: the starting rate). */
  lrChanges: LrChange[];
  /** Per-parameter statistics every `every` steps. */
  samples: ParamSample[];
  /** The parameters' shapes, by name. */
  shapes: Record<string, number[]>;
  /** Each parameter's value and gradient statistics at the last sampled step. */
  lastParams: ParamStat[];
  /** Histograms at the last step (or the latest taken, if the run was stopped). */
  histograms: HistogramSet | undefined;
  /** The graph with its gradients at the last step (or the latest taken). */
  snapshot: GraphSnapshot | undefined;
}

/** Options of the trace collector. */
export interface TraceOptions {
  /** Sample parameter statistics every K steps (default 100). */
  every?: number;
  /** Take histograms and a graph snapshot every this many steps too (default 50·every). */
  histogramsEvery?: number;
  /** Bins per histogram (default 50). */
  bins?: number;
}

/** Collects a trace from training events; feed it with `next`, read it with `trace()`. */
export class TraceCollector {
  /** Parameter statistics are sampled every this many step events, and at the last step. */
  readonly every: number;
  private readonly histogramsEvery: number;
  private readonly bins: number;
  private loss = new Float32Array(0);
  private count = 0;
  private firstStep = 0;
  private readonly evals: TrainingTrace["evals"] = [];
  private readonly lrChanges: LrChange[] = [];
  private readonly samples: ParamSample[] = [];
  private readonly shapes: Record<string, number[]> = {};
  private lastParams: ParamStat[] = [];
  private histograms: HistogramSet | undefined;
  private snapshot: GraphSnapshot | undefined;
  private wantPicture = false;

  /** A collector with nothing seen yet; throws if `every` is not a whole number ≥ 1. */
  constructor(options: TraceOptions = {}) {
    this.every = options.every ?? 100;
    if (!(Number.isInteger(this.every) && this.every >= 1)) {
      throw new NinjagradError(`the trace's "every" must be a whole number ≥ 1, got ${this.every}`);
    }
    this.histogramsEvery = options.histogramsEvery ?? 50 * this.every;
    this.bins = options.bins ?? 50;
  }

  /** Takes one event. Call it synchronously from the subscriber: step events hold a live model. */
  next(e: TraceEvent): void {
    if (e.type === "step") this.step(e);
    else this.evals.push({ step: e.step, train: e.train, val: e.val });
  }

  /** Keeps a step's loss and learning rate, and samples or pictures the model when due. */
  private step(e: TraceStep): void {
    const i = this.count++;
    if (i === 0) {
      this.firstStep = e.step;
      this.loss = new Float32Array(Math.max(1, e.totalSteps - e.step + 1));
    } else if (i === this.loss.length) {
      const grown = new Float32Array(2 * this.loss.length); // only if totalSteps was too small
      grown.set(this.loss);
      this.loss = grown;
    }
    this.loss[i] = e.loss;
    if (this.lrChanges.at(-1)?.lr !== e.lr) this.lrChanges.push({ step: e.step, lr: e.lr });
    // Steps may count from 0 or from 1: either way this catches the last one.
    const last = e.step >= e.totalSteps - 1;
    if (i % this.every === 0 || last) this.sample(e);
    if (i % this.histogramsEvery === 0 || last || this.wantPicture) this.picture(e);
  }

  /** Takes histograms and a graph snapshot at the next step too (the live view asks for them). */
  requestPicture(): void {
    this.wantPicture = true;
  }

  /** Reads a `ParamSample` per parameter off the live model, and their `lastParams` table. */
  private sample(e: TraceStep): void {
    const { params, grads } = e.model;
    const stats: ParamStat[] = [];
    for (const [name, node] of Object.entries(params)) {
      const g = grads.get(node);
      this.shapes[name] ??= [...node.shape];
      const gradStd = g ? stdOf(g.data) : NaN;
      const dataStd = stdOf(node.value.data);
      const r = Math.log10((e.lr * gradStd) / dataStd);
      this.samples.push({
        step: e.step,
        name,
        lr: e.lr,
        gradStd,
        dataStd,
        updateRatio: Number.isFinite(r) ? r : null,
      });
      stats.push({
        name,
        shape: [...node.shape],
        value: tensorStats(node.value.data),
        grad: g ? tensorStats(g.data) : null,
      });
    }
    this.lastParams = stats;
  }

  /** Takes the activations' and gradients' histograms and a snapshot of the live graph. */
  private picture(e: TraceStep): void {
    this.wantPicture = false;
    const { activations, grads, graph } = e.model;
    const acts: Histogram[] = [], gs: Histogram[] = [];
    for (const [name, node] of Object.entries(activations)) {
      if (node.value.dtype === "int32") continue;
      const tanh = node.op?.name === "tanh";
      acts.push(
        histogram(name, "activation", node.shape, node.value.data, { bins: this.bins, tanh }),
      );
      const g = grads.get(node);
      if (g) gs.push(histogram(name, "gradient", node.shape, g.data, { bins: this.bins }));
    }
    this.histograms = { step: e.step, activations: acts, gradients: gs };
    this.snapshot = snapshotGraph(graph, grads);
  }

  /** The trace so far (its loss array is a view: copy it to keep it past further steps). */
  trace(): TrainingTrace {
    return {
      every: this.every,
      firstStep: this.firstStep,
      steps: this.count,
      loss: this.loss.subarray(0, this.count),
      evals: [...this.evals],
      lrChanges: [...this.lrChanges],
      samples: [...this.samples],
      shapes: { ...this.shapes },
      lastParams: this.lastParams,
      histograms: this.histograms,
      snapshot: this.snapshot,
    };
  }
}

/**
 * An operator that feeds every passing event to `collector` (events pass through unchanged): an
 * rxjs `MonoTypeOperatorFunction`, for `events$.pipe(traceInto(collector))`.
 */
export function traceInto<E extends TraceEvent>(
  collector: TraceCollector,
): (source: Observable<E>) => Observable<E> {
  return tap((e: E) => collector.next(e));
}

/**
 * Subscribes to a training run and resolves with its trace when the run completes. This
 * subscription starts the run if `train$` is cold: to watch one run with several subscribers,
 * pipe `traceInto(collector)` into the stream they share instead.
 */
export function collectTrace(
  train$: Observable<TraceEvent>,
  options: TraceOptions = {},
): Promise<TrainingTrace> {
  const collector = new TraceCollector(options);
  return new Promise((resolve, reject) => {
    train$.subscribe({
      next: (e) => collector.next(e),
      error: reject,
      complete: () => resolve(collector.trace()),
    });
  });
}
