/**
 * Softmax, log-softmax and the composite ops (cross-entropy, batchnorm, linear): finite-difference
 * checks in float64, and the lecture's exercises 2 and 3 — each composite's closed-form rule
 * against backprop through its subgraph, with graph.override and graph.compare.
 */
import assert from "node:assert/strict";
import {
  batchNorm,
  type Comparison,
  crossEntropy,
  Graph,
  linear,
  logSoftmax,
  ops,
  softmax,
  tanh,
  Tensor,
} from "../mod.ts";
import { assertClose, assertGradcheck, indices, rng, uniform, values } from "./helpers.ts";

Deno.test("softmax and log-softmax along the last and the first axis", () => {
  const rand = rng("softmax");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [5, 4], -2, 2));
  for (const axis of [-1, 1, 0]) {
    assertGradcheck(g, softmax(x, axis), rand);
    assertGradcheck(g, logSoftmax(x, axis), rand);
  }
});

/** The lecture's loss, fused: logits from a linear layer, then cross-entropy. */
function crossEntropyGraph(seed: string) {
  const rand = rng(seed);
  const g = new Graph({ dtype: "float64" });
  const h = g.param("h", uniform(rand, [8, 5]));
  const W2 = g.param("W2", uniform(rand, [5, 6]));
  const b2 = g.param("b2", uniform(rand, [6], -0.1, 0.1));
  const Yb = g.input("Yb", indices(rand, [8], 6));
  const logits = linear(h, W2, b2).named("logits");
  const loss = crossEntropy(logits, Yb).named("loss");
  return { g, rand, logits, loss };
}

/** The lecture's batchnorm layer, fused, feeding tanh. */
function batchNormGraph(seed: string) {
  const rand = rng(seed);
  const g = new Graph({ dtype: "float64" });
  const hprebn = g.param("hprebn", uniform(rand, [8, 5], -2, 2));
  const bngain = g.param("bngain", uniform(rand, [1, 5], 0.5, 1.5));
  const bnbias = g.param("bnbias", uniform(rand, [1, 5], -0.1, 0.1));
  const hpreact = batchNorm(hprebn, bngain, bnbias).named("hpreact");
  return { g, rand, hpreact, h: tanh(hpreact).named("h") };
}

Deno.test("cross_entropy (through a linear layer)", () => {
  const { g, rand, loss } = crossEntropyGraph("ce");
  assertGradcheck(g, loss, rand);
});

Deno.test("batchnorm", () => {
  const { g, rand, h } = batchNormGraph("bn");
  assertGradcheck(g, h, rand);
});

Deno.test("linear with a 1-D bias and with a (1, n) bias", () => {
  const rand = rng("linear");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [4, 3]));
  const w = g.param("w", uniform(rand, [3, 5]));
  assertGradcheck(g, linear(x, w, g.param("b", uniform(rand, [5]))), rand);
  assertGradcheck(g, linear(x, w, g.param("b11", uniform(rand, [1, 5]))), rand);
});

Deno.test("linear on data that takes no gradient: backprop through its subgraph leaves the data alone", () => {
  const rand = rng("linear data");
  const g = new Graph({ dtype: "float64" });
  const x = g.constant(uniform(rand, [4, 3]), "x"); // the minibatch: no parameter feeds it
  const w = g.param("w", uniform(rand, [3, 5])), b = g.param("b", uniform(rand, [5]));
  const out = linear(x, w, b);
  const matmuls: string[] = [];
  const sub = out.sub!.graph;
  sub.events$.subscribe((e) => {
    if (e.type === "backward" && e.node.op?.name === "matmul") matmuls.push(e.input);
  });
  const grads = g.backward(out, { seed: Tensor.full([4, 5], 1, "float64") });
  assert.deepEqual(matmuls, ["b"], "only x @ w's gradient for w is computed, not for x");
  assert.equal(grads.get("x"), undefined);
  assertGradcheck(g, out, rand);
});

/** Asserts every row agrees approximately, and that the hand-written rule really ran. */
function assertAgrees(cmp: Comparison, g: Graph, overridesBefore: number): void {
  assert.ok(g.ruleCounts.override > overridesBefore, "the closed-form rule never ran");
  // A name, never the row: a failed assert renders its values, and a row holds the whole graph.
  assert.equal(cmp.firstDivergent?.name, undefined, "a node diverges");
  for (const row of cmp.rows) {
    assert.ok(row.approximate && row.shapeMatch, `${row.name} disagrees`);
    assert.ok(row.maxdiff < 1e-12, `${row.name}: maxdiff ${row.maxdiff}`);
  }
}

Deno.test("exercise 2: cross-entropy's closed form agrees with its subgraph", () => {
  const { g, rand, loss } = crossEntropyGraph("ce closed form");
  g.override(loss, ops.crossEntropy.closedForm!);
  g.override("logits", ops.linear.closedForm!);
  const before = g.ruleCounts.override;
  const cmp = g.compare(loss, { seed: Tensor.scalar(0.5 + rand(), "float64") });
  assert.deepEqual(cmp.rows.map((r) => r.name), ["logits", "b2", "W2", "h"]);
  assertAgrees(cmp, g, before);
});

Deno.test("exercise 3: batchnorm's closed form agrees with its subgraph", () => {
  const { g, rand, hpreact, h } = batchNormGraph("bn closed form");
  g.override(hpreact, ops.batchNorm.closedForm!);
  const before = g.ruleCounts.override;
  const cmp = g.compare(h, { seed: uniform(rand, h.shape, 0.5, 1.5) });
  assert.deepEqual(cmp.rows.map((r) => r.name), ["hpreact", "bnbias", "bngain", "hprebn"]);
  assertAgrees(cmp, g, before);
});

Deno.test("forward values: softmax rows sum to 1; cross-entropy and batchnorm by hand", () => {
  const g = new Graph({ dtype: "float64" });
  const logits = g.param("logits", Tensor.from([[1, 2, 3], [0, 0, Math.log(2)]], "float64"));
  assertClose(softmax(logits).value, [
    ...[1, Math.E, Math.E ** 2].map((v) => v / (1 + Math.E + Math.E ** 2)),
    ...[0.25, 0.25, 0.5],
  ], 1e-15);
  assertClose(logSoftmax(logits).value, values(softmax(logits).value).map(Math.log), 1e-15);
  const Yb = g.input("Yb", Tensor.from([2, 0], "int32"));
  const p0 = Math.E ** 2 / (1 + Math.E + Math.E ** 2);
  assertClose(crossEntropy(logits, Yb).value, [-(Math.log(p0) + Math.log(0.25)) / 2], 1e-15);
  // Each column of (x − mean) / sqrt(unbiased var + eps), then · gain + bias.
  const x = g.param("x", Tensor.from([[1, 10], [3, 20], [5, 60]], "float64"));
  const gain = g.param("gain", Tensor.from([[2, 1]], "float64"));
  const bias = g.param("bias", Tensor.from([[0, -1]], "float64"));
  const y = batchNorm(x, gain, bias, 0);
  const col1 = [-2, 0, 2].map((v) => 2 * v / 2); // mean 3, var 4, gain 2
  const col2 = [-20, -10, 30].map((v) => v / Math.sqrt(700) - 1); // mean 30, var 700
  assertClose(y.value, [col1[0], col2[0], col1[1], col2[1], col1[2], col2[2]], 1e-14);
});
