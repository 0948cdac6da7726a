/**
 * The engine's backward pass and forward runs: gradients of a value used several times are summed,
 * an embedding's repeated rows add up, max routes to one entry, backward is repeatable, buffers are
 * reused across runs, and the errors a learner hits name the shapes and values involved.
 */
import assert from "node:assert/strict";
import {
  add,
  crossEntropy,
  embedding,
  exp,
  Graph,
  linear,
  matmul,
  max,
  mul,
  NinjagradError,
  pow,
  reshape,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { argmax } from "../ops/torch.ts";
import { assertClose, indices, rng, sameValues, uniform, values } from "./helpers.ts";

const f64 = () => new Graph({ dtype: "float64" });
const X = [0.3, -1.2, 2];

Deno.test("a value used twice: d(x·x)/dx = 2x, times the upstream gradient", () => {
  const g = f64();
  const x = g.param("x", Tensor.from(X, "float64"));
  const y = mul(x, x).named("y");
  const seed = Tensor.from([0.5, -2, 3], "float64");
  assertClose(g.backward(y, { seed }).get(x), X.map((v, i) => 2 * v * seed.data[i]));
});

Deno.test("a diamond a→b, a→c, b+c→d: both paths add up at a", () => {
  const g = f64();
  const a = g.param("a", Tensor.from(X, "float64"));
  const b = tanh(a).named("b");
  const c = exp(a).named("c");
  const d = add(b, c).named("d");
  const grads = g.backward(d, { seed: Tensor.full([3], 1, "float64") });
  assertClose(grads.get(a), X.map((v) => 1 - Math.tanh(v) ** 2 + Math.exp(v)));
  assertClose(grads.get(b), [1, 1, 1]);
});

Deno.test("a node with three consumers gets the sum of three contributions", () => {
  const g = f64();
  const a = g.param("a", Tensor.from(X, "float64"));
  const loss = sum(add(add(mul(a, 3), tanh(a)), pow(a, 2))).named("loss");
  assertClose(g.backward(loss).get(a), X.map((v) => 3 + (1 - Math.tanh(v) ** 2) + 2 * v));
});

Deno.test("a gradient a rule passes through unchanged is not added into later", () => {
  // h = x + y hands h's (summed) gradient to x and y as is; x's later contribution from z must
  // not be added into that shared tensor, or h and y would receive x's gradient.
  const g = f64();
  const x = g.param("x", Tensor.from([1, 2]));
  const y = g.param("y", Tensor.from([3, 4]));
  const z = mul(x, 3).named("z");
  const h = add(x, y).named("h");
  const grads = g.backward(sum(add(mul(h, h), z)));
  assert.deepEqual(values(grads.get(h)), [8, 12]);
  assert.deepEqual(values(grads.get(y)), [8, 12]);
  assert.deepEqual(values(grads.get(x)), [11, 15]);
});

Deno.test("embedding with repeated indices: the table rows' gradients add up", () => {
  const g = f64();
  const C = g.param("C", Tensor.from([[1, 2], [3, 4], [5, 6], [7, 8]]));
  const idx = g.input("idx", Tensor.from([1, 1, 3, 1], "int32"));
  const emb = embedding(C, idx).named("emb");
  const seed = Tensor.from([[1, 2], [10, 20], [100, 200], [1000, 2000]], "float64");
  const dC = g.backward(emb, { seed }).get(C);
  assert.deepEqual(dC?.shape, [4, 2]);
  assert.deepEqual(values(dC), [0, 0, 1011, 2022, 0, 0, 100, 200]);
});

Deno.test("max with ties: the gradient goes to the first maximum only", () => {
  const g = f64();
  const x = g.param("x", Tensor.from([[1, 3, 3], [2, 2, 2]]));
  const rows = max(x, 1, true).named("logit_maxes");
  const seed = Tensor.from([[5], [7]], "float64");
  assert.deepEqual(values(g.backward(rows, { seed }).get(x)), [0, 5, 0, 7, 0, 0]);
  const all = max(x).named("all");
  assert.deepEqual(values(g.backward(all).get(x)), [0, 1, 0, 0, 0, 0]);
  const cols = max(x, 0).named("cols");
  const ones = Tensor.full([3], 1, "float64");
  assert.deepEqual(values(g.backward(cols, { seed: ones }).get(x)), [0, 1, 1, 1, 0, 0]);
});

Deno.test("backward twice gives identical gradients and leaves the first result intact", () => {
  const rand = rng("twice");
  const g = f64();
  const x = g.param("x", uniform(rand, [6, 4]));
  const W = g.param("W", uniform(rand, [4, 3]));
  const b = g.param("b", uniform(rand, [3]));
  const h = tanh(linear(x, W, b)).named("h");
  const logits = matmul(add(h, mul(h, h)), g.param("W2", uniform(rand, [3, 5]))).named("logits");
  const loss = crossEntropy(logits, g.input("Yb", indices(rand, [6], 5))).named("loss");
  const first = g.backward(loss);
  const snapshot = new Map(first.nodes().map((n) => [n, first.get(n)!.clone()]));
  const second = g.backward(loss);
  // Names, never nodes: a failed assert renders its values, and a node reaches the whole graph.
  assert.deepEqual(second.nodes().map((n) => n.name), first.nodes().map((n) => n.name));
  for (const [node, copy] of snapshot) {
    assert.ok(sameValues(first.get(node), copy), `${node.name} changed`);
    assert.ok(sameValues(second.get(node), copy), `${node.name} differs`);
  }
});

Deno.test("set() on a leaf reuses downstream buffers and recomputes them", () => {
  const rand = rng("buffers");
  const g = f64();
  const x = g.param("x", uniform(rand, [4, 3]));
  const W = g.param("W", uniform(rand, [3, 2]));
  const h = tanh(matmul(x, W)).named("h");
  const [W2, b2] = [g.param("W2", uniform(rand, [2, 2])), g.param("b2", uniform(rand, [2]))];
  const out = linear(h, W2, b2).named("out");
  const [hBuf, outBuf] = [h.value, out.value];
  const x2 = uniform(rand, [4, 3]);
  g.set(x, x2);
  assert.ok(h.value === hBuf, "h keeps its buffer");
  assert.ok(out.value === outBuf, "out keeps its buffer");
  // Same values as a graph built from scratch on the new input.
  const fresh = f64();
  const hFresh = tanh(matmul(fresh.param("x", x2), fresh.param("W", W.value)));
  const outFresh = linear(hFresh, fresh.param("W2", W2.value), fresh.param("b2", b2.value));
  assert.deepEqual(values(h.value), values(hFresh.value));
  assert.deepEqual(values(out.value), values(outFresh.value));
});

/** Asserts `fn` throws a NinjagradError whose message contains every piece. */
function assertError(fn: () => unknown, ...pieces: string[]): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof NinjagradError, `not a NinjagradError: ${e}`);
    for (const p of pieces) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("errors name the shapes and values involved", () => {
  const g = f64();
  const a = g.param("a", Tensor.zeros([2, 3], "float64"));
  const v = g.param("v", Tensor.zeros([4], "float64"));
  assertError(() => add(a, v), "(2, 3)", "(4,)", "do not broadcast");
  const w = g.param("w", Tensor.zeros([5, 6], "float64"));
  assertError(() => matmul(a, w), "(2, 3)", "(5, 6)", "3 vs 5");
  const C = g.param("C", Tensor.zeros([27, 10], "float64"));
  const Xb = g.input("Xb", Tensor.from([[0, 5, 27]], "int32"));
  assertError(() => embedding(C, Xb), "index 27", "0..26");
  assertError(() => g.node("bnvar_inv"), '"bnvar_inv"', "a, v, w, C, Xb");
});

