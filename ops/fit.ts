/**
 * A training loop for any graph, as an Observable: `fit({ loss, optimizer, steps, batch })`
 * emits a step event per step, periodic evaluations and, when given `evaluate`, a last `done`
 * event, in the shapes `deno task train` emits them, so the charts' trace collector
 * (viz/trace.ts: `collectTrace`, `traceInto`) and progress reporters read a custom model's run as
 * they read the lecture's. Subscribing starts the run, unsubscribing stops it between steps.
 *
 * A step: one propagation with last step's update and this step's minibatch (`batch` sets the
 * inputs), the backward pass (its buffers recycled), the step event (read the live model inside
 * the subscriber), then the update, applied with the next minibatch.
 */
import { Observable as RxObservable, type Subscriber } from "../graph/deps.ts";
import type { Observable } from "../graph/node.ts";
import { clearImmediate, setImmediate } from "node:timers";
import { NinjagradError } from "./kernels/errors.ts";
import type { Gradients } from "../graph/backward.ts";
import type { Graph, RuleCounts } from "../graph/graph.ts";
import { Node } from "../graph/node.ts";
import type { Optimizer } from "./optim.ts";
import { withProgressBar } from "./progress.ts";

/** The live model during a step: read it synchronously inside the subscriber, never keep it. */
export interface LiveModel {
  /** The training graph, with its values from this step's forward pass. */
  graph: Graph;
  /** Trainable parameters by name. */
  params: Readonly<Record<string, Node>>;
  /** This step's gradients (before the update is applied). */
  grads: Gradients;
  /** Activations worth charting, by name. */
  activations: Readonly<Record<string, Node>>;
}

/** One optimisation step finished (its update not yet applied). */
export interface StepEvent {
  /** Tells the events apart. */
  type: "step";
  /** The step's number, from 1. */
  step: number;
  /** How many steps the run has. */
  totalSteps: number;
  /** The minibatch loss. */
  loss: number;
  /** The learning rate of the update this step's gradients get. */
  lr: number;
  /** Mean milliseconds per step over the recent steps. */
  msPerStep: number;
  /** The live model. */
  model: LiveModel;
}

/** An evaluation (what `evaluate` returned), after the update of step `step`. */
export interface EvalEvent {
  /** Tells the events apart. */
  type: "eval";
  /** The steps done. */
  step: number;
  /** The training loss `evaluate` measured. */
  train: number;
  /** The validation loss `evaluate` measured. */
  val: number;
}

/** The run is over (or was stopped: `interrupted`), with a last evaluation. */
export interface FitDoneEvent {
  /** Tells the events apart. */
  type: "done";
  /** Steps done. */
  step: number;
  /** The training loss `evaluate` measured at the end. */
  train: number;
  /** The validation loss `evaluate` measured at the end. */
  val: number;
  /** Mean milliseconds per training step over the run (evaluations not included). */
  msPerStep: number;
  /** The graph's rule counters at the end. */
  ruleCounts: RuleCounts;
  /** True when the run was stopped (its abort signal) before its last step. */
  interrupted?: boolean;
}

/** Everything `fit` emits. */
export type FitEvent = StepEvent | EvalEvent | FitDoneEvent;

/** What `fit` trains, and how. */
export interface FitOptions {
  /** The loss: a single-number node of the training graph. */
  loss: Node;
  /** Updates the parameters after each backward pass. */
  optimizer: Optimizer;
  /** How many steps to run. */
  steps: number;
  /**
   * Sets step `step`'s inputs (graph.set of the minibatch), from 1; it runs inside one
   * propagation with the previous step's update. Leave it out to train on fixed inputs.
   */
  batch?: (step: number) => void;
  /**
   * Measures the model after the update of step `step` (periodic, and at the end for the `done`
   * event), as { train, val }. Without it there is no eval or done event.
   */
  evaluate?: (step: number) => { train: number; val: number };
  /** Evaluate every N steps (default 0: only at the end). */
  evalEvery?: number;
  /** The parameters by name, for the charts (default: the optimizer's, by label). */
  params?: Readonly<Record<string, Node>>;
  /** Activations to chart, by name (default: every relu, tanh, sigmoid and gelu node). */
  activations?: Readonly<Record<string, Node>>;
  /** Stops the run after the step in progress; the done event then says `interrupted`. */
  signal?: AbortSignal;
  /** Run steps for about this long before yielding to the event loop (default 50 ms). */
  chunkMs?: number;
  /**
   * Draw a progress bar on stderr while the run goes, as `deno task train` does (default: when
   * stderr is a terminal); evaluations are printed above it.
   */
  progress?: boolean;
}

