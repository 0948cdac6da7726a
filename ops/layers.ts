/**
 * Layers in the style of the lecture series' "torchified" classes (makemore parts 3 and 5):
 * Linear, BatchNorm1d, Tanh, ReLU, Embedding, Flatten, FlattenConsecutive, LayerNorm, Dropout and
 * Sequential. A layer holds its parameters' values; `forward(x)` builds its nodes into x's graph
 * (the parameters become `graph.param` leaves there, labelled `0.weight`, `0.bias`, … by position
 * in a Sequential), and `parameters()` returns those leaves for an optimizer. The graph is then
 * run again and again with new inputs, as every graph is: build once, train many steps.
 *
 * A layer may be built into several graphs (a training graph and an evaluation graph with
 * another batch size or in `eval()` mode): the graphs share the parameters' tensors when their
 * dtypes agree, so what an optimizer writes into one is in the other; call
 * `graph.recompute()` on the other before reading it.
 */
import { NinjagradError } from "./kernels/errors.ts";
import { type FloatDType, formatShape, type Shape, Tensor } from "./kernels/tensor.ts";
import { normal, type Random } from "./kernels/random.ts";
import type { Node } from "../graph/node.ts";
import * as b from "./build.ts";
import { Module } from "./module.ts";

export { Module, Parameter } from "./module.ts";

/** Options of the layers that draw random numbers (initial weights, dropout's seed). */
export interface RandomOptions {
  /** Uniform numbers in [0, 1) (default Math.random): `seededRandom(42)` for reproducible runs. */
  random?: Random;
}

/** A float64 tensor of standard normal numbers times `scale` (torch.randn(shape) · scale). */
function randn(shape: Shape, random: Random, scale = 1): Tensor {
  const t = Tensor.zeros(shape, "float64");
  for (let i = 0; i < t.size; i++) t.data[i] = normal(random) * scale;
  return t;
}

/** A float64 tensor of uniform numbers in [−bound, bound) (torch's nn.init.uniform_). */
function uniform(shape: Shape, random: Random, bound: number): Tensor {
  const t = Tensor.zeros(shape, "float64");
  for (let i = 0; i < t.size; i++) t.data[i] = (2 * random() - 1) * bound;
  return t;
}

/** The names torch.nn's norm layers give the lecture's gamma and beta. */
const NORM_NAMES = { gamma: { name: "weight" }, beta: { name: "bias" } };

/** What every lecture layer is: a module of one input node and one output node. */
export abstract class Layer extends Module {
  /** Builds the layer's nodes on `x`, in x's graph, and returns the output node. */
  abstract override forward(x: Node): Node;
}

/** Throws unless x's last axis is `want`, naming the layer. */
function checkLastAxis(layer: Layer, x: Node, want: number): void {
  const have = x.shape[x.shape.length - 1];
  if (x.shape.length < 2 || have !== want) {
    throw new NinjagradError(
      `${layer.describe()}: ${x.name} is ${
        formatShape(x.shape)
      }, but the layer takes (batch, …, ${want}): check the sizes of the layer before it`,
    );
  }
}

/** Options of Linear. */
export interface LinearOptions extends RandomOptions {
  /** Whether the layer adds a bias (default true). */
  bias?: boolean;
  /**
   * The initial weights: "lecture" (the default), weight randn/√fanIn and bias zeros, as the
   * lecture series' Linear; "pytorch", weight and bias uniform in ±1/√fanIn, as torch.nn.Linear.
   */
  init?: "lecture" | "pytorch";
}

/**
 * x @ weight + bias; weight (fanIn, fanOut) drawn as randn / √fanIn, bias zeros (or PyTorch's
 * uniform ±1/√fanIn with `{ init: "pytorch" }`). The weight is stored (fanIn, fanOut), the
 * transpose of torch.nn.Linear's (out_features, in_features).
 */
export class Linear extends Layer {
  /** Inputs per example. */
  readonly fanIn: number;
  /** Outputs per example. */
  readonly fanOut: number;

