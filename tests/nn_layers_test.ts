/**
 * The layers (nn): each builds its nodes into x's graph and exposes its parameter leaves there,
 * labelled by position in a Sequential as PyTorch names them (`0.weight`); BatchNorm1d keeps
 * running statistics that every training forward moves and that evaluation mode uses; the
 * lecture's WaveNet stack of Embedding, FlattenConsecutive, Linear, BatchNorm1d and Tanh gives
 * the shapes of makemore part 5; and a float64 stack of layers passes gradcheck.
 */
import assert from "node:assert/strict";
import {
  batchNorm,
  crossEntropy,
  Graph,
  linear,
  NinjagradError,
  nn,
  seededRandom,
  sum,
  Tensor,
} from "../mod.ts";
import { assertClose, assertGradcheck, indices, rng, uniform, values } from "./helpers.ts";

const f64 = () => new Graph({ dtype: "float64" });

Deno.test("Linear: x @ weight + bias, weight ~ randn / √fanIn, parameters labelled in its graph", () => {
  const layer = new nn.Linear(400, 300, { random: seededRandom(1) });
  const w = values(layer.weight);
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - 1 / 20) < 0.001, `std ${std}, want 1/√400`);
  assert.deepEqual(values(layer.bias), new Array(300).fill(0));
  const small = new nn.Linear(3, 2, { random: seededRandom(2) });
  const g = f64();
  const x = g.input("x", uniform(rng("linear"), [4, 3]));
  const y = small.forward(x);
  const [W, b] = small.parameters();
  assert.deepEqual([W.label, b.label, W.kind], ["weight", "bias", "param"]);
  assert.deepEqual(values(y.value), values(linear(x, W, b).value));
  assert.equal(small.out, y);
  // A batch of sequences: (B, T, fanIn) → (B, T, fanOut), the same rows as the 2-D product.
  const x3 = g.input("x3", x.value.reshape([2, 2, 3]));
  const y3 = small.forward(x3);
  assert.deepEqual(y3.shape, [2, 2, 2]);
  assert.deepEqual(values(y3.value), values(y.value));
  assert.equal(small.parameters().length, 2, "built twice in one graph, the parameters are shared");
  assert.throws(
    () => small.forward(g.input("wrong", Tensor.zeros([4, 5], "float64"))),
    (e) => e instanceof NinjagradError && /Linear\(3, 2\): wrong is \(4, 5\)/.test(e.message),
  );
  const noBias = new nn.Linear(3, 2, { bias: false });
  noBias.forward(x);
  assert.deepEqual(noBias.parameters().map((p) => p.label), ["weight_2"]);
});

Deno.test("Sequential names its layers' parameters by position, and says when none exist yet", () => {
  const model = new nn.Sequential([
    new nn.Linear(2, 4, { random: seededRandom(3) }),
    new nn.Tanh(),
    new nn.Linear(4, 1, { random: seededRandom(4) }),
  ]);
  assert.throws(
    () => model.parameters(),
    (e) =>
      e instanceof NinjagradError &&
      /Linear\(2, 4\) has no parameters .*call forward\(x\)/.test(e.message),
  );
  const g = f64();
  model.forward(g.input("x", Tensor.zeros([5, 2], "float64")));
  assert.deepEqual(model.parameters().map((p) => p.label), [
    "0.weight",
    "0.bias",
    "2.weight",
    "2.bias",
  ]);
  assert.equal(model.layers[1].out?.op?.name, "tanh");
});

Deno.test("BatchNorm1d in training: the lecture's batchnorm, and the running statistics follow it", () => {
  const rand = rng("bn layer");
  const layer = new nn.BatchNorm1d(3, { momentum: 0.1 });
  const g = f64();
  const x = g.input("x", uniform(rand, [8, 3], -2, 2));
  const y = layer.forward(x);
  const [gamma, beta] = layer.parameters();
  assert.deepEqual([gamma.label, beta.label], ["gamma", "beta"]);
  assert.deepEqual(values(y.value), values(batchNorm(x, gamma, beta).value));
  // After one forward: running = 0.9·(0, 1) + 0.1·(batch mean, unbiased batch variance).
  const col = (j: number) => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => x.value.data[i * 3 + j]);
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const uvar = (v: number[]) => v.reduce((s, a) => s + (a - mean(v)) ** 2, 0) / (v.length - 1);
  assertClose(layer.runningMean, [0, 1, 2].map((j) => 0.1 * mean(col(j))), 1e-15);
  assertClose(layer.runningVar, [0, 1, 2].map((j) => 0.9 + 0.1 * uvar(col(j))), 1e-15);
  // Every forward moves them again: a second batch, through the graph's recomputation.
  const before = values(layer.runningMean);
  g.set(x, uniform(rand, [8, 3], -2, 2));
  assertClose(layer.runningMean, [0, 1, 2].map((j) => 0.9 * before[j] + 0.1 * mean(col(j))), 1e-15);
});