/** Every backward pass recycles its buffers: the gradients live until the next step's. */
const REUSE = { reuse: true } as const;

/** The activations charted by default: every node of these ops. */
const ACTIVATIONS = new Set(["relu", "tanh", "sigmoid", "gelu"]);

/** Starts a run on subscription; see the module comment. */
export function fit(options: FitOptions): Observable<FitEvent> {
  const { loss, optimizer, steps } = options;
  if (!(loss instanceof Node)) {
    throw new NinjagradError("fit needs { loss }: the training graph's loss node");
  }
  if (typeof optimizer?.step !== "function") {
    throw new NinjagradError(
      "fit needs { optimizer }: new optim.SGD(params, { lr }) or optim.AdamW",
    );
  }
  if (loss.value.size !== 1) {
    throw new NinjagradError(
      `fit: the loss ${loss.name} is ${loss.shape.length}-D (${loss.value.size} numbers): reduce it to one with mean or sum`,
    );
  }
  if (!Number.isInteger(steps) || steps < 1) {
    throw new NinjagradError(`fit: steps must be a whole number ≥ 1, got ${steps}`);
  }
  const evalEvery = options.evalEvery ?? 0;
  if (!Number.isInteger(evalEvery) || evalEvery < 0) {
    throw new NinjagradError(`fit: evalEvery must be a whole number ≥ 0, got ${evalEvery}`);
  }
  const events = runInChunks<FitEvent>(() => new Run(options, evalEvery), options.signal);
  return options.progress ?? Deno.stderr.isTerminal() ? withProgressBar(events) : events;
}

/** A run that goes in chunks of steps, as `runInChunks` drives it. */
export interface ChunkedRun<E> {
  /** Runs steps for a while (none once `signal` is aborted); true when every step is done. */
  chunk(subscriber: Subscriber<E>, signal?: AbortSignal): boolean;
  /** The run's last event (`stopped`: it was aborted before its last step), if it has one. */
  finish(stopped: boolean): E | undefined;
}

/**
 * The Observable of a run made on subscription and run a chunk at a time, the event loop turning
 * between chunks (timers, signals, I/O); unsubscribing stops it between two chunks, an abort
 * between two steps, and then its last event says so. `deno task train` runs the same way.
 */
export function runInChunks<E>(
  make: () => ChunkedRun<E>,
  signal?: AbortSignal,
): Observable<E> {
  return new RxObservable<E>((subscriber) => {
    let run: ChunkedRun<E> | undefined;
    let timer: ReturnType<typeof setImmediate> | undefined;
    const tick = () => {
      timer = undefined;
      try {
        run ??= make();
        const finished = run.chunk(subscriber, signal);
        if (!finished && !signal?.aborted) {
          if (!subscriber.closed) timer = setImmediate(tick);
          return;
        }
        const done = run.finish(!finished);
        if (done !== undefined) subscriber.next(done);
        subscriber.complete();
      } catch (e) {
        subscriber.error(e);
      }
    };
    timer = setImmediate(tick);
    return () => {
      if (timer !== undefined) clearImmediate(timer);
    };
  });
}

/**
 * The recent time per step of a run in chunks, for progress and ETA: each chunk's time and its
 * step count are summed with a weight that decays by 0.7 a chunk, then divided. Weighted by steps,
 * not by chunks, so that one slow step (a first call that compiles, a chart's first sample) counts
 * as one step: a chunk of that one step does not stand for a whole chunk of fast ones.
 */
export class RecentRate {
  #ms = 0;
  #steps = 0;

  /** Adds a chunk: `ms` milliseconds over `steps` steps. */
  add(ms: number, steps: number): void {
    this.#ms = 0.7 * this.#ms + ms;
    this.#steps = 0.7 * this.#steps + steps;
  }

  /** Milliseconds per step, recent chunks weighted most; 0 before the first chunk. */
  get msPerStep(): number {
    return this.#steps > 0 ? this.#ms / this.#steps : 0;
  }
}

