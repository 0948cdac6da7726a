/**
 * Optimizers, as torch.optim's: SGD (momentum, weight decay) and AdamW. They step parameter
 * leaves in place with the gradients of a backward pass, then tell each graph once, in one
 * propagation (`graph.batch` around `graph.changed` of every parameter), so that a step costs
 * one forward pass however many parameters it touched. Wrap the step and the next minibatch's
 * `graph.set` in one `graph.batch` of your own and both land in that same propagation.
 */
import { NinjagradError } from "./kernels/errors.ts";
import { Tensor, type TensorData } from "./kernels/tensor.ts";
import { adamwUpdate, sgdMomentumUpdate } from "./kernels/optim.ts";
import type { Gradients } from "../graph/backward.ts";
import type { Graph } from "../graph/graph.ts";
import { Node } from "../graph/node.ts";

/** A learning rate per step (counted from 0), as `(i) => i < 150000 ? 0.1 : 0.01`. */
export type Schedule = (step: number) => number;

/** What every optimizer offers. */
export interface Optimizer {
  /** The parameter leaves it updates. */
  readonly params: readonly Node[];
  /** Steps taken so far. */
  readonly steps: number;
  /** The learning rate the next step uses (the schedule's value at `steps`). */
  readonly lr: number;
  /** Updates every parameter that has a gradient in `grads`, then notifies its graph once. */
  step(grads: Gradients): void;
}

/** Checks the parameters: float leaves of a graph, each once. */
function checkParams(what: string, params: readonly Node[]): readonly Node[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new NinjagradError(
      `${what} needs a non-empty array of parameter nodes, as ${what}(model.parameters(), …)`,
    );
  }
  params.forEach((p, i) => {
    if (!(p instanceof Node)) {
      throw new NinjagradError(
        `${what}: params[${i}] is not a node: pass graph.param(...) leaves or model.parameters()`,
      );
    }
    if (p.kind === "op" || p.kind === "constant" || p.value.dtype === "int32") {
      throw new NinjagradError(
        `${what}: params[${i}] (${p.name}) is ${
          p.kind === "op"
            ? `computed by ${p.op!.name}`
            : p.kind === "constant"
            ? "a constant"
            : `an int32 ${p.kind}`
        }: an optimizer updates float leaves, made with graph.param`,
      );
    }
    if (params.indexOf(p) !== i) {
      throw new NinjagradError(`${what}: ${p.name} is given twice: give each parameter once`);
    }
  });
  return [...params];
}

/** Checks a hyperparameter: a finite number of at least `min`. */
function checkNumber(what: string, name: string, x: number, min: number): number {
  if (!(typeof x === "number" && Number.isFinite(x) && x >= min)) {
    throw new NinjagradError(`${what}: ${name} must be a number ≥ ${min}, got ${x}`);
  }
  return x;
}

/** The parts every optimizer shares: parameters, learning rate schedule, step counting. */
abstract class Base implements Optimizer {
  readonly params: readonly Node[];
  #steps = 0;
  readonly #lr: number | Schedule;
  readonly #graphs: Graph[];
  readonly #name: string;

  constructor(name: string, params: readonly Node[], lr: number | Schedule) {
    this.#name = name;
    this.params = checkParams(name, params);
    if (typeof lr !== "function") checkNumber(name, "lr", lr, 0);
    this.#lr = lr;
    this.#graphs = [...new Set(this.params.map((p) => p.graph))];
  }

  get steps(): number {
    return this.#steps;
  }

  get lr(): number {
    const lr = typeof this.#lr === "function" ? this.#lr(this.#steps) : this.#lr;
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new NinjagradError(
        `${this.#name}: the learning rate schedule gave ${lr} at step ${this.#steps}: return a number ≥ 0`,
      );
    }
    return lr;
  }

  step(grads: Gradients): void {
    this.#grads = grads;
    this.#rate = this.lr;
    try {
      for (const graph of this.#graphs) {
        this.#graph = graph;
        graph.batch(this.#updateGraph);
      }
    } finally {
      this.#grads = this.#graph = undefined;
    }
    this.#steps++;
  }

  // What `#updateGraph` reads: set by `step` (a method made once, so a step makes no closure).
  #grads: Gradients | undefined;
  #graph: Graph | undefined;
  #rate = 0;

  /** Updates the parameters of one graph that have a gradient, and marks them changed. */
  #updateGraph = (): void => {
    const graph = this.#graph!, grads = this.#grads!;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      if (p.graph !== graph) continue;
      const g = grads.get(p);
      if (g === undefined) continue; // no gradient reached it: torch skips a None grad too
      this.update(i, p.value.data, g.data, this.#rate);
      graph.changed(p);
    }
  };

  /** Updates parameter i's values `p` in place with its gradient `g`. */
  protected abstract update(i: number, p: TensorData, g: TensorData, lr: number): void;

  /**
   * A buffer like parameter i's values, zeros (a momentum or a moment), in the kernels' memory
   * where it is big enough, so that the update's kernel uses it where it lies.
   */
  protected zerosLike(i: number): TensorData {
    const { shape, dtype } = this.params[i].value;
    return Tensor.owned(shape, dtype).data;
  }
}