  /** A layer from fanIn features to fanOut, with a bias unless `{ bias: false }`. */
  constructor(fanIn: number, fanOut: number, options: LinearOptions = {}) {
    super();
    this.fanIn = fanIn;
    this.fanOut = fanOut;
    const random = options.random ?? Math.random, init = options.init ?? "lecture";
    if (init !== "lecture" && init !== "pytorch") {
      throw new NinjagradError(`Linear's init is "lecture" or "pytorch", got ${String(init)}`);
    }
    const bound = fanIn ** -0.5;
    this.values.weight = init === "pytorch"
      ? uniform([fanIn, fanOut], random, bound)
      : randn([fanIn, fanOut], random, bound);
    if (options.bias ?? true) {
      this.values.bias = init === "pytorch"
        ? uniform([fanOut], random, bound)
        : Tensor.zeros([fanOut], "float64");
    }
  }

  /** The weight (fanIn, fanOut). */
  get weight(): Tensor {
    return this.values.weight;
  }

  /** torch.nn.Linear keeps its weight as (fanOut, fanIn). */
  protected override torchLayout(): Record<string, { transpose: boolean }> {
    return { weight: { transpose: true } };
  }

  /** The bias (fanOut,), if the layer has one. */
  get bias(): Tensor | undefined {
    return this.values.bias;
  }

  /** The layer as a person wrote it, for messages. */
  override describe(): string {
    return `Linear(${this.fanIn}, ${this.fanOut})`;
  }

  /** x @ weight + bias on the last axis of x (any rank of 2 or more). */
  forward(x: Node): Node {
    checkLastAxis(this, x, this.fanIn);
    const { weight, bias } = this.bind(x.graph);
    // A batch of sequences (B, T, fanIn) is B·T rows of one matrix product.
    const rows = x.shape.length === 2 ? x : b.reshape(x, [-1, this.fanIn]);
    const y = bias ? b.linear(rows, weight, bias) : b.matmul(rows, weight);
    return this.output(
      // Back into x's leading axes as they are on each run (T grows when sampling).
      x.shape.length === 2 ? y : b.reshapeLike(y, x, x.shape.length - 1),
      "linear",
    );
  }
}

/** Options of BatchNorm1d. */
export interface BatchNormOptions {
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** How far each training forward moves the running statistics (default 0.1). */
  momentum?: number;
}

/**
 * The lecture's BatchNorm1d: in training, each feature is normalised by the batch's mean and
 * (unbiased, as the lecture's `x.var`) variance over the batch (and over the time axis of a
 * (B, T, C) input), then scaled by gamma and shifted by beta; every training forward moves the
 * running mean and variance towards the batch's by `momentum`. In evaluation mode the running
 * statistics are used instead.
 */
export class BatchNorm1d extends Layer {
  /** Features. */
  readonly dim: number;
  /** See BatchNormOptions. */
  readonly eps: number;
  /** See BatchNormOptions. */
  readonly momentum: number;
  /** The running mean (dim,); float64 until the layer is first built, then the graph's dtype. */
  runningMean: Tensor;
  /** The running variance (dim,), as runningMean. */
  runningVar: Tensor;
  /** How many training forwards moved the running statistics (PyTorch's num_batches_tracked). */
  readonly numBatchesTracked: Tensor = Tensor.zeros([], "int32");
  private statsBound = false;

  /** A layer over `dim` features. */
  constructor(dim: number, options: BatchNormOptions = {}) {
    super();
    this.dim = dim;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.values.gamma = Tensor.full([dim], 1, "float64");
    this.values.beta = Tensor.zeros([dim], "float64");
    this.runningMean = Tensor.zeros([dim], "float64");
    this.runningVar = Tensor.full([dim], 1, "float64");
  }

  /** torch.nn.BatchNorm1d names gamma and beta `weight` and `bias`. */
  protected override torchLayout(): Record<string, { name: string }> {
    return NORM_NAMES;
  }

  /** torch.nn.BatchNorm1d also counts its training batches. */
  protected override torchBuffers(): [string, Tensor][] {
    return [["num_batches_tracked", this.numBatchesTracked]];
  }

  /** The running statistics under PyTorch's names, saved with the parameters. */
  protected override buffers(): [string, Tensor][] {
    return [["running_mean", this.runningMean], ["running_var", this.runningVar]];
  }

  /** The scale (dim,), ones at first. */
  get gamma(): Tensor {
    return this.values.gamma;
  }

  /** The shift (dim,), zeros at first. */
  get beta(): Tensor {
    return this.values.beta;
  }

  /** The layer as a person wrote it, for messages. */
  override describe(): string {
    return `BatchNorm1d(${this.dim})`;
  }

