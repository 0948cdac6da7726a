/**
 * makemore part 5, "Building a WaveNet": a context of 8 characters is embedded, then fused two
 * at a time in a hierarchy (FlattenConsecutive(2) → Linear → BatchNorm1d → Tanh, three times)
 * before the output layer, built from the nn layers and trained with SGD through `fit`, on the
 * lecture's names split as the lecture splits them (CPython's shuffle, seed 42). The lecture
 * trains 200,000 steps of n_embd 24, n_hidden 128 to a val loss of 1.993; `steps` and the sizes
 * say how much of that to run.
 */
import { lastValueFrom, toArray } from "../../graph/deps.ts";
import { Graph } from "../../graph/graph.ts";
import { fit, type FitEvent } from "../../ops/fit.ts";
import { crossEntropy } from "../../ops/build.ts";
import * as nn from "../../ops/layers.ts";
import { SGD } from "../../ops/optim.ts";
import { seededRandom } from "../../ops/kernels/random.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import { buildExamples, buildVocab, type Examples, splitWords } from "../data.ts";
import { lectureShuffle } from "../rng/recipe.ts";

/** The run's sizes and length (the lecture's: block 8, n_embd 24, n_hidden 128, 200,000 steps). */
export interface WaveNetConfig {
  /** Context length: a power of two, so that pairs fuse down to one. */
  block: number;
  /** Embedding width. */
  embd: number;
  /** Hidden units of each level. */
  hidden: number;
  /** SGD steps (lr 0.1, then 0.01 for the last quarter, as the lecture's 150,000 of 200,000). */
  steps: number;
  /** Minibatch size. */
  batch: number;
  /** At most this many examples of each split are evaluated at the end (all when Infinity). */
  valExamples: number;
  /** Seeds the weights and the minibatches. */
  seed: number;
}

/** The lecture's configuration. */
export const LECTURE_WAVENET: WaveNetConfig = {
  block: 8,
  embd: 24,
  hidden: 128,
  steps: 200_000,
  batch: 32,
  valExamples: Infinity,
  seed: 42,
};

/** The model of makemore part 5, for `levels` = log2(block) fusions. */
export function waveNet(vocab: number, c: WaveNetConfig, random: () => number): nn.Sequential {
  const layers: nn.Layer[] = [new nn.Embedding(vocab, c.embd, { random })];
  let width = c.embd;
  for (let span = 1; span < c.block; span *= 2) {
    layers.push(
      new nn.FlattenConsecutive(2),
      new nn.Linear(width * 2, c.hidden, { bias: false, random }),
      new nn.BatchNorm1d(c.hidden),
      new nn.Tanh(),
    );
    width = c.hidden;
  }
  const out = new nn.Linear(c.hidden, vocab, { random });
  // "make last layer less confident": the lecture scales its weights by 0.1
  for (let i = 0; i < out.weight.size; i++) out.weight.data[i] *= 0.1;
  layers.push(out);
  return new nn.Sequential(layers);
}

/** What a run gives. */
export interface WaveNetResult {
  /** Parameters in the model. */
  parameters: number;
  /** The minibatch loss of every step. */
  losses: number[];
  /** The training split's loss at the end, BatchNorm in eval mode (its running statistics). */
  train: number;
  /** The validation split's loss, as `train`. */
  val: number;
  /** The events of the run (steps and the final evaluation), for charts. */
  events: FitEvent[];
}

/** Rows of `ex` from `from` to `to` as int32 tensors (contexts, targets). */
function rows(ex: Examples, from: number, to: number): { X: Tensor; Y: Tensor } {
  const b = ex.blockSize;
  return {
    X: new Tensor(ex.X.slice(from * b, to * b), [to - from, b]),
    Y: new Tensor(ex.Y.slice(from, to), [to - from]),
  };
}

/** Trains the WaveNet on `words` (the lecture's names) and measures the validation loss. */
export async function trainWaveNet(words: string[], c: WaveNetConfig): Promise<WaveNetResult> {
  const vocab = buildVocab(words);
  // random.seed(42); random.shuffle(words): the lecture's 80/10/10 split
  const split = splitWords(words, (arr) => {
    const shuffled = lectureShuffle(arr, 42);
    for (let i = 0; i < arr.length; i++) arr[i] = shuffled[i];
  });
  const train = buildExamples(split.train, vocab, c.block);
  const val = buildExamples(split.val, vocab, c.block);
  const random = seededRandom(c.seed);
  const model = waveNet(vocab.itos.length, c, random);

  const graph = new Graph();
  const Xb = graph.input("Xb", Tensor.zeros([c.batch, c.block], "int32"));
  const Yb = graph.input("Yb", Tensor.zeros([c.batch], "int32"));
  const loss = crossEntropy(model.forward(Xb), Yb).named("loss");
  const params = model.parameters();
  const optimizer = new SGD(params, { lr: (i) => (i < 0.75 * c.steps ? 0.1 : 0.01) });

  // ix = torch.randint(0, Xtr.shape[0], (batch_size,)); Xb, Yb = Xtr[ix], Ytr[ix]
  const batch = () => {
    const x = Xb.value.data, y = Yb.value.data;
    for (let i = 0; i < c.batch; i++) {
      const r = Math.floor(random() * train.n);
      y[i] = train.Y[r];
      for (let j = 0; j < c.block; j++) x[i * c.block + j] = train.X[r * c.block + j];
    }
    graph.changed(Xb);
    graph.changed(Yb);
  };
  // A split's loss with every layer in eval mode, in a graph of its own that shares the weights.
  const splitLoss = (ex: Examples) => {
    const { X, Y } = rows(ex, 0, Math.min(ex.n, c.valExamples));
    const g = new Graph();
    return crossEntropy(model.forward(g.input("X", X)), g.input("Y", Y)).value.item();
  };
  const evaluate = () => {
    model.eval();
    const losses = { train: splitLoss(train), val: splitLoss(val) };
    model.train();
    return losses;
  };
  const events = await lastValueFrom(
    fit({ loss, optimizer, steps: c.steps, batch, evaluate }).pipe(toArray()),
  );
  const done = events.at(-1)!;
  return {
    parameters: params.reduce((s, p) => s + p.value.size, 0),
    losses: events.flatMap((e) => (e.type === "step" ? [e.loss] : [])),
    train: done.type === "done" ? done.train : NaN,
    val: done.type === "done" ? done.val : NaN,
    events,
  };
}
