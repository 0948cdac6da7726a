/**
 * Exercise 4 as an Observable: `train(config, data)` emits a step event per SGD step, periodic
 * evaluations, and a last `done` event; subscribing starts the run and unsubscribing stops it
 * between steps. The graph is built once and re-run with each minibatch in reused buffers.
 * Steps run back to back in chunks of about `chunkMs` and yield to the event loop in between, so
 * an unsubscribe or a Ctrl-C gets in without slowing the loop down. A run can continue a saved
 * one (`start`: its step, parameters and random state), hands out snapshots of its state every
 * so many steps or milliseconds (`onSnapshot`, for periodic checkpoints), and an abort `signal`
 * ends it after the step in progress with a `done` event that says so, ready to be saved at once:
 * its statistics are estimates, the full ones are `finalStatistics`'s (final.ts) to compute.
 */
import type { Observable, Subscriber } from "../../graph/deps.ts";
import { type ChunkedRun, RecentRate, runInChunks } from "../../ops/fit.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { Graph } from "../../graph/graph.ts";
import type { Gradients } from "../../graph/backward.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import { sgdUpdate } from "../../ops/kernels/elementwise.ts";
import type { Comparison } from "../../graph/compare.ts";
import type { Examples } from "../data.ts";
import {
  buildEx4,
  cloneWeights,
  countParams,
  type Ex4Graph,
  type Ex4Sizes,
  type Ex4Weights,
  type FloatArray,
  initEx4Weights,
  PARAM_NAMES,
  paramShapes,
} from "../model/ex4.ts";
import { compareEx4FirstStep, installEx4Rules } from "../rules/ex4.ts";
import { checkConfig, learningRate, type TrainConfig } from "./config.ts";
import type { TrainData } from "./data.ts";
import { bnStatistics, type BnStats, EvalNet } from "./eval.ts";
import { checkRunSize } from "./limits.ts";
import type { DoneEvent, EvalEvent, LiveModel, TrainEvent } from "./events.ts";
import type { TrainedModel } from "./trained.ts";
import {
  createRngPlan,
  orderedNormalSource,
  type RngPlan,
  type RngPlanState,
} from "../rng/recipe.ts";

/** Every step's backward recycles its buffers: no allocation per step in steady state. */
const REUSE = { reuse: true } as const;

/** Where a run starts when it continues a saved one (a checkpoint's step, weights and rng). */
export interface TrainStart {
  /** Steps already done: the run goes on with step `step + 1`. */
  step: number;
  /** The parameters after those steps, in the config's dtype. */
  weights: Ex4Weights;
  /** The random streams' state after those steps. */
  rngState: RngPlanState;
}

/** A run's state between two steps, with BatchNorm statistics estimated on a subset. */
export interface RunSnapshot {
  /** Steps done. */
  step: number;
  /** The model (copies), BatchNorm statistics estimated on `bnExamples` training examples. */
  model: TrainedModel;
  /** The random streams' state after `step` steps. */
  rngState: RngPlanState;
  /** How many training examples the BatchNorm statistics were estimated on. */
  bnExamples: number;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Continue a saved run instead of starting from the init. */
  start?: TrainStart;
  /**
   * When aborted, the run stops after the step in progress and ends with a `done` event whose
   * `interrupted` is true; its statistics are estimates (`estimatedOn` examples), cheap enough
   * that the state can be saved at once.
   */
  signal?: AbortSignal;
  /**
   * Installs the hand-written rules on the training graph when `config.backward` is "manual"
   * (default: the project's own, `installEx4Rules`); `deno task ninja train` passes a learner's.
   */
  installRules?: (graph: Graph) => void;
  /** How often `onSnapshot` is called: every `steps` steps, or after `ms` milliseconds. */
  snapshotEvery?: { steps: number } | { ms: number };
  /**
   * Called between two steps with the run's state, synchronously: a checkpoint written here is
   * on the disk before the next step starts. An error it throws ends the run.
   */
  onSnapshot?: (snapshot: RunSnapshot) => void;
}

/** The net's sizes for a config and its data's vocabulary. */
export function sizesOf(config: TrainConfig, data: TrainData): Ex4Sizes {
  return {
    vocab: data.vocab.itos.length,
    embd: config.embd,
    block: config.block,
    hidden: config.hidden,
  };
}

/**
 * The model before its first step and the random streams positioned for the first minibatch:
 * the parameters take the first normals of the main stream, which then draws the minibatches,
 * as the lecture's `g` does.
 */
export function initialState(config: TrainConfig, data: TrainData) {
  const random = createRngPlan(config.rng, { seed: config.seed });
  const sizes = sizesOf(config, data);
  const weights = initEx4Weights(sizes, orderedNormalSource(random), config.dtype);
  return { weights, random };
}