  /** Normalises x (batch, dim) or (batch, time, dim) feature by feature. */
  forward(x: Node): Node {
    checkLastAxis(this, x, this.dim);
    if (x.shape.length > 3) {
      throw new NinjagradError(
        `${this.describe()} takes (batch, ${this.dim}) or (batch, time, ${this.dim}), got ${x.name} ${
          formatShape(x.shape)
        }`,
      );
    }
    const graph = x.graph, { gamma, beta } = this.bind(graph);
    this.statsIn(graph.dtype);
    if (!this.training) {
      const mean = graph.constant(this.runningMean);
      const std = b.sqrt(b.add(graph.constant(this.runningVar), this.eps));
      return this.output(b.add(b.mul(gamma, b.div(b.sub(x, mean), std)), beta), "batchnorm");
    }
    // Over the batch and the time axis: B·T rows of one batch.
    const rows = x.shape.length === 2 ? x : b.reshape(x, [-1, this.dim]);
    const out = b.batchNorm(rows, gamma, beta, this.eps);
    // Every forward of the node (each training step's) moves the running statistics.
    out.value$.subscribe(() => this.track(out.saved as Record<string, Tensor>));
    return this.output(
      x.shape.length === 2 ? out : b.reshapeLike(out, x, x.shape.length - 1),
      "batchnorm",
    );
  }

  /**
   * The running statistics in the dtype of the first graph built into, once: graphs of that
   * dtype share them (a graph of another dtype holds a copy, made when it is built).
   */
  private statsIn(dtype: FloatDType): void {
    if (this.statsBound) return;
    this.statsBound = true;
    if (this.runningMean.dtype === dtype) return;
    this.runningMean = this.runningMean.clone(dtype);
    this.runningVar = this.runningVar.clone(dtype);
  }

  /** running = (1 − momentum)·running + momentum·batch, as the lecture's `torch.no_grad()` block. */
  private track({ bnmeani, bnvar }: Record<string, Tensor>): void {
    this.numBatchesTracked.data[0]++;
    const m = this.momentum, mean = this.runningMean.data, v = this.runningVar.data;
    for (let i = 0; i < this.dim; i++) {
      mean[i] = (1 - m) * mean[i] + m * bnmeani.data[i];
      v[i] = (1 - m) * v[i] + m * bnvar.data[i];
    }
  }
}

/** tanh, as a layer. */
export class Tanh extends Layer {
  /** tanh(x) */
  forward(x: Node): Node {
    return this.output(b.tanh(x), "tanh");
  }
}

/** relu, as a layer. */
export class ReLU extends Layer {
  /** max(x, 0) */
  forward(x: Node): Node {
    return this.output(b.relu(x), "relu");
  }
}

/** A table of `count` vectors of `dim` numbers, looked up by int32 indices (randn at first). */
export class Embedding extends Layer {
  /** Rows of the table (the vocabulary's size). */
  readonly count: number;
  /** Numbers per row. */
  readonly dim: number;

  /** A table of `count` rows of `dim`. */
  constructor(count: number, dim: number, options: RandomOptions = {}) {
    super();
    this.count = count;
    this.dim = dim;
    this.values.weight = randn([count, dim], options.random ?? Math.random);
  }

  /** The table (count, dim). */
  get weight(): Tensor {
    return this.values.weight;
  }

  /** The layer as a person wrote it, for messages. */
  override describe(): string {
    return `Embedding(${this.count}, ${this.dim})`;
  }

  /** weight[idx]: idx (int32, any shape) gives idx's shape plus (dim,). */
  forward(idx: Node): Node {
    return this.output(b.embedding(this.bind(idx.graph).weight, idx), "embedding");
  }
}

/** (batch, …) → (batch, everything else), as the lecture's `x.view(x.shape[0], -1)`. */
export class Flatten extends Layer {
  /** The flattened node. */
  forward(x: Node): Node {
    const rest = x.shape.slice(1).reduce((p, d) => p * d, 1);
    return this.output(b.reshape(x, [-1, rest]), "flatten");
  }
}

/**
 * makemore part 5's FlattenConsecutive(n): (B, T, C) → (B, T/n, C·n), n consecutive positions
 * side by side; a time axis of 1 is dropped, (B, C·n).
 */
