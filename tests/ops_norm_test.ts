/**
 * layerNorm and mseLoss (composite ops, each with a closed-form rule checked against backprop
 * through its subgraph, as the lecture's exercise 3 checks batchnorm's) and dropout (one mask per
 * backward pass, the same bits for the same seed): finite-difference checks in float64.
 */
import assert from "node:assert/strict";
import {
  dropout,
  Graph,
  layerNorm,
  mseLoss,
  mul,
  NinjagradError,
  ops,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { assertClose, assertGradcheck, rng, uniform, values } from "./helpers.ts";

const f64 = () => new Graph({ dtype: "float64" });

/** A layer norm of (4, 3, 5) with gain and bias (5,), feeding tanh. */
function layerNormGraph(seed: string) {
  const rand = rng(seed);
  const g = f64();
  const x = g.param("x", uniform(rand, [4, 3, 5], -2, 2));
  const gain = g.param("gain", uniform(rand, [5], 0.5, 1.5));
  const bias = g.param("bias", uniform(rand, [5], -0.1, 0.1));
  const ln = layerNorm(x, gain, bias).named("ln");
  return { g, rand, ln, h: tanh(ln).named("h") };
}

Deno.test("layerNorm: gradcheck, through its subgraph and through its closed form", () => {
  const { g, rand, ln, h } = layerNormGraph("ln");
  assertGradcheck(g, h, rand);
  g.override(ln, ops.layerNorm.closedForm!);
  const before = g.ruleCounts.override;
  assertGradcheck(g, h, rand);
  assert.ok(g.ruleCounts.override > before, "the closed form never ran");
});

Deno.test("layerNorm's closed form agrees with its subgraph (compare)", () => {
  const { g, rand, ln, h } = layerNormGraph("ln compare");
  g.override(ln, ops.layerNorm.closedForm!);
  const cmp = g.compare(h, { seed: uniform(rand, h.shape, 0.5, 1.5) });
  assert.deepEqual(cmp.rows.map((r) => r.name), ["ln", "bias", "gain", "x"]);
  for (const row of cmp.rows) assert.ok(row.maxdiff < 1e-12, `${row.name}: ${row.maxdiff}`);
  assert.equal(cmp.firstDivergent, undefined);
});

Deno.test("layerNorm's values: each row centred and scaled by its biased variance", () => {
  const g = f64();
  const x = g.param("x", Tensor.from([[1, 2, 3], [10, 10, 40]], "float64"));
  const y = layerNorm(x, 2, 1, 0);
  // row 1: mean 2, var 2/3; row 2: mean 20, var 200
  const r1 = [-1, 0, 1].map((d) => 2 * d / Math.sqrt(2 / 3) + 1);
  const r2 = [-10, -10, 20].map((d) => 2 * d / Math.sqrt(200) + 1);
  assertClose(y.value, [...r1, ...r2], 1e-14);
  assert.throws(
    () => layerNorm(x, g.param("wrong", Tensor.zeros([2], "float64")), 0),
    (e) => e instanceof NinjagradError && /broadcast into x/.test(e.message),
  );
});

Deno.test("mseLoss: gradcheck for both inputs, with a broadcast target, and its closed form", () => {
  const rand = rng("mse");
  const g = f64();
  const pred = g.param("pred", uniform(rand, [6, 4]));
  const target = g.param("target", uniform(rand, [4]));
  const loss = mseLoss(pred, target).named("loss");
  assertGradcheck(g, loss, rand);
  const mean = values(pred.value).reduce((s, p, i) => s + (p - target.value.data[i % 4]) ** 2, 0);
  assertClose(loss.value, [mean / 24], 1e-15);
  g.override(loss, ops.mseLoss.closedForm!);
  assertGradcheck(g, loss, rand);
  const cmp = g.compare(loss);
  for (const row of cmp.rows) assert.ok(row.maxdiff < 1e-14, `${row.name}: ${row.maxdiff}`);
});

Deno.test("dropout: gradcheck in training, a mask per backward pass, the identity in eval", () => {
  const rand = rng("dropout");
  const g = f64();
  const x = g.param("x", uniform(rand, [8, 6], 0.5, 1.5));
  const d = dropout(x, 0.5, { seed: 3 }).named("d");
  assertGradcheck(g, tanh(d).named("out"), rand); // gradcheck's backward notifies nobody
  const kept = values(d.value).filter((v) => v !== 0).length;
  assert.ok(kept > 10 && kept < 38, `kept ${kept} of 48`);
  // Kept values are doubled (1 / (1 − p)); the gradient is the mask.
  const first = values(d.value);
  first.forEach((v, i) => assert.ok(v === 0 || v === 2 * x.value.data[i]));
  const dx = g.backward(sum(d)).get(x)!; // notifies: the next forward draws a new mask
  assert.deepEqual(values(dx), first.map((v) => (v === 0 ? 0 : 2)));
  g.changed(x);
  assert.notDeepEqual(values(d.value), first);
  // The same seed draws the same masks in the same order.
  const h = f64();
  const y = h.param("x", x.value.clone());
  const e = dropout(y, 0.5, { seed: 3 });
  const y0 = values(e.value);
  h.backward(sum(e));
  h.changed(y);
  assert.deepEqual([y0.map((v) => v !== 0), values(e.value).map((v) => v !== 0)], [
    first.map((v) => v !== 0),
    values(d.value).map((v) => v !== 0),
  ]);
  const off = dropout(x, 0.5, { training: false });
  assert.deepEqual(values(off.value), values(x.value));
  assertGradcheck(g, mul(off, 3).named("eval"), rand);
  assert.throws(
    () => dropout(x, 1.5),
    (e) => e instanceof NinjagradError && /\[0, 1\]/.test(e.message),
  );
});
