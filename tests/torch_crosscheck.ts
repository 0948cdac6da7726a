/**
 * Cross-checks the ops a PyTorch user expects, and the optimizers, against PyTorch itself, by
 * hand (not part of `deno task test`; it needs /usr/bin/python3 with torch):
 *
 *   deno run -A tests/torch_crosscheck.ts
 *
 * Each case builds a float64 graph on random inputs (broadcast shapes where the op broadcasts),
 * runs backward with a random non-unit upstream gradient, and hands the inputs, the seed, the
 * output and the gradients to tests/torch_crosscheck.py, which recomputes them with torch
 * (float64) and prints the largest absolute difference of the output and of each gradient.
 * The optimizers take the same gradients for several steps on both sides.
 */
import { fileURLToPath } from "node:url";
import {
  abs,
  arange,
  argmax,
  chunk,
  clamp,
  concat,
  crossEntropy,
  detach,
  expand,
  gather,
  gelu,
  Graph,
  layerNorm,
  maskedFill,
  matmul,
  maximum,
  min,
  minimum,
  mseLoss,
  mul,
  type Node,
  optim,
  permute,
  relu,
  roll,
  sigmoid,
  slice,
  split,
  sqrt,
  stack,
  Tensor,
  topk,
  transpose,
  tril,
  triu,
  where,
} from "../mod.ts";
import { rng, uniform } from "./helpers.ts";

interface Case {
  op: string;
  /** Input shapes (int32 for a name starting with `cond`: 0s and 1s). */
  inputs: Record<string, number[]>;
  build: (x: Record<string, Node>) => Node;
  /** The same in torch, the inputs by name (float64 tensors that require grad). */
  torch: string;
  /** Inputs drawn from [lo, hi) (default [-2, 2)). */
  range?: [number, number];
  /** Integer inputs (int32 here, int64 in torch): shape, values in [0, n), and a pad value. */
  ints?: Record<string, { shape: number[]; n: number; pad?: number }>;
}