/** drawBatch's row indices, drawn into the same buffer every step. */
let batchRows = new Int32Array(0);

/** Fills a minibatch (contexts and targets) with examples drawn uniformly, with replacement. */
export function drawBatch(random: RngPlan, ex: Examples, xb: Int32Array, yb: Int32Array) {
  const block = ex.blockSize;
  if (batchRows.length !== yb.length) batchRows = new Int32Array(yb.length);
  const rows = random.batchIndices(yb.length, ex.n, batchRows);
  const X = ex.X, Y = ex.Y;
  // Copied value by value: a subarray view per row would allocate on every step.
  for (let i = 0, at = 0; i < rows.length; i++) {
    const r = rows[i], from = r * block;
    yb[i] = Y[r];
    for (let j = 0; j < block; j++) xb[at++] = X[from + j];
  }
}

/**
 * The lecture's check before training: the hand-written backward against the automatic one on
 * the very first minibatch a run with this config would draw.
 */
export function firstStepComparison(
  config: TrainConfig,
  data: TrainData,
  tolerances: { rtol?: number; atol?: number } = {},
): Comparison {
  const { weights, random } = initialState(config, data);
  const Xb = new Int32Array(config.batch * config.block), Yb = new Int32Array(config.batch);
  drawBatch(random, data.train, Xb, Yb);
  const sizes = sizesOf(config, data);
  return compareEx4FirstStep({ weights, sizes, dtype: config.dtype, Xb, Yb, ...tolerances });
}

/**
 * The state a saved run continues from, checked against the config and data it continues with:
 * its parameters and its random streams, positioned for step `start.step + 1`.
 */
export function resumedState(config: TrainConfig, data: TrainData, start: TrainStart) {
  const sizes = sizesOf(config, data), shapes = paramShapes(sizes);
  if (!Number.isInteger(start.step) || start.step < 0) {
    throw new NinjagradError(`a run resumes from a whole step ≥ 0, got ${start.step}`);
  }
  for (const name of PARAM_NAMES) {
    const w = start.weights[name], want = shapes[name].reduce((a, b) => a * b, 1);
    const type = config.dtype === "float32" ? Float32Array : Float64Array;
    if (!(w instanceof type) || w.length !== want) {
      throw new NinjagradError(
        `the saved ${name} does not fit a ${config.dtype} net of ${
          countParams(sizes).toLocaleString("en")
        } parameters (${name} needs ${want} values): resume with the sizes it was saved with`,
      );
    }
  }
  const random = createRngPlan(config.rng, { seed: config.seed });
  random.setState(start.rngState);
  return { weights: start.weights, random };
}

/** Starts a run on subscription; see the module comment. */
export function train(
  config: TrainConfig,
  data: TrainData,
  options: TrainOptions = {},
): Observable<TrainEvent> {
  checkConfig(config);
  checkRunSize(config, sizesOf(config, data));
  const { start, signal } = options;
  if (start) {
    resumedState(config, data, start); // checked now: a bad start fails where train() is called
    if (start.step >= config.steps) {
      throw new NinjagradError(
        `the run is already at step ${start.step} of ${config.steps}: ask for more steps`,
      );
    }
  }
  return runInChunks<TrainEvent>(() => new Trainer(config, data, start, options), signal);
}

/** One run's state: the graph, its buffers, the generator, the clock. */
class Trainer implements ChunkedRun<TrainEvent> {
  readonly #config: TrainConfig;
  readonly #data: TrainData;
  readonly #sizes: Ex4Sizes;
  readonly #random: RngPlan;
  readonly #model: Ex4Graph;
  readonly #xb: Tensor;
  readonly #yb: Tensor;
  /** The rows behind periodic evaluations (undefined: the whole training set). */
  readonly #evalRows: Int32Array | undefined;
  #step = 0;
  /** The step this process started at (a resumed run's checkpoint's). */
  readonly #startStep: number;
  /** Steps this process ran (a resumed run started at a later step). */
  #ran = 0;
  #trainMs = 0;
  readonly #recent = new RecentRate();
  readonly #snapshotEvery: TrainOptions["snapshotEvery"];
  readonly #onSnapshot: TrainOptions["onSnapshot"];
  /** When the last snapshot was taken (or the run started). */
  #snapshotAt = performance.now();

