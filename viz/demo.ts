/**
 * A lecture-shaped graph to draw when no exercise graph is at hand: the exercise-1 forward pass,
 * one atomic node per line of the lecture's table, labelled with its names, on random parameters
 * and a random minibatch, and a short training-like run on it. The charts' tests and demos use
 * them until the exercises' own graphs and training stream are wired in.
 */
import { mulberry32 } from "../exercises/rng/mulberry32.ts";
import { Observable } from "../graph/deps.ts";
import type { TrainEvent } from "../exercises/train/events.ts";
import { buildEx1, type Ex1ParamName, type Ex1Params } from "../exercises/model/ex1.ts";
import type { Graph } from "../graph/graph.ts";
import type { Node } from "../graph/node.ts";
import { type Shape, sizeOf, Tensor } from "../graph/tensor.ts";

/** Sizes of the demo graph (the lecture's exercise 1–3 sizes by default). */
export interface DemoSizes {
  vocab: number;
  embd: number;
  block: number;
  hidden: number;
  batch: number;
}

/** The lecture's exercise 1–3 sizes. */
export const LECTURE_SIZES: DemoSizes = { vocab: 27, embd: 10, block: 3, hidden: 64, batch: 32 };

/** The demo graph and its loss. */
export interface DemoGraph {
  graph: Graph;
  loss: Node;
  params: Record<Ex1ParamName, Node>;
}

/**
 * The exercise-1 atomic forward pass (exercises/model/ex1.ts's `buildEx1`) on seeded random
 * values (see the module comment).
 */
export function lectureDemoGraph(sizes: DemoSizes = LECTURE_SIZES, seed = 42): DemoGraph {
  const { vocab, embd, block, hidden, batch: n } = sizes;
  const rand = mulberry32(seed);
  const normal = (shape: Shape, scale: number, shift = 0) =>
    new Tensor(
      Float32Array.from({ length: sizeOf(shape) }, () => gauss(rand) * scale + shift),
      shape,
    );
  const ints = (shape: Shape, hi: number) =>
    new Tensor(Int32Array.from({ length: sizeOf(shape) }, () => Math.floor(rand() * hi)), shape);

  // Drawn in the lecture's order (parameters, then the minibatch), so the picture never changes.
  const params: Ex1Params = {
    C: normal([vocab, embd], 1),
    W1: normal([block * embd, hidden], (5 / 3) / Math.sqrt(block * embd)),
    b1: normal([hidden], 0.1),
    W2: normal([hidden, vocab], 0.1),
    b2: normal([vocab], 0.1),
    bngain: normal([1, hidden], 0.1, 1),
    bnbias: normal([1, hidden], 0.1),
  };
  const Xb = ints([n, block], vocab);
  const Yb = ints([n], vocab);
  const model = buildEx1(params, Xb, Yb);
  return { graph: model.graph, loss: model.loss, params: model.params };
}

function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Options of `demoTraining`. */
export interface DemoTrainingOptions {
  steps: number;
  /** Learning rate (default 0.1). */
  lr?: number;
  /** Emit an eval event every this many steps (default: 10 evaluations per run). */
  evalEvery?: number;
  sizes?: DemoSizes;
  seed?: number;
}

/**
 * A training-like run on the demo graph, as the training CLI's stream of events: random
 * minibatches whose target is a fixed function of the context (so the loss falls), forward,
 * backward, SGD. Cold: each subscription runs it anew; unsubscribing stops it between steps.
 */
export function demoTraining(options: DemoTrainingOptions): Observable<TrainEvent> {
  return new Observable<TrainEvent>((sub) => {
    const sizes = options.sizes ?? LECTURE_SIZES;
    const { graph, loss, params } = lectureDemoGraph(sizes, options.seed ?? 42);
    const rand = mulberry32((options.seed ?? 42) + 1);
    const lr = options.lr ?? 0.1;
    const evalEvery = options.evalEvery ?? Math.max(1, Math.floor(options.steps / 10));
    const Xb = graph.node("Xb"), Yb = graph.node("Yb");
    const activations = Object.fromEntries(
      ["hpreact", "h", "logits"].map((l) => [l, graph.node(l)]),
    );
    // Draws a minibatch into the input buffers; the caller propagates (once per step).
    const draw = () => {
      const x = Xb.value.data, y = Yb.value.data, block = sizes.block;
      for (let i = 0; i < x.length; i++) x[i] = Math.floor(rand() * sizes.vocab);
      for (let i = 0; i < y.length; i++) y[i] = (x[i * block + block - 1] + 1) % sizes.vocab;
      graph.changed(Xb);
      graph.changed(Yb);
    };
    graph.batch(draw);
    let recent = 0;
    for (let step = 0; step < options.steps && !sub.closed; step++) {
      const t0 = performance.now();
      const grads = graph.backward(loss);
      const value = loss.value.item();
      sub.next({
        type: "step",
        step,
        totalSteps: options.steps,
        loss: value,
        lr,
        msPerStep: performance.now() - t0,
        model: { graph, params, grads, activations },
      });
      recent = step === 0 ? value : 0.9 * recent + 0.1 * value;
      if ((step + 1) % evalEvery === 0) {
        graph.batch(draw); // a batch the model has not stepped on stands in for the val split
        sub.next({ type: "eval", step, train: recent, val: loss.value.item() });
      }
      // The SGD update and the next minibatch land in one propagation: one forward per step.
      graph.batch(() => {
        for (const p of Object.values(params)) {
          const d = p.value.data, g = grads.get(p)!.data;
          for (let i = 0; i < d.length; i++) d[i] -= lr * g[i];
          graph.changed(p);
        }
        draw();
      });
    }
    sub.complete();
  });
}
