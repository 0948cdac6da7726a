/**
 * The training trace: what the training charts need, sampled from the stream of training events
 * without slowing the hot loop. Per step the collector does O(1) work (the loss goes into a
 * preallocated Float32Array); every K steps it reads per-parameter statistics off the live model
 * and keeps a copy of the parameters, which the next step (or the run's end) compares with what
 * the update made of them: the update:data ratio is the parameters' measured change, right for
 * any optimizer (SGD with momentum, AdamW), not lr · grad. Every 2K steps it keeps quantiles of
 * each activation and its gradient (histograms over time); at the last step (and now and then
 * before it, in case the run is stopped) activation and gradient histograms and a snapshot of the
 * graph.
 */
import { tap } from "../graph/deps.ts";
import type { Gradients } from "../graph/backward.ts";
import type { Graph } from "../graph/graph.ts";
import type { Node, Observable } from "../graph/node.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { type GraphSnapshot, snapshotGraph } from "./snapshot.ts";
import { type Histogram, histogram, quantilesOf, stdOf, tensorStats } from "./stats.ts";
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
  /**
   * The population standard deviation of the change that step's update made to the parameter
   * (new value − old value, measured at the next step or the run's end); NaN until measured.
   */
  updateStd: number;
  /**
   * log10(std(Δparam) / std(data)), the update:data ratio of the update actually applied (under
   * plain SGD that is lr · std(grad) / std(data)); null when not finite (no change, zero data)
   * or not measured (the run ended before the update was applied).
   */
  updateRatio: number | null;
}

/** The percentiles a distribution over time keeps (TensorBoard's: ±1, 1.5 and 2 σ of a normal). */
export const DISTRIBUTION_PERCENTILES: readonly number[] = [0, 7, 16, 31, 50, 69, 84, 93, 100];

/** Quantiles of one activation, or of its gradient, at one step (a histogram over time). */
export interface DistributionSample {
  /** The step it was read at. */
  step: number;
  /** The activation's name (its gradient's too: `of` tells them apart). */
  name: string;
  /** What was measured. */
  of: "activation" | "gradient";
  /** The values at `DISTRIBUTION_PERCENTILES`, lowest first (`quantilesOf`: within 1/512 of the range). */
  q: number[];
  /** For tanh outputs: the share with |h| > 0.97 (0..1). */
  saturation?: number;
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
  /** Quantiles of every activation and its gradient every `2·every` steps (and at the last). */
  distributions?: DistributionSample[];
  /** The steps the run was planned to have (the last step event's `totalSteps`). */
  totalSteps?: number;
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
  /** Keep the activations' quantiles every this many steps (default 2·every; 0: never). */
  distributionsEvery?: number;
}