  constructor(
    config: TrainConfig,
    data: TrainData,
    start?: TrainStart,
    options: Pick<TrainOptions, "snapshotEvery" | "onSnapshot" | "installRules"> = {},
  ) {
    this.#config = config;
    this.#data = data;
    this.#sizes = sizesOf(config, data);
    const { weights, random } = start
      ? resumedState(config, data, start)
      : initialState(config, data);
    this.#random = random;
    this.#step = this.#startStep = start?.step ?? 0;
    this.#model = buildEx4(new Graph({ dtype: config.dtype }), weights, this.#sizes, config.batch);
    if (config.backward === "manual") (options.installRules ?? installEx4Rules)(this.#model.graph);
    // Switched on after building, so that every node has its label when an anomaly names it
    // (a node is evaluated once as it is created, before `.named()` labels it); every step
    // recomputes the whole net anyway.
    this.#model.graph.detectAnomaly = config.detectAnomaly === true;
    this.#xb = this.#model.Xb.value;
    this.#yb = this.#model.Yb.value;
    this.#evalRows = spreadRows(data.train.n, config.evalExamples);
    this.#snapshotEvery = options.onSnapshot ? options.snapshotEvery : undefined;
    this.#onSnapshot = options.onSnapshot;
  }

  /** Runs steps for about `chunkMs` (none once `signal` is aborted); true when every step is done. */
  chunk(subscriber: Subscriber<TrainEvent>, signal?: AbortSignal): boolean {
    const { steps, evalEvery, chunkMs } = this.#config;
    const start = performance.now();
    let clock = start, ran = 0, spent = 0;
    while (this.#step < steps && !subscriber.closed && !signal?.aborted) {
      const grads = this.#forwardBackward();
      const { graph, params, activations, loss } = this.#model;
      const model: LiveModel = { graph, params, activations, grads };
      const lr = learningRate(this.#config, this.#step);
      subscriber.next({
        type: "step",
        step: this.#step + 1,
        totalSteps: steps,
        loss: loss.value.data[0],
        lr,
        // Until the first chunk ends, the estimate is this chunk's own mean so far.
        msPerStep: this.#recent.msPerStep || (ran > 0 ? (performance.now() - start) / ran : 0),
        model,
      });
      this.#update(grads, lr);
      this.#step++;
      ran++;
      const now = performance.now();
      spent += now - clock;
      clock = now;
      if (evalEvery > 0 && this.#step % evalEvery === 0 && this.#step < steps) {
        if (!subscriber.closed) subscriber.next(this.#periodicEval());
        clock = performance.now(); // evaluations are not step time
      }
      if (this.#snapshotDue(clock) && this.#step < steps && !subscriber.closed) {
        this.#onSnapshot!(this.snapshot());
        clock = this.#snapshotAt = performance.now(); // nor are checkpoints
      }
      if (clock - start >= chunkMs) break;
    }
    if (ran > 0) {
      this.#ran += ran;
      this.#trainMs += spent;
      this.#recent.add(spent, ran);
    }
    return this.#step >= steps;
  }

  /** The engine's error `e` with the step it happened at, and what to try: where a run broke down. */
  #atStep(e: unknown): unknown {
    if (!(e instanceof NinjagradError)) return e;
    const step = this.#step + 1;
    if (e.message.startsWith("anomaly: ")) {
      return new NinjagradError(`anomaly at step ${step}: ${e.message.slice("anomaly: ".length)}`);
    }
    const hint = this.#config.detectAnomaly
      ? ""
      : "; run with --detect-anomaly to find the first node that went wrong";
    return new NinjagradError(`step ${step}: ${e.message}${hint}`);
  }

  /**
   * The forward pass's changes, made once (a closure per step would be garbage per step): last
   * step's update edited the parameters in place; recompute once with them and the new batch.
   */
  #propagate = (): void => {
    const { graph, params, Xb, Yb } = this.#model;
    for (const name of PARAM_NAMES) graph.changed(params[name]);
    graph.set(Xb, this.#xb);
    graph.set(Yb, this.#yb);
  };

  /** Draws a minibatch, runs the forward pass (one propagation) and the backward pass. */
  #forwardBackward(): Gradients {
    const { graph, loss } = this.#model;
    drawBatch(
      this.#random,
      this.#data.train,
      this.#xb.data as Int32Array,
      this.#yb.data as Int32Array,
    );
    try {
      graph.batch(this.#propagate);
    } catch (e) {
      throw this.#atStep(e);
    }
    const value = loss.value.data[0];
    if (!Number.isFinite(value)) {
      if (this.#step === 0) {
        // No update has run: the learning rate is not to blame, the initial weights are.
        throw new NinjagradError(
          `the loss is ${value} at step 1, before any update: the initial weights already give ` +
            `a target a probability that rounds to 0 in ${this.#config.dtype} (hidden ` +
            `${this.#config.hidden.toLocaleString("en")}: each logit sums that many terms); ` +
            "use a smaller --hidden",
        );
      }
      const { name, at } = this.#largestWeight();
      const largest = `the largest weight is ${name}[${at.index}] = ${at.value.toPrecision(3)}`;
      if (this.#step === this.#startStep) {
        // The first step after --resume: no update of this run has happened, the saved weights
        // give this loss by themselves. The learning rate is not to blame.
        throw new NinjagradError(
          `the loss is ${value} at step ${this.#step + 1}, the first after resuming, before ` +
            `any update of this run: the checkpoint's weights give it (${largest}), not the ` +
            "learning rate; resume from another checkpoint, or train again",
        );
      }
      throw new NinjagradError(
        `the loss is ${value} at step ${this.#step + 1}: the run diverged (${largest}); ` +
          "try a smaller --lr",
      );
    }
    try {
      return graph.backward(loss, REUSE);
    } catch (e) {
      throw this.#atStep(e);
    }
  }

  /** The weight of largest magnitude (NaN counts as largest), for the error that names it. */
  #largestWeight(): { name: string; at: { index: number; value: number } } {
    let best = { name: PARAM_NAMES[0] as string, at: { index: 0, value: 0 } };
    for (const name of PARAM_NAMES) {
      const data = this.#model.params[name].value.data;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (Number.isNaN(v) || Math.abs(v) > Math.abs(best.at.value)) {
          best = { name, at: { index: i, value: v } };
          if (Number.isNaN(v)) return best;
        }
      }
    }
    return best;
  }