/** One run's state. */
class Run implements ChunkedRun<FitEvent> {
  readonly #options: FitOptions;
  readonly #evalEvery: number;
  readonly #graph: Graph;
  readonly #params: Readonly<Record<string, Node>>;
  readonly #activations: Readonly<Record<string, Node>>;
  /** The gradients whose update is still to be applied (with the next minibatch). */
  #pending: Gradients | undefined;
  #step = 0;
  #trainMs = 0;
  readonly #recent = new RecentRate();

  constructor(options: FitOptions, evalEvery: number) {
    this.#options = options;
    this.#evalEvery = evalEvery;
    this.#graph = options.loss.graph;
    this.#params = options.params ?? Object.fromEntries(
      options.optimizer.params.map((p) => [p.name, p]),
    );
    this.#activations = options.activations ?? Object.fromEntries(
      this.#graph.nodes.filter((n) => ACTIVATIONS.has(n.op?.name ?? "")).map((n) => [n.name, n]),
    );
  }

  /** Runs steps for about `chunkMs`; true when every step is done. */
  chunk(subscriber: Subscriber<FitEvent>): boolean {
    const { steps, signal, chunkMs = 50 } = this.#options;
    const start = performance.now();
    let clock = start, ran = 0, spent = 0;
    while (this.#step < steps && !subscriber.closed && !signal?.aborted) {
      const step = this.#step + 1;
      const grads = this.#forwardBackward(step);
      const lr = this.#options.optimizer.lr;
      subscriber.next({
        type: "step",
        step,
        totalSteps: steps,
        loss: this.#options.loss.value.data[0],
        lr,
        msPerStep: this.#recent.msPerStep || (ran > 0 ? (performance.now() - start) / ran : 0),
        model: {
          graph: this.#graph,
          params: this.#params,
          grads,
          activations: this.#activations,
        },
      });
      this.#pending = grads;
      this.#step = step;
      ran++;
      const now = performance.now();
      spent += now - clock;
      clock = now;
      if (this.#evalEvery > 0 && step % this.#evalEvery === 0 && step < steps) {
        const e = this.#evaluate();
        if (e && !subscriber.closed) subscriber.next({ type: "eval", step, ...e });
        clock = performance.now(); // evaluations are not step time
      }
      if (clock - start >= chunkMs) break;
    }
    if (ran > 0) {
      this.#trainMs += spent;
      this.#recent.add(spent, ran);
    }
    return this.#step >= steps;
  }

  /** The error `e` with the step it happened at. */
  #atStep(e: unknown, step: number): unknown {
    return e instanceof NinjagradError ? new NinjagradError(`step ${step}: ${e.message}`) : e;
  }

  /** Last step's update and this step's minibatch: one propagation (a method made once). */
  #propagate = (): void => {
    this.#applyUpdate();
    this.#options.batch?.(this.#step + 1);
  };

  /** One propagation (last update, this minibatch), then the backward pass. */
  #forwardBackward(step: number): Gradients {
    const { loss } = this.#options;
    try {
      this.#graph.batch(this.#propagate);
    } catch (e) {
      throw this.#atStep(e, step);
    }
    const value = loss.value.data[0];
    if (!Number.isFinite(value)) {
      throw new NinjagradError(
        `the loss is ${value} at step ${step}: the run diverged; try a smaller learning rate`,
      );
    }
    try {
      return this.#graph.backward(loss, REUSE);
    } catch (e) {
      throw this.#atStep(e, step);
    }
  }

  /** Applies the pending update, if any (inside the caller's propagation, or one of its own). */
  #applyUpdate(): void {
    const grads = this.#pending;
    this.#pending = undefined;
    if (grads) this.#options.optimizer.step(grads);
  }

  /** The update applied, then `evaluate`'s figures (undefined without it). */
  #evaluate(): { train: number; val: number } | undefined {
    this.#applyUpdate();
    const measured = this.#options.evaluate?.(this.#step);
    if (measured === undefined) return undefined;
    return { train: measured.train, val: measured.val };
  }

  /** Applies the last update and measures the model: the done event (none without evaluate). */
  finish(interrupted: boolean): FitDoneEvent | undefined {
    const e = this.#evaluate();
    if (e === undefined) return undefined;
    return {
      type: "done",
      step: this.#step,
      ...e,
      msPerStep: this.#trainMs / Math.max(1, this.#step),
      ruleCounts: { ...this.#graph.ruleCounts },
      ...(interrupted ? { interrupted } : {}),
    };
  }
}