Deno.test("a view of a computed value shares its elements (nothing copied) and follows it; a leaf's or another dtype's view is a copy", () => {
  const r = rng("views");
  const g = new Graph({ dtype: "float32" });
  const x = g.input("x", uniform(r, [4, 6]));
  const h = tanh(x).named("h");
  const v = reshape(h, [2, -1]).named("v");
  const rows = reshape(v, [-1, 3]).named("rows"); // a view of a view
  assert.equal(v.value.raw, h.value.raw);
  assert.equal(rows.value.raw, h.value.raw);
  const loss = sum(mul(rows, rows)).named("loss");
  // A new value of another shape: new buffers, and the views follow them.
  g.set(x, uniform(r, [6, 6]));
  assert.deepEqual(v.shape, [2, 18]);
  assert.equal(v.value.raw, h.value.raw);
  assert.deepEqual(values(rows.value), values(h.value));
  // Gradients through the views as before: d(Σ h²)/dx = 2h(1 − h²).
  const dx = g.backward(loss).get(x)!;
  const want = values(h.value).map((t) => Math.fround(2 * t) * Math.fround(1 - t * t));
  assertClose(dx, want, 1e-6);
  // A leaf's tensor is the user's: its view is a copy, as is an int32 node's (a float32 view).
  const leafView = reshape(x, [-1]);
  assert.notEqual(leafView.value.raw, x.value.raw);
  assert.deepEqual(values(leafView.value), values(x.value));
  const am = argmax(h, 1);
  const amView = reshape(am, [3, 2]);
  assert.equal(amView.value.dtype, "float32");
  assert.deepEqual(values(amView.value), values(am.value));
});