  /** SGD in place: p −= lr · grad. */
  #update(grads: Gradients, lr: number): void {
    const { params } = this.#model;
    for (const name of PARAM_NAMES) {
      sgdUpdate(params[name].value.data, grads.get(params[name])!.data, lr);
    }
  }

  /** The parameters' live buffers, read without copying. */
  #weights(): Ex4Weights {
    const w = {} as Ex4Weights;
    for (const name of PARAM_NAMES) w[name] = this.#model.params[name].value.data as FloatArray;
    return w;
  }

  /** Train/val loss with BatchNorm statistics estimated on a fixed subset of the training set. */
  #periodicEval(): EvalEvent {
    const w = this.#weights(), rows = this.#evalRows;
    const net = new EvalNet(w, this.#sizes, bnStatistics(w, this.#sizes, this.#data.train, rows));
    return {
      type: "eval",
      step: this.#step,
      train: net.loss(this.#data.train, rows),
      val: net.loss(this.#data.val),
      ...(rows ? { trainExamples: rows.length } : {}),
    };
  }

  /** Whether a snapshot is due after the step just done (the clock reads `now`). */
  #snapshotDue(now: number): boolean {
    const every = this.#snapshotEvery;
    if (every === undefined) return false;
    return "steps" in every ? this.#step % every.steps === 0 : now - this.#snapshotAt >= every.ms;
  }

  /** The state between two steps: copies of the parameters, estimated BatchNorm statistics. */
  snapshot(): RunSnapshot {
    const weights = cloneWeights(this.#weights()), rows = this.#evalRows;
    return {
      step: this.#step,
      model: this.#trained(weights, bnStatistics(weights, this.#sizes, this.#data.train, rows)),
      rngState: this.#random.getState(),
      bnExamples: rows?.length ?? this.#data.train.n,
    };
  }

  #trained(weights: Ex4Weights, bn: BnStats): TrainedModel {
    const vocab = this.#data.vocab.itos.slice();
    return { sizes: this.#sizes, dtype: this.#config.dtype, weights, bn, vocab };
  }

  /**
   * The lecture's ending: BatchNorm statistics over the whole training set, then split losses.
   * When the run was `interrupted`, statistics and losses are estimated on subsets instead, so
   * that the state can be saved at once (final.ts computes the full ones after).
   */
  finish(interrupted = false): DoneEvent {
    const { auto } = this.#model.graph.ruleCounts;
    if (this.#config.backward === "manual" && auto !== 0) {
      // installEx4Rules covers every node, so this is a bug, not a user's mistake.
      throw new Error(`a hand-written backward ran ${auto} automatic rules`);
    }
    const weights = cloneWeights(this.#weights()), data = this.#data;
    const rows = interrupted ? this.#evalRows : undefined;
    const valRows = interrupted ? spreadRows(data.val.n, this.#config.evalExamples) : undefined;
    const bn = bnStatistics(weights, this.#sizes, data.train, rows);
    const net = new EvalNet(weights, this.#sizes, bn);
    return {
      type: "done",
      step: this.#step,
      train: net.loss(data.train, rows),
      val: net.loss(data.val, valRows),
      msPerStep: this.#trainMs / Math.max(1, this.#ran),
      ruleCounts: { ...this.#model.graph.ruleCounts },
      model: this.#trained(weights, bn),
      rngState: this.#random.getState(),
      ...(interrupted ? { interrupted, estimatedOn: rows?.length ?? data.train.n } : {}),
    };
  }
}

/** `m` rows evenly spread over `n` (undefined: all of them), drawing nothing from a generator. */
function spreadRows(n: number, m: number): Int32Array | undefined {
  return m >= n ? undefined : Int32Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
}