Deno.test("BatchNorm1d in eval mode uses the running statistics; (B, T, C) normalises over B and T", () => {
  const layer = new nn.BatchNorm1d(2);
  const g = f64();
  const x = g.input("x", Tensor.from([[1, 10], [3, 30]], "float64"));
  layer.forward(x);
  layer.runningMean.data.set([2, 20]);
  layer.runningVar.data.set([4, 100]);
  layer.eval();
  const e = g.input("e", Tensor.from([[4, 0]], "float64"));
  const y = layer.forward(e);
  assertClose(y.value, [(4 - 2) / Math.sqrt(4 + 1e-5), (0 - 20) / Math.sqrt(100 + 1e-5)], 1e-15);
  const before = values(layer.runningMean);
  g.set(e, Tensor.from([[5, 5]], "float64"));
  assert.deepEqual(values(layer.runningMean), before, "eval forwards leave the statistics alone");
  // Training mode on (B, T, C): one batch of B·T rows.
  const three = new nn.BatchNorm1d(2), h = f64();
  const x3 = h.input("x3", uniform(rng("bn3"), [4, 3, 2]));
  const y3 = three.forward(x3);
  assert.deepEqual(y3.shape, [4, 3, 2]);
  const flat = h.input("flat", x3.value.reshape([12, 2]).clone());
  const [gamma, beta] = three.parameters();
  assert.deepEqual(values(y3.value), values(batchNorm(flat, gamma, beta).value));
});

Deno.test("makemore part 5's hierarchy: Embedding, FlattenConsecutive(2) ×3, Linear, BatchNorm1d", () => {
  const random = seededRandom(42);
  const model = new nn.Sequential([
    new nn.Embedding(27, 10, { random }),
    new nn.FlattenConsecutive(2),
    new nn.Linear(20, 16, { bias: false, random }),
    new nn.BatchNorm1d(16),
    new nn.Tanh(),
    new nn.FlattenConsecutive(2),
    new nn.Linear(32, 16, { bias: false, random }),
    new nn.BatchNorm1d(16),
    new nn.Tanh(),
    new nn.FlattenConsecutive(2),
    new nn.Linear(32, 16, { bias: false, random }),
    new nn.BatchNorm1d(16),
    new nn.Tanh(),
    new nn.Linear(16, 27, { random }),
  ]);
  const g = new Graph();
  const Xb = g.input("Xb", indices(rng("wavenet"), [4, 8], 27));
  const logits = model.forward(Xb);
  const shapes = model.layers.map((l) => l.out!.shape);
  assert.deepEqual(shapes, [
    [4, 8, 10],
    [4, 4, 20],
    [4, 4, 16],
    [4, 4, 16],
    [4, 4, 16],
    [4, 2, 32],
    [4, 2, 16],
    [4, 2, 16],
    [4, 2, 16],
    [4, 32],
    [4, 16],
    [4, 16],
    [4, 16],
    [4, 27],
  ]);
  const count = model.parameters().reduce((s, p) => s + p.value.size, 0);
  assert.equal(count, 27 * 10 + 20 * 16 + 32 * 16 * 2 + 3 * 2 * 16 + 16 * 27 + 27);
  const loss = crossEntropy(logits, g.input("Yb", indices(rng("targets"), [4], 27)));
  assert.ok(Number.isFinite(loss.value.item()));
});

Deno.test("a float64 stack of every layer passes gradcheck with respect to its parameters", () => {
  const random = seededRandom(7);
  const model = new nn.Sequential([
    new nn.Linear(3, 6, { random }),
    new nn.BatchNorm1d(6),
    new nn.ReLU(),
    new nn.Linear(6, 4, { random }),
    new nn.LayerNorm(4),
    new nn.Dropout(0.3, { seed: 5 }),
    new nn.Tanh(),
    new nn.Flatten(),
  ]);
  const g = f64();
  const x = g.input("x", uniform(rng("stack"), [8, 3]));
  const out = model.forward(x);
  assertGradcheck(g, sum(out).named("out"), rng("stack seed"));
});

Deno.test("train() and eval() reach every layer: Dropout passes through, BatchNorm1d switches", () => {
  const model = new nn.Sequential([new nn.Dropout(0.5), new nn.BatchNorm1d(2)]);
  model.eval();
  assert.deepEqual(model.layers.map((l) => l.training), [false, false]);
  const g = f64();
  const x = g.input("x", Tensor.from([[1, 2], [3, 4]], "float64"));
  const y = model.forward(x);
  assert.equal(model.layers[0].out, x);
  assertClose(y.value, [1, 2, 3, 4].map((v) => v / Math.sqrt(1 + 1e-5)), 1e-15);
  model.train();
  assert.equal(model.layers[0].forward(x).op?.name, "dropout");
});

Deno.test("an evaluation graph shares the parameters' tensors with the training graph", () => {
  const layer = new nn.Linear(2, 1, { random: seededRandom(9) });
  const train = f64(), evaluation = f64();
  const y = layer.forward(train.input("x", Tensor.from([[1, 1]], "float64")));
  const e = layer.forward(evaluation.input("x", Tensor.from([[1, 1]], "float64")));
  const [W] = layer.parameters();
  const [We] = layer.parameters(evaluation);
  assert.notEqual(W, We);
  assert.equal(W.value, We.value);
  W.value.data[0] += 1;
  train.changed(W);
  evaluation.recompute();
  assert.deepEqual(values(e.value), values(y.value));
});