/** Options of SGD. */
export interface SGDOptions {
  /** The learning rate, or a schedule of it (default 0.1, the lecture's). */
  lr?: number | Schedule;
  /** Momentum factor (default 0: plain SGD, p −= lr·g). */
  momentum?: number;
  /** L2 penalty added to the gradient, g + weightDecay·p (default 0). */
  weightDecay?: number;
}

/**
 * torch.optim.SGD: d = g + weightDecay·p; with momentum, buf = momentum·buf + d (d on the first
 * step) and d = buf; then p −= lr·d.
 */
export class SGD extends Base {
  /** See SGDOptions. */
  readonly momentum: number;
  /** See SGDOptions. */
  readonly weightDecay: number;
  readonly #buffers: (TensorData | undefined)[];

  /** SGD over `params` (graph.param leaves, or a layer's `parameters()`). */
  constructor(params: readonly Node[], options: SGDOptions = {}) {
    super("SGD", params, options.lr ?? 0.1);
    this.momentum = checkNumber("SGD", "momentum", options.momentum ?? 0, 0);
    this.weightDecay = checkNumber("SGD", "weightDecay", options.weightDecay ?? 0, 0);
    this.#buffers = this.params.map(() => undefined);
  }

  /** One SGD update of parameter i, in place. */
  protected update(i: number, p: TensorData, g: TensorData, lr: number): void {
    let buf = this.#buffers[i];
    const first = buf === undefined;
    if (this.momentum !== 0 && buf === undefined) buf = this.#buffers[i] = this.zerosLike(i);
    sgdMomentumUpdate(
      p,
      g,
      this.momentum !== 0 ? buf : undefined,
      first,
      lr,
      this.momentum,
      this.weightDecay,
    );
  }
}

/** Options of AdamW. */
export interface AdamWOptions {
  /** The learning rate, or a schedule of it (default 1e-3, as PyTorch). */
  lr?: number | Schedule;
  /** Decay rates of the first and second moments (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the second moment's root (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay, p ·= 1 − lr·weightDecay each step (default 0.01, as PyTorch). */
  weightDecay?: number;
}

/** torch.optim.AdamW: Adam's moments with bias correction, and decoupled weight decay. */
export class AdamW extends Base {
  /** See AdamWOptions. */
  readonly betas: readonly [number, number];
  /** See AdamWOptions. */
  readonly eps: number;
  /** See AdamWOptions. */
  readonly weightDecay: number;
  readonly #m: (TensorData | undefined)[];
  readonly #v: (TensorData | undefined)[];
  readonly #t: number[];

  /** AdamW over `params` (graph.param leaves, or a layer's `parameters()`). */
  constructor(params: readonly Node[], options: AdamWOptions = {}) {
    super("AdamW", params, options.lr ?? 1e-3);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    for (const [name, beta] of [["betas[0]", b1], ["betas[1]", b2]] as const) {
      if (!(beta >= 0 && beta < 1)) {
        throw new NinjagradError(`AdamW: ${name} must be in [0, 1), got ${beta}`);
      }
    }
    this.betas = [b1, b2];
    this.eps = checkNumber("AdamW", "eps", options.eps ?? 1e-8, 0);
    this.weightDecay = checkNumber("AdamW", "weightDecay", options.weightDecay ?? 1e-2, 0);
    this.#m = this.params.map(() => undefined);
    this.#v = this.params.map(() => undefined);
    this.#t = this.params.map(() => 0);
  }

  /** One AdamW update of parameter i, in place. */
  protected update(i: number, p: TensorData, g: TensorData, lr: number): void {
    const m = this.#m[i] ??= this.zerosLike(i), v = this.#v[i] ??= this.zerosLike(i);
    // Each parameter counts its own steps, as PyTorch's per-parameter `step` state does.
    const t = ++this.#t[i];
    adamwUpdate(p, g, m, v, t, lr, this.betas[0], this.betas[1], this.eps, this.weightDecay);
  }
}
