/**
 * makemore.py's training loop on the public API: minibatches drawn with replacement from the
 * training words, AdamW (betas 0.9 and 0.99, eps 1e-8, weight decay on every parameter), and
 * makemore's evaluation: the mean loss of 11 shuffled batches of 100 words (its `max_batches=10`
 * stops after batch index 10) of each split. At the end the loss is measured over the whole
 * splits, as the mean over every target that is not −1.
 *
 * Two graphs sharing the model's parameters: the training graph (batch 32), and an evaluation
 * graph built under noGrad that takes every batch size (100, a last smaller one, the whole
 * splits' chunks of 200): every model reads its batch size off its input on every run
 * (`idx.size(0)`), the RNNs' start state included.
 */
import * as optim from "../../ops/optim.ts";
import { type Gradients } from "../../graph/backward.ts";
import { Graph } from "../../graph/graph.ts";
import { type Node } from "../../graph/node.ts";
import { noGrad } from "../../ops/build.ts";
import { type Tensor } from "../../ops/kernels/tensor.ts";
import type { CharDataset } from "./data.ts";
import { randperm } from "./data.ts";
import type { Random } from "./config.ts";
import type { MakemoreModel } from "./models.ts";

/** How the model is trained. */
export interface TrainOptions {
  /** Words per training minibatch (default 32). */
  batchSize: number;
  /** AdamW's learning rate (default 5e-4). */
  learningRate: number;
  /** AdamW's decoupled weight decay (default 0.01). */
  weightDecay: number;
}

/** A model's loss on inputs of one batch size. */
interface Built {
  graph: Graph;
  X: Node;
  Y: Node;
  loss: Node;
}

/** Words evaluated at once when a whole split is measured (a graph keeps every activation). */
const CHUNK = 200;

/** Trains and evaluates a makemore model. */
export class Trainer {
  readonly optimizer: optim.AdamW;
  /** The training graph's loss, X and Y. */
  readonly train: Built;
  /** The parameters by dotted name, in the training graph. */
  readonly params: Record<string, Node>;
  /** The evaluation graph, built at the first evaluation; it follows every batch size. */
  private evalGraph: Built | undefined;

  constructor(
    readonly model: MakemoreModel,
    readonly trainSet: CharDataset,
    readonly testSet: CharDataset,
    readonly options: TrainOptions,
    /** Draws the minibatches and the evaluation's shuffles. */
    readonly random: Random,
  ) {
    // A first batch of the training words sets the training graph's inputs.
    const first = Array.from({ length: options.batchSize }, (_, i) => i);
    this.train = this.build(trainSet.rows(first), true);
    const params = model.parameters(this.train.graph);
    this.params = Object.fromEntries(params.map((p) => [p.name, p]));
    this.optimizer = new optim.AdamW(params, {
      lr: options.learningRate,
      weightDecay: options.weightDecay,
      betas: [0.9, 0.99],
      eps: 1e-8,
    });
  }

  /** The loss graph, built on `first` (its inputs' first values). */
  private build(first: { X: Tensor; Y: Tensor }, grad: boolean): Built {
    const graph = new Graph({ dtype: "float32" });
    const X = graph.input("X", first.X), Y = graph.input("Y", first.Y);
    const forward = () => this.model.forward(X, Y) as [Node, Node];
    const [, loss] = grad ? forward() : noGrad(forward);
    return { graph, X, Y, loss };
  }

  /** The gradients whose update is still to be applied (with the next minibatch). */
  private pending: Gradients | undefined;

  /**
   * One optimisation step on a fresh minibatch; its loss and gradients. The update is applied
   * with the next step's minibatch, in one propagation of the graph (as `fit` does): applied at
   * once, it would recompute the whole forward pass on the old minibatch for nothing. `flush`
   * applies it now.
   */
  step(): { loss: number; grads: Gradients } {
    const n = this.trainSet.length, B = this.options.batchSize;
    const picks = Array.from({ length: B }, () => Math.floor(this.random() * n));
    const { graph, loss, X, Y } = this.train;
    const feeds = this.trainSet.rows(picks);
    graph.batch(() => {
      if (this.pending) this.optimizer.step(this.pending);
      graph.set(X, feeds.X);
      graph.set(Y, feeds.Y);
    });
    this.pending = undefined;
    const value = loss.value.data[0];
    const grads = graph.backward(loss, { reuse: true });
    this.pending = grads;
    return { loss: value, grads };
  }

  /** Applies the last step's update (before the model is evaluated, saved or sampled). */
  flush(): void {
    if (this.pending === undefined) return;
    const grads = this.pending;
    this.pending = undefined;
    this.optimizer.step(grads);
  }

  /** The loss on `rows` of `dataset`, in the evaluation graph. */
  private lossOn(dataset: CharDataset, rows: number[]): { loss: number; targets: number } {
    const feeds = dataset.rows(rows);
    const b = this.evalGraph ??= this.build(feeds, false);
    b.graph.run(feeds);
    return { loss: b.loss.value.data[0], targets: countTargets(feeds.Y) };
  }

  /**
   * makemore's evaluate(model, dataset, batch_size=100, max_batches=10): the mean of the losses
   * of shuffled batches, up to and including batch index `maxBatches`.
   */
  evaluate(dataset: CharDataset, batchSize = 100, maxBatches = 10): number {
    this.flush();
    const order = randperm(dataset.length, this.random), losses: number[] = [];
    for (let i = 0; i * batchSize < order.length; i++) {
      losses.push(this.lossOn(dataset, order.slice(i * batchSize, (i + 1) * batchSize)).loss);
      if (i >= maxBatches) break;
    }
    return losses.reduce((a, b) => a + b, 0) / losses.length;
  }

  /** The loss over the whole split: the mean over every target that is not −1. */
  wholeLoss(dataset: CharDataset): number {
    this.flush();
    let sum = 0, count = 0;
    for (let from = 0; from < dataset.length; from += CHUNK) {
      const rows = Array.from(
        { length: Math.min(CHUNK, dataset.length - from) },
        (_, i) => from + i,
      );
      const { loss, targets } = this.lossOn(dataset, rows);
      sum += loss * targets;
      count += targets;
    }
    return sum / count;
  }
}

/** The targets that count (not −1). */
function countTargets(Y: Tensor): number {
  let n = 0;
  for (let i = 0; i < Y.size; i++) if (Y.data[i] !== -1) n++;
  return n;
}