export class FlattenConsecutive extends Layer {
  /** How many consecutive positions become one. */
  readonly n: number;

  /** Joins `n` consecutive positions. */
  constructor(n: number) {
    super();
    this.n = n;
  }

  /** The layer as a person wrote it, for messages. */
  override describe(): string {
    return `FlattenConsecutive(${this.n})`;
  }

  /** The reshaped node. */
  forward(x: Node): Node {
    const [_, t, c] = x.shape;
    if (x.shape.length !== 3 || t % this.n !== 0) {
      throw new NinjagradError(
        `${this.describe()} takes (batch, time, channels) with time a multiple of ${this.n}, got ${x.name} ${
          formatShape(x.shape)
        }`,
      );
    }
    const to = t / this.n === 1 ? [-1, c * this.n] : [-1, t / this.n, c * this.n];
    return this.output(b.reshape(x, to), "flatten");
  }
}

/** Layer normalisation over the last axis (`dim` features), with gamma and beta. */
export class LayerNorm extends Layer {
  /** Features. */
  readonly dim: number;
  /** Added to the variance before its square root (default 1e-5). */
  readonly eps: number;

  /** A layer over `dim` features. */
  constructor(dim: number, options: { eps?: number } = {}) {
    super();
    this.dim = dim;
    this.eps = options.eps ?? 1e-5;
    this.values.gamma = Tensor.full([dim], 1, "float64");
    this.values.beta = Tensor.zeros([dim], "float64");
  }

  /** The layer as a person wrote it, for messages. */
  override describe(): string {
    return `LayerNorm(${this.dim})`;
  }

  /** torch.nn.LayerNorm names gamma and beta `weight` and `bias`. */
  protected override torchLayout(): Record<string, { name: string }> {
    return NORM_NAMES;
  }

  /** Normalises each row of x's last axis. */
  forward(x: Node): Node {
    checkLastAxis(this, x, this.dim);
    const { gamma, beta } = this.bind(x.graph);
    return this.output(b.layerNorm(x, gamma, beta, this.eps), "layernorm");
  }
}

/** Options of Dropout. */
export interface DropoutLayerOptions extends RandomOptions {
  /** Seeds the masks (default: drawn from `random`). */
  seed?: number;
}

/** Dropout as a layer: drops in training mode (a new mask every step), passes through in eval. */
export class Dropout extends Layer {
  /** The probability of zeroing an element. */
  readonly p: number;
  /** Seeds the masks. */
  readonly seed: number;

  /** Zeroes each element with probability `p` (default 0.5) in training. */
  constructor(p = 0.5, options: DropoutLayerOptions = {}) {
    super();
    this.p = p;
    this.seed = options.seed ?? Math.floor((options.random ?? Math.random)() * 2 ** 32);
  }

  /** The layer as a person wrote it, for messages. */
  override describe(): string {
    return `Dropout(${this.p})`;
  }

  /** dropout(x) in training, x itself in evaluation. */
  forward(x: Node): Node {
    if (!this.training) return this.out = x; // x itself: not relabelled as this layer's
    return this.output(b.dropout(x, this.p, { training: true, seed: this.seed }), "dropout");
  }
}

/**
 * Modules applied one after the other; as PyTorch's nn.Sequential, its children are named by
 * position, so parameters are labelled `0.weight`, `1.bias`, … (under the Sequential's own name
 * when it has one, or its property name inside a module: `mlp.0.weight`).
 */
export class Sequential extends Layer {
  /** The layers, in order. */
  readonly layers: readonly Module[];

  /** Chains `layers`; each is named by its position (prefixed with `name`). */
  constructor(layers: readonly Module[], options: { name?: string } = {}) {
    super();
    this.layers = layers;
    this.name = options.name;
    layers.forEach((
      layer,
      i,
    ) => (layer.name = this.name === undefined ? String(i) : `${this.name}.${i}`));
  }

  /** The children, named by position ("0", "1", …), as PyTorch's. */
  protected override members(): [string, Module][] {
    return this.layers.map((layer, i) => [String(i), layer]);
  }

  /** The layer as a person wrote it, for messages. */
  override describe(): string {
    return `Sequential(${this.layers.map((l) => l.describe()).join(", ")})`;
  }

  /** Every layer's forward in turn. */
  forward(x: Node): Node {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    this.out = h;
    return h;
  }
}