const CASES: Case[] = [
  { op: "relu", inputs: { x: [4, 5] }, build: ({ x }) => relu(x), torch: "torch.relu(x)" },
  { op: "sigmoid", inputs: { x: [4, 5] }, build: ({ x }) => sigmoid(x), torch: "torch.sigmoid(x)" },
  {
    op: "gelu",
    inputs: { x: [6, 7] },
    build: ({ x }) => gelu(x),
    torch: "torch.nn.functional.gelu(x)",
    range: [-6, 6],
  },
  {
    op: "sqrt",
    inputs: { x: [4, 5] },
    build: ({ x }) => sqrt(x),
    torch: "torch.sqrt(x)",
    range: [0.1, 3],
  },
  { op: "abs", inputs: { x: [4, 5] }, build: ({ x }) => abs(x), torch: "torch.abs(x)" },
  {
    op: "clamp",
    inputs: { x: [4, 5] },
    build: ({ x }) => clamp(x, -0.5, 0.7),
    torch: "torch.clamp(x, -0.5, 0.7)",
  },
  {
    op: "maximum",
    inputs: { a: [4, 1, 5], b: [3, 1] },
    build: ({ a, b }) => maximum(a, b),
    torch: "torch.maximum(a, b)",
  },
  {
    op: "minimum",
    inputs: { a: [3, 5], b: [5] },
    build: ({ a, b }) => minimum(a, b),
    torch: "torch.minimum(a, b)",
  },
  {
    op: "where",
    inputs: { cond: [4, 1, 5], a: [3, 5], b: [4, 3, 1] },
    build: ({ cond, a, b }) => where(cond, a, b),
    torch: "torch.where(cond.bool(), a, b)",
  },
  {
    op: "min",
    inputs: { x: [3, 4, 5] },
    build: ({ x }) => min(x, 1, true),
    torch: "torch.min(x, 1, keepdim=True).values",
  },
  {
    op: "concat",
    inputs: { a: [3, 2, 4], b: [3, 5, 4] },
    build: ({ a, b }) => concat([a, b, a], 1),
    torch: "torch.cat([a, b, a], 1)",
  },
  {
    op: "stack",
    inputs: { a: [3, 4], b: [3, 4] },
    build: ({ a, b }) => stack([a, b], 1),
    torch: "torch.stack([a, b], 1)",
  },
  {
    op: "slice",
    inputs: { x: [4, 6, 3] },
    build: ({ x }) => slice(x, 1, 1, -2),
    torch: "x[:, 1:-2, :]",
  },
  {
    op: "permute",
    inputs: { x: [2, 3, 4, 5] },
    build: ({ x }) => permute(x, [2, 0, 3, 1]),
    torch: "x.permute(2, 0, 3, 1)",
  },
  {
    op: "transpose",
    inputs: { x: [2, 3, 4] },
    build: ({ x }) => transpose(x, 0, 2),
    torch: "torch.transpose(x, 0, 2)",
  },
  {
    op: "matmul (batch broadcast)",
    inputs: { a: [2, 1, 3, 4], b: [5, 4, 2] },
    build: ({ a, b }) => matmul(a, b),
    torch: "torch.matmul(a, b)",
  },
  {
    op: "matmul (batch @ matrix)",
    inputs: { a: [6, 3, 4], b: [4, 5] },
    build: ({ a, b }) => matmul(a, b),
    torch: "torch.matmul(a, b)",
  },
  {
    op: "matmul (vector @ batch)",
    inputs: { a: [4], b: [3, 4, 2] },
    build: ({ a, b }) => matmul(a, b),
    torch: "torch.matmul(a, b)",
  },
  {
    op: "layerNorm",
    inputs: { x: [4, 3, 6], gain: [6], bias: [6] },
    build: ({ x, gain, bias }) => layerNorm(x, gain, bias),
    torch: "torch.nn.functional.layer_norm(x, (6,), gain, bias, 1e-5)",
  },
  {
    op: "mseLoss",
    inputs: { pred: [5, 3], target: [3] },
    build: ({ pred, target }) => mseLoss(pred, target),
    torch: "torch.nn.functional.mse_loss(*torch.broadcast_tensors(pred, target))",
  },
  {
    op: "crossEntropy (B, T, C) ignoreIndex",
    inputs: { x: [3, 4, 6] },
    ints: { t: { shape: [3, 4], n: 6, pad: -1 } },
    build: ({ x, t }) => crossEntropy(x, t, { ignoreIndex: -1 }),
    torch: "torch.nn.functional.cross_entropy(x.view(-1, 6), t.view(-1), ignore_index=-1)",
  },
  {
    op: "crossEntropy smoothing 0.1",
    inputs: { x: [5, 7] },
    ints: { t: { shape: [5], n: 7, pad: -100 } },
    build: ({ x, t }) => crossEntropy(x, t, { labelSmoothing: 0.1 }),
    torch: "torch.nn.functional.cross_entropy(x, t, label_smoothing=0.1)",
  },
  {
    op: "crossEntropy ignore + smoothing",
    inputs: { x: [2, 3, 5] },
    ints: { t: { shape: [2, 3], n: 5, pad: 4 } },
    build: ({ x, t }) => crossEntropy(x, t, { ignoreIndex: 4, labelSmoothing: 0.2 }),
    torch:
      "torch.nn.functional.cross_entropy(x.view(-1, 5), t.view(-1), ignore_index=4, label_smoothing=0.2)",
  },
  {
    op: "gelu tanh",
    inputs: { x: [6, 7] },
    build: ({ x }) => gelu(x, { approximate: "tanh" }),
    torch: "torch.nn.functional.gelu(x, approximate='tanh')",
    range: [-6, 6],
  },
  {
    op: "expand",
    inputs: { x: [3, 1] },
    build: ({ x }) => expand(x, [2, -1, 4]),
    torch: "x.expand(2, -1, 4)",
  },
  {
    op: "roll",
    inputs: { x: [3, 4, 5] },
    build: ({ x }) => roll(x, [2, -3], [0, 2]),
    torch: "torch.roll(x, (2, -3), (0, 2))",
  },
  {
    op: "roll flat",
    inputs: { x: [3, 4] },
    build: ({ x }) => roll(x, 5),
    torch: "torch.roll(x, 5)",
  },
  {
    op: "split",
    inputs: { x: [7, 3] },
    build: ({ x }) => concat(split(x, [2, 4, 1]).reverse(), 0),
    torch: "torch.cat(list(reversed(torch.split(x, [2, 4, 1]))), 0)",
  },
  {
    op: "chunk",
    inputs: { x: [3, 7] },
    build: ({ x }) => stack(chunk(x, 3, 1).slice(0, 2), 0),
    torch: "torch.stack(torch.chunk(x, 3, 1)[:2], 0)",
  },
  {
    op: "maskedFill",
    inputs: { x: [2, 4, 4] },
    ints: { m: { shape: [4, 1], n: 2 } },
    build: ({ x, m }) => maskedFill(x, m, -0.5),
    torch: "x.masked_fill(m.bool(), -0.5)",
  },
  { op: "tril", inputs: { x: [2, 4, 5] }, build: ({ x }) => tril(x, 1), torch: "torch.tril(x, 1)" },
  { op: "triu", inputs: { x: [4, 5] }, build: ({ x }) => triu(x, -1), torch: "torch.triu(x, -1)" },
  {
    op: "topk values",
    inputs: { x: [3, 6] },
    build: ({ x }) => topk(x, 3).values,
    torch: "torch.topk(x, 3).values",
  },
  {
    op: "topk indices (as float)",
    inputs: { x: [4, 5] },
    build: ({ x }) => mul(topk(x, 2, { dim: 0, largest: false }).values, 1),
    torch: "torch.topk(x, 2, dim=0, largest=False).values * 1",
  },
  {
    op: "argmax (gathered)",
    inputs: { x: [4, 6] },
    build: ({ x }) => gather(x, 1, argmax(x, 1, true)),
    torch: "torch.gather(x, 1, torch.argmax(x, 1, keepdim=True))",
  },
  {
    op: "arange",
    inputs: { x: [3, 6] },
    build: ({ x }) => mul(x, arange(x.graph, 0, 1.5, 0.25)),
    torch: "x * torch.arange(0, 1.5, 0.25)",
  },
  {
    op: "detach",
    inputs: { x: [3, 4] },
    build: ({ x }) => mul(x, detach(x)),
    torch: "x * x.detach()",
  },
  {
    op: "gather",
    inputs: { x: [3, 6] },
    ints: { i: { shape: [3, 4], n: 6 } },
    build: ({ x, i }) => gather(x, 1, i),
    torch: "torch.gather(x, 1, i)",
  },
];

