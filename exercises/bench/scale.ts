/**
 * The workloads of `deno task bench --scale`, graphs a user writes rather than the lecture's:
 * - chain n: `sum(tanh(a @ b))` for a, b n × n float32 parameters, forward and the automatic
 *   backward (dA and dB): 3 products of n³ multiply-adds;
 * - mlp: an MLP on a batch of 512, two hidden layers of 1024 (x (512, 1024) → x @ W + b → tanh →
 *   @ W + b → tanh → @ W + b to 10 classes → cross-entropy), forward, the automatic backward and
 *   an SGD update of its six parameters: 8 products, about 2.7 billion multiply-adds.
 * tests/side_by_side.py builds the same two in PyTorch.
 */
import { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import { sgdUpdate } from "../../ops/kernels/elementwise.ts";
import * as b from "../../ops/build.ts";
import { seeded } from "./workloads.ts";

/** A scale case: its name, its floating-point operations per step, and the step. */
export interface ScaleWorkload {
  name: string;
  /** Multiply-adds of the matrix products, times two, per step. */
  flops: number;
  step(): void;
  loss(): number;
}

const REUSE = { reuse: true } as const;

function uniform(shape: number[], rand: () => number, scale: number): Tensor {
  const x = Tensor.zeros(shape, "float32");
  for (let i = 0; i < x.size; i++) x.data[i] = (rand() * 2 - 1) * scale;
  return x;
}

/** `sum(tanh(a @ b))` for n × n float32 a and b: forward and backward. */
export function chainWorkload(n: number): ScaleWorkload {
  const rand = seeded(n);
  const graph = new Graph({ dtype: "float32" });
  // Entries of ±1/√n keep a @ b's entries near 1, where tanh is neither flat nor linear.
  const a = graph.param("a", uniform([n, n], rand, 1));
  const w = graph.param("b", uniform([n, n], rand, 1 / Math.sqrt(n)));
  const loss = b.sum(b.tanh(b.matmul(a, w)));
  return {
    name: `chain ${n}`,
    flops: 6 * n ** 3,
    step() {
      // A new forward pass from the same leaves, then dA and dB.
      graph.changed(a);
      graph.backward(loss, REUSE);
    },
    loss: () => loss.value.data[0],
  };
}

/** The MLP: batch 512, hidden 1024, 10 classes; forward, backward, SGD. */
export function mlpWorkload(batch = 512, hidden = 1024, classes = 10): ScaleWorkload {
  const rand = seeded(7);
  const graph = new Graph({ dtype: "float32" });
  // The data is a constant: the backward computes no gradient for it (nor does PyTorch's).
  const x = graph.constant(uniform([batch, hidden], rand, 1), "x");
  const targets = new Int32Array(batch);
  for (let i = 0; i < batch; i++) targets[i] = Math.floor(rand() * classes);
  const y = graph.input("y", new Tensor(targets, [batch]));
  const params: Node[] = [];
  const layer = (input: Node, from: number, to: number, name: string) => {
    const w = graph.param(`W${name}`, uniform([from, to], rand, 1 / Math.sqrt(from)));
    const bias = graph.param(`b${name}`, uniform([to], rand, 0.1));
    params.push(w, bias);
    // x @ W + b as PyTorch's side writes it. (The composite `linear` would also compute a
    // gradient for the first layer's data: its subgraph's leaves all take one.)
    return b.add(b.matmul(input, w), bias);
  };
  const h1 = b.tanh(layer(x, hidden, hidden, "1"));
  const h2 = b.tanh(layer(h1, hidden, hidden, "2"));
  const loss = b.crossEntropy(layer(h2, hidden, classes, "3"), y);
  const update = () => {
    for (const p of params) graph.changed(p);
  };
  return {
    name: `mlp ${batch}x${hidden}`,
    // Forward 2·(batch·hidden² + batch·hidden·classes); backward twice that, less dx of layer 1.
    flops: 2 * (3 * (2 * batch * hidden * hidden + batch * hidden * classes) -
      batch * hidden * hidden),
    step() {
      const grads = graph.backward(loss, REUSE);
      for (const p of params) sgdUpdate(p.value.data, grads.get(p)!.data, 0.01);
      graph.batch(update);
    },
    loss: () => loss.value.data[0],
  };
}

/** The sizes of the chain that `bench --scale` times. */
export const CHAIN_SIZES = [64, 128, 256, 512, 1024] as const;