/** Collects a trace from training events; feed it with `next`, read it with `trace()`. */
export class TraceCollector {
  /** Parameter statistics are sampled every this many step events, and at the last step. */
  readonly every: number;
  private readonly histogramsEvery: number;
  private readonly distributionsEvery: number;
  private readonly bins: number;
  private totalSteps = 0;
  private readonly distributions: DistributionSample[] = [];
  /** The parameters as a sampled step found them, and that step's samples, until measured. */
  private before:
    | { nodes: [Node, Float32Array | Float64Array, ParamSample][]; step: number }
    | undefined;
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
    this.distributionsEvery = options.distributionsEvery ?? 2 * this.every;
    this.bins = options.bins ?? 50;
  }

  /** Takes one event. Call it synchronously from the subscriber: step events hold a live model. */
  next(e: TraceEvent): void {
    if (e.type === "step") this.step(e);
    else {
      // The run's end comes after its last update: the last sample's change is measured here.
      if (e.type === "done") this.measure();
      this.evals.push({ step: e.step, train: e.train, val: e.val });
    }
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
    this.totalSteps = e.totalSteps;
    if (this.lrChanges.at(-1)?.lr !== e.lr) this.lrChanges.push({ step: e.step, lr: e.lr });
    // The step after a sampled one: the parameters now hold that step's update.
    if (this.before) this.measure();
    // Steps may count from 0 (the last is totalSteps − 1) or from 1 (the last is totalSteps).
    const last = e.step >= e.totalSteps - (this.firstStep === 0 ? 1 : 0);
    if (i % this.every === 0 || last) this.sample(e);
    const d = this.distributionsEvery;
    if (d > 0 && (i % d === 0 || last)) this.distribution(e);
    if (i % this.histogramsEvery === 0 || last || this.wantPicture) this.picture(e);
  }

  /** The change since the sampled step, per parameter: its samples' update ratio. */
  private measure(): void {
    const before = this.before;
    this.before = undefined;
    if (!before) return;
    for (const [node, old, sample] of before.nodes) {
      const now = node.value.data;
      if (now.length !== old.length) continue; // the parameter was replaced by another shape
      // std(now − old) in one pass of sums, without a buffer for the difference.
      let sum = 0, ss = 0;
      for (let k = 0; k < old.length; k++) {
        const dx = now[k] - old[k];
        sum += dx;
        ss += dx * dx;
      }
      const n = old.length;
      const mean = n ? sum / n : 0;
      sample.updateStd = n ? Math.sqrt(Math.max(0, ss / n - mean * mean)) : 0;
      const r = Math.log10(sample.updateStd / sample.dataStd);
      sample.updateRatio = Number.isFinite(r) ? r : null;
    }
  }

  /** Quantiles of each activation and its gradient (histograms over time). */
  private distribution(e: TraceStep): void {
    const { activations, grads } = e.model;
    for (const [name, node] of Object.entries(activations)) {
      if (node.value.dtype === "int32") continue;
      const data = node.value.data;
      const act = quantilesOf(data, DISTRIBUTION_PERCENTILES);
      const sample: DistributionSample = { step: e.step, name, of: "activation", q: act };
      if (node.op?.name === "tanh") {
        let sat = 0;
        const t = data instanceof Float32Array ? Math.fround(0.97) : 0.97;
        for (let k = 0; k < data.length; k++) if (Math.abs(data[k]) > t) sat++;
        sample.saturation = data.length ? sat / data.length : 0;
      }
      this.distributions.push(sample);
      const g = grads.get(node);
      if (g) {
        this.distributions.push({
          step: e.step,
          name,
          of: "gradient",
          q: quantilesOf(g.data, DISTRIBUTION_PERCENTILES),
        });
      }
    }
  }

  /** Takes histograms and a graph snapshot at the next step too (the live view asks for them). */
  requestPicture(): void {
    this.wantPicture = true;
  }

  /** Reads a `ParamSample` per parameter off the live model, and their `lastParams` table. */
  private sample(e: TraceStep): void {
    const { params, grads } = e.model;
    const stats: ParamStat[] = [];
    const kept: [Node, Float32Array | Float64Array, ParamSample][] = [];
    for (const [name, node] of Object.entries(params)) {
      const g = grads.get(node);
      this.shapes[name] ??= [...node.shape];
      const gradStd = g ? stdOf(g.data) : NaN;
      const dataStd = stdOf(node.value.data);
      const sample: ParamSample = {
        step: e.step,
        name,
        lr: e.lr,
        gradStd,
        dataStd,
        updateStd: NaN,
        updateRatio: null,
      };
      this.samples.push(sample);
      const data = node.value.data;
      if (!(data instanceof Int32Array)) kept.push([node, data.slice(), sample]);
      stats.push({
        name,
        shape: [...node.shape],
        value: tensorStats(node.value.data),
        grad: g ? tensorStats(g.data) : null,
      });
    }
    this.lastParams = stats;
    this.before = { nodes: kept, step: e.step };
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
      distributions: [...this.distributions],
      totalSteps: this.totalSteps,
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
