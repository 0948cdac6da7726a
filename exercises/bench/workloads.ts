/**
 * The two workloads the speed issue measures, through the project's own modules:
 * - ex1: exercises/model/ex1.ts's atomic graph (n_hidden 64, LECTURE.md's table node for node),
 *   forward on a fresh minibatch and backward with the automatic rules;
 * - ex4: exercises/model/ex4.ts's net (n_hidden 200) with exercises/rules/ex4.ts's hand-written
 *   rules on every node, one training step as exercises/train/run.ts takes it: draw a minibatch,
 *   one propagation with the last update and the new batch, the backward pass, SGD.
 * The backward passes reuse their buffers (`{ reuse: true }`), as a training loop should.
 */
import { mulberry32 } from "../rng/mulberry32.ts";
import { Graph } from "../../graph/graph.ts";
import type { Gradients } from "../../graph/backward.ts";
import { type FloatDType, Tensor } from "../../ops/kernels/tensor.ts";
import * as b from "../../ops/build.ts";
import { sgdUpdate } from "../../ops/kernels/elementwise.ts";
import { torchDefaultGenerator, TorchGenerator } from "../rng/mod.ts";
import { buildEx1, EX1_PARAMS, type Ex1Params } from "../model/ex1.ts";
import { buildEx4, PARAM_NAMES } from "../model/ex4.ts";
import { installEx4Rules } from "../rules/ex4.ts";
import { DEFAULT_CONFIG, learningRate, type TrainConfig } from "../train/config.ts";
import type { TrainData } from "../train/data.ts";
import { drawBatch, initialState, sizesOf } from "../train/run.ts";
import { createRngPlan } from "../rng/recipe.ts";

/** One benchmark case: a graph and the step that is timed. */
export interface Workload {
  graph: Graph;
  /** One training (ex4) or forward+backward (ex1) step. */
  step(): void;
  /** The loss of the last step. */
  loss(): number;
}

const BATCH = 32;
const REUSE = { reuse: true } as const;

/** The lecture's exercise-1 parameters: torch generator 2147483647, default generator 42. */
function ex1Params(nHidden: number, vocab: number): Ex1Params {
  const gen = new TorchGenerator(2147483647), bnGen = torchDefaultGenerator(42);
  const scaled = (shape: number[], s: number, plus = 0, src = gen) =>
    new Tensor(Float64Array.from(src.randn(shape, "float32"), (v) => v * s + plus), shape);
  const fanIn = 30;
  return {
    C: scaled([vocab, 10], 1),
    W1: scaled([fanIn, nHidden], 5 / 3 / Math.sqrt(fanIn)),
    b1: scaled([nHidden], 0.1),
    W2: scaled([nHidden, vocab], 0.1),
    b2: scaled([vocab], 0.1),
    bngain: scaled([1, nHidden], 0.1, 1, bnGen),
    bnbias: scaled([1, nHidden], 0.1, 0, bnGen),
  };
}

/** Exercise 1: the atomic graph, a fresh minibatch, forward and the automatic backward. */
export function ex1Workload(data: TrainData, dtype: FloatDType = "float32"): Workload {
  const vocab = data.vocab.itos.length;
  const Xb = Tensor.zeros([BATCH, 3], "int32"), Yb = Tensor.zeros([BATCH], "int32");
  const model = buildEx1(ex1Params(64, vocab), Xb, Yb, { dtype });
  const { graph, loss } = model;
  if (EX1_PARAMS.some((name) => !graph.has(name))) throw new Error("ex1 lost a parameter");
  const random = createRngPlan("seedrandom", { seed: 1 });
  const xb = model.Xb.value.data as Int32Array, yb = model.Yb.value.data as Int32Array;
  const propagate = () => {
    graph.changed(model.Xb);
    graph.changed(model.Yb);
  };
  return {
    graph,
    step() {
      drawBatch(random, data.train, xb, yb);
      graph.batch(propagate);
      graph.backward(loss, REUSE);
    },
    loss: () => loss.value.data[0],
  };
}

/** Exercise 4: one training step with the hand-written backward, as the training loop takes it. */
export function ex4Workload(
  data: TrainData,
  dtype: FloatDType = "float32",
): Workload & { grads(): Gradients | undefined } {
  const config: TrainConfig = { ...DEFAULT_CONFIG, dtype };
  const { weights, random } = initialState(config, data);
  const model = buildEx4(new Graph({ dtype }), weights, sizesOf(config, data), config.batch);
  installEx4Rules(model.graph);
  const { graph, params, Xb, Yb, loss } = model;
  const xb = Xb.value, yb = Yb.value;
  let step = 0, last: Gradients | undefined;
  // Made once, as the training loop does: a closure or options object per step is garbage.
  const propagate = () => {
    // The last update edited the parameters in place: one propagation takes it and the batch.
    for (const name of PARAM_NAMES) graph.changed(params[name]);
    graph.set(Xb, xb);
    graph.set(Yb, yb);
  };
  return {
    graph,
    grads: () => last,
    step() {
      drawBatch(random, data.train, xb.data as Int32Array, yb.data as Int32Array);
      graph.batch(propagate);
      const grads = graph.backward(loss, REUSE);
      const lr = learningRate(config, step++);
      for (const name of PARAM_NAMES) {
        sgdUpdate(params[name].value.data, grads.get(params[name])!.data, lr);
      }
      last = grads;
    },
    loss: () => loss.value.data[0],
  };
}

/**
 * A small net with every composite op (linear → batchnorm → tanh → linear → cross-entropy) on
 * 6 examples, seeded: fast enough for tests of the speed work itself.
 */
export function compositeNet(dtype: FloatDType, seed: number, bias1d = false) {
  const rand = seeded(seed);
  const random = (shape: number[]) => {
    const x = Tensor.zeros(shape, dtype);
    for (let i = 0; i < x.size; i++) x.data[i] = rand() * 2 - 1;
    return x;
  };
  const g = new Graph({ dtype });
  const x = g.input("x", random([6, 5]));
  const w1 = g.param("w1", random([5, 7]));
  const b1 = g.param("b1", random(bias1d ? [7] : [1, 7]));
  const gain = g.param("gain", random([1, 7]));
  const beta = g.param("beta", random(bias1d ? [7] : [1, 7]));
  const w2 = g.param("w2", random([7, 4]));
  const b2 = g.param("b2", random([4]));
  const y = g.input("y", new Tensor(Int32Array.from([0, 3, 1, 1, 2, 3]), [6]));
  const pre = b.linear(x, w1, b1).named("pre");
  const bn = b.batchNorm(pre, gain, beta).named("bn");
  const logits = b.linear(b.tanh(bn), w2, b2).named("logits");
  const loss = b.crossEntropy(logits, y).named("loss");
  const step = () => {
    const grads = g.backward(loss, { reuse: true });
    const w = w1.value.data, d = grads.get(w1)!.data;
    for (let i = 0; i < w.length; i++) w[i] -= 0.01 * d[i];
    g.changed(w1);
  };
  return { graph: g, loss, composites: [pre, bn, logits, loss], step, random };
}

/** The shared seeded generator, under the name the benchmarks and kernel tests use. */
export const seeded = mulberry32;