type Plain = { shape: number[]; data: number[]; int?: boolean };
const plain = (t: Tensor): Plain => ({ shape: [...t.shape], data: [...t.data] });

function runCase(c: Case, rand: () => number) {
  const g = new Graph({ dtype: "float64" });
  const nodes: Record<string, Node> = {};
  const values: Record<string, Plain> = {};
  for (const [name, shape] of Object.entries(c.inputs)) {
    let t: Tensor;
    if (name.startsWith("cond")) {
      t = Tensor.zeros(shape, "int32");
      for (let i = 0; i < t.size; i++) t.data[i] = rand() < 0.5 ? 1 : 0;
      nodes[name] = g.input(name, t);
    } else {
      t = uniform(rand, shape, ...(c.range ?? [-2, 2]));
      nodes[name] = g.param(name, t);
    }
    values[name] = plain(t);
  }
  for (const [name, { shape, n, pad }] of Object.entries(c.ints ?? {})) {
    const t = Tensor.zeros(shape, "int32");
    for (let i = 0; i < t.size; i++) {
      t.data[i] = pad !== undefined && rand() < 0.25 ? pad : Math.floor(rand() * n);
    }
    nodes[name] = g.input(name, t);
    values[name] = { ...plain(t), int: true };
  }
  const out = c.build(nodes);
  const seed = uniform(rand, out.shape, 0.5, 1.5);
  for (let i = 0; i < seed.size; i++) if (rand() < 0.5) seed.data[i] *= -1;
  const grads = g.backward(out, { seed });
  const gradients: Record<string, Plain> = {};
  for (const name of Object.keys(c.inputs)) {
    const d = grads.get(nodes[name]);
    if (d) gradients[name] = plain(d);
  }
  return {
    op: c.op,
    torch: c.torch,
    inputs: values,
    seed: plain(seed),
    out: plain(out.value),
    gradients,
  };
}

/** Steps SGD (momentum, weight decay) and AdamW with fixed random gradients on both sides. */
function runOptimizers(rand: () => number) {
  const steps = 5, shape = [3, 4];
  const grads = Array.from({ length: steps }, () => plain(uniform(rand, shape)));
  const start = uniform(rand, shape);
  const runs: { name: string; torch: string; params: Plain[] }[] = [];
  const configs: [string, string, (p: Node[]) => optim.Optimizer][] = [
    [
      "SGD momentum 0.9 weight decay 0.01",
      "torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)",
      (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }),
    ],
    [
      "AdamW lr 0.01",
      "torch.optim.AdamW([p], lr=0.01)",
      (p) => new optim.AdamW(p, { lr: 0.01 }),
    ],
  ];
  for (const [name, torch, make] of configs) {
    const g = new Graph({ dtype: "float64" });
    const p = g.param("p", start.clone());
    const opt = make([p]);
    const params: Plain[] = [];
    for (const grad of grads) {
      const fake = { get: () => Tensor.from(grad.data, "float64", grad.shape) };
      opt.step(fake as never);
      params.push(plain(p.value));
    }
    runs.push({ name, torch, params });
  }
  return { start: plain(start), grads, runs };
}

const rand = rng("torch crosscheck");
const report = { cases: CASES.map((c) => runCase(c, rand)), optim: runOptimizers(rand) };
const file = await Deno.makeTempFile({ suffix: ".json" });
await Deno.writeTextFile(file, JSON.stringify(report));
const script = fileURLToPath(new URL("torch_crosscheck.py", import.meta.url));
const env = { ...Deno.env.toObject() };
delete env.OPENBLAS_CORETYPE; // torch picks a slow kernel with these (PREAMBLE.md)
delete env.OPENBLAS_L2_SIZE;
const res = await new Deno.Command("/usr/bin/python3", {
  args: [script, file],
  env,
  clearEnv: true,
})
  .output();
await Deno.remove(file);
await Deno.stdout.write(res.stdout);
await Deno.stderr.write(res.stderr);
Deno.exit(res.code);
