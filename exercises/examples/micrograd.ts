/**
 * micrograd's two demos, in this engine: the neuron of the lecture "The spelled-out intro to
 * neural networks and backpropagation" (o = tanh(x1·w1 + x2·w2 + b), its gradients by hand in the
 * lecture), and the moons classifier of micrograd's demo notebook: an MLP of two hidden layers of
 * 16 ReLU units, trained with the max-margin loss and L2 regularisation, 100 full-batch SGD steps
 * with the learning rate going from 1.0 to 0.1.
 */
import { lastValueFrom, toArray } from "../../graph/deps.ts";
import { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";
import { fit, type FitEvent } from "../../ops/fit.ts";
import { add, mean, mul, relu, sub, sum, tanh } from "../../ops/build.ts";
import * as nn from "../../ops/layers.ts";
import { SGD } from "../../ops/optim.ts";
import { normal, type Random, seededRandom } from "../../ops/kernels/random.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";

/** The neuron's gradients, by input name, after `o.backward()`. */
export function neuron(): Record<string, number> {
  const graph = new Graph({ dtype: "float64" });
  const scalar = (label: string, v: number) => graph.param(label, Tensor.scalar(v, "float64"));
  // inputs x1, x2; weights w1, w2; the bias b, chosen so that n = 0.8814 and o = 0.7071
  const x1 = scalar("x1", 2), x2 = scalar("x2", 0);
  const w1 = scalar("w1", -3), w2 = scalar("w2", 1);
  const b = scalar("b", 6.8813735870195432);
  const x1w1 = mul(x1, w1).named("x1*w1"), x2w2 = mul(x2, w2).named("x2*w2");
  const n = add(add(x1w1, x2w2).named("x1*w1 + x2*w2"), b).named("n");
  const o = tanh(n).named("o");
  const grads = graph.backward(o);
  const out: Record<string, number> = { o: o.value.item() };
  for (const node of [x1, x2, w1, w2, b, n]) out[node.label!] = grads.get(node)!.item();
  return out;
}

/** sklearn's make_moons: two interleaving half circles with Gaussian noise; labels −1 and 1. */
export function moons(n: number, noise: number, random: Random): { X: Tensor; y: Tensor } {
  const X = Tensor.zeros([n, 2], "float64"), y = Tensor.zeros([n, 1], "float64");
  const outer = Math.floor(n / 2);
  for (let i = 0; i < n; i++) {
    const inner = i >= outer, k = inner ? i - outer : i, count = inner ? n - outer : outer;
    const t = (Math.PI * k) / Math.max(1, count - 1);
    X.data[2 * i] = (inner ? 1 - Math.cos(t) : Math.cos(t)) + noise * normal(random);
    X.data[2 * i + 1] = (inner ? 0.5 - Math.sin(t) : Math.sin(t)) + noise * normal(random);
    y.data[i] = inner ? 1 : -1;
  }
  return { X, y };
}

/** What the moons run gives: the loss of every step and the final accuracy. */
export interface MoonsResult {
  /** The loss at each step. */
  losses: number[];
  /** The share of points classified right after training. */
  accuracy: number;
  /** Every event of the run, for charts. */
  events: FitEvent[];
}

/** micrograd's demo: MLP(2, [16, 16, 1]), max-margin loss + 1e-4·Σp², SGD 1.0 → 0.1. */
export async function moonsClassifier(
  options: { steps?: number; points?: number; seed?: number } = {},
): Promise<MoonsResult> {
  const { steps = 100, points = 100, seed = 1337 } = options;
  const random = seededRandom(seed);
  const data = moons(points, 0.1, random);
  const graph = new Graph({ dtype: "float64" });
  const X = graph.input("X", data.X), y = graph.input("y", data.y);
  const model = new nn.Sequential([
    new nn.Linear(2, 16, { random }),
    new nn.ReLU(),
    new nn.Linear(16, 16, { random }),
    new nn.ReLU(),
    new nn.Linear(16, 1, { random }),
  ]);
  const scores = model.forward(X).named("scores");
  // svm "max-margin" loss: relu(1 − yᵢ·scoreᵢ), averaged
  const dataLoss = mean(relu(sub(1, mul(y, scores)))).named("data_loss");
  // L2 regularisation: alpha · Σ p²
  const params = model.parameters();
  const squares = params.map((p) => sum(mul(p, p)));
  const reg = mul(1e-4, squares.reduce((a, b) => add(a, b))).named("reg_loss");
  const loss = add(dataLoss, reg).named("loss");
  const optimizer = new SGD(params, { lr: (k) => 1.0 - (0.9 * k) / steps });
  const events = await lastValueFrom(fit({ loss, optimizer, steps }).pipe(toArray()));
  const losses = events.flatMap((e) => (e.type === "step" ? [e.loss] : []));
  return { losses, accuracy: accuracy(scores, y), events };
}

/** The share of points whose score has the label's sign. */
function accuracy(scores: Node, y: Node): number {
  let right = 0;
  for (let i = 0; i < y.value.size; i++) {
    right += +(scores.value.data[i] > 0 === y.value.data[i] > 0);
  }
  return right / y.value.size;
}
