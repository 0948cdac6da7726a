/**
 * PyTorch's functions beyond the lecture's (ops/torch.ts): each op's rule checked by finite
 * differences in float64 with a random non-unit upstream gradient and a broadcast history,
 * values by hand, and the errors a PyTorch user meets. tests/torch_crosscheck.ts compares the
 * same ops with torch by hand.
 */
import assert from "node:assert/strict";
import {
  add,
  arange,
  arangeLike,
  argmax,
  chunk,
  crossEntropy,
  detach,
  expand,
  gather,
  gelu,
  Graph,
  isGradEnabled,
  maskedFill,
  mul,
  multinomial,
  NinjagradError,
  noGrad,
  roll,
  seededRandom,
  split,
  sum,
  Tensor,
  topk,
  tril,
  triu,
} from "../mod.ts";
import { assertClose, assertGradcheck, indices, uniform, values, withBias } from "./helpers.ts";

const isError = (pattern: RegExp) => (e: unknown) =>
  e instanceof NinjagradError && pattern.test(e.message);

Deno.test("crossEntropy over (B, T, C) with ignoreIndex and label smoothing: gradcheck", () => {
  for (const [ignoreIndex, labelSmoothing] of [[-1, 0], [-1, 0.1], [undefined, 0.2]] as const) {
    const { rand, g, xb } = withBias(`ce ${ignoreIndex} ${labelSmoothing}`, [2, 3, 5]);
    const t = indices(rand, [2, 3], 5);
    t.data[1] = -1, t.data[4] = -1;
    if (ignoreIndex === undefined) t.data[1] = t.data[4] = 2;
    const targets = g.input("targets", t);
    const loss = crossEntropy(xb, targets, { ignoreIndex, labelSmoothing });
    assertGradcheck(g, loss, rand);
  }
});

Deno.test("crossEntropy: the mean over non-ignored targets, as PyTorch, by hand", () => {
  const g = new Graph({ dtype: "float64" });
  const logits = g.param(
    "logits",
    Tensor.from([[[1, 2, 3], [0, 0, 0]], [[3, 1, 0], [2, 2, 5]]], "float64"),
  );
  const targets = g.input("targets", Tensor.from([[2, -1], [0, 1]], "int32"));
  const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
  const want = ((lse([1, 2, 3]) - 3) + (lse([3, 1, 0]) - 3) + (lse([2, 2, 5]) - 2)) / 3;
  const loss = crossEntropy(logits, targets, { ignoreIndex: -1 });
  assertClose(loss.value, [want]);
  const grads = g.backward(loss);
  // the ignored row gets no gradient
  assertClose(grads.get(logits), [
    ...values(grads.get(logits)).slice(0, 3),
    0,
    0,
    0,
    ...values(grads.get(logits)).slice(6),
  ]);
  // smoothing: (1 − ε)·nll + ε·mean over classes of −log p, averaged over counted rows
  const smooth = crossEntropy(logits, targets, { ignoreIndex: -1, labelSmoothing: 0.3 });
  const row = (r: number[], t: number) =>
    0.7 * (lse(r) - r[t]) + 0.3 * (lse(r) - (r[0] + r[1] + r[2]) / 3);
  assertClose(smooth.value, [(row([1, 2, 3], 2) + row([3, 1, 0], 0) + row([2, 2, 5], 1)) / 3]);
  // The 2-D lecture composite and the kernel agree where both apply.
  const flat = g.param("flat", Tensor.from([[1, 2, 3], [3, 1, 0]], "float64"));
  const ft = g.input("ft", Tensor.from([2, 0], "int32"));
  assertClose(
    crossEntropy(flat, ft).value,
    values(crossEntropy(flat, ft, { ignoreIndex: -100 }).value),
    1e-15,
  );
});

Deno.test("crossEntropy: a target out of range names crossEntropy and says how to skip padding", () => {
  const g = new Graph({ dtype: "float64" });
  const logits = g.param("logits", Tensor.zeros([2, 3, 27], "float64"));
  const targets = g.input("targets", Tensor.from([[1, 2, -1], [3, 4, 5]], "int32"));
  assert.throws(
    () => crossEntropy(logits, targets),
    isError(
      /^crossEntropy: target -1 at position 2 is outside 0\.\.26: pass \{ ignoreIndex: -1 \}/,
    ),
  );
  // The lecture's 2-D composite says the same, when built and when its targets change.
  for (const dtype of ["float32", "float64"] as const) {
    const h = new Graph({ dtype });
    const flat = h.param("flat", Tensor.zeros([3, 27], dtype));
    const t = h.input("t", Tensor.from([1, 2, 3], "int32"));
    crossEntropy(flat, t);
    assert.throws(
      () => h.set(t, Tensor.from([1, 2, -1], "int32")),
      isError(
        /^crossEntropy: target -1 at position 2 is outside 0\.\.26: pass \{ ignoreIndex: -1 \}/,
      ),
    );
  }
  assert.throws(
    () => crossEntropy(logits, g.input("t2", Tensor.zeros([3, 2], "int32"))),
    isError(/targets shaped as the logits without their last axis/),
  );
});

Deno.test("expand: gradcheck sums the copies; -1 keeps an axis; errors name the shapes", () => {
  const { rand, g, xb } = withBias("expand", [3, 1]);
  const e = expand(xb, [2, -1, 4]);
  assert.deepEqual(e.shape, [2, 3, 4]);
  assertGradcheck(g, mul(e, g.param("w", uniform(rand, [4]))), rand);
  assert.throws(() => expand(xb, [3, 2, 2]), isError(/cannot be expanded to \(3, 2, 2\)/));
});

Deno.test("roll: values as torch.roll, with and without dims; gradcheck", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([[1, 2, 3], [4, 5, 6]], "float64"));
  assert.deepEqual(values(roll(x, 1).value), [6, 1, 2, 3, 4, 5]);
  assert.deepEqual(values(roll(x, 1, 1).value), [3, 1, 2, 6, 4, 5]);
  assert.deepEqual(values(roll(x, [-1, 1], [1, 0]).value), [5, 6, 4, 2, 3, 1]);
  const { rand, g: h, xb } = withBias("roll", [3, 4]);
  assertGradcheck(h, roll(xb, [2, -3], [0, 1]), rand);
  assertGradcheck(h, roll(xb, 5), rand);
});

Deno.test("split and chunk: pieces as torch's, gradients back through each", () => {
  const { rand, g, xb } = withBias("split", [7, 3]);
  assert.deepEqual(split(xb, 3).map((p) => p.shape[0]), [3, 3, 1]);
  assert.deepEqual(split(xb, [2, 5]).map((p) => p.shape[0]), [2, 5]);
  assert.deepEqual(chunk(xb, 3).map((p) => p.shape[0]), [3, 3, 1]);
  assert.deepEqual(chunk(xb, 3, 1).map((p) => p.shape[1]), [1, 1, 1]);
  const [a, , c] = split(xb, [2, 4, 1]);
  assertGradcheck(g, add(mul(sum(a), 2), sum(c)), rand);
  assert.throws(() => split(xb, [2, 2]), isError(/must add up to axis 0's length 7/));
});

Deno.test("maskedFill, tril, triu: values, and gradients only where x was kept", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([[1, 2, 3], [4, 5, 6], [7, 8, 9]], "float64"));
  assert.deepEqual(values(tril(x).value), [1, 0, 0, 4, 5, 0, 7, 8, 9]);
  assert.deepEqual(values(triu(x, 1).value), [0, 2, 3, 0, 0, 6, 0, 0, 0]);
  assert.deepEqual(values(tril(x, -1).value), [0, 0, 0, 4, 0, 0, 7, 8, 0]);
  const mask = g.input("mask", Tensor.from([0, 1, 0], "int32"));
  assert.deepEqual(values(maskedFill(x, mask, -1).value), [1, -1, 3, 4, -1, 6, 7, -1, 9]);
  const { rand, g: h, xb } = withBias("masks", [2, 4, 4]);
  const m = h.input("m", indices(rand, [4, 1], 2));
  assertGradcheck(h, maskedFill(xb, m, 0.5), rand);
  // A mask of x's trailing axes (attention's (T, T)), with and without a leading 1: no index map.
  for (const shape of [[4, 4], [1, 4, 4]]) {
    const tm = h.input(`m${shape.length}`, indices(rand, shape, 2));
    const filled = maskedFill(xb, tm, 0.5);
    const mv = tm.value.data, xv = xb.value.data;
    assert.deepEqual(values(filled.value), Array.from(xv, (v, i) => (mv[i % 16] ? 0.5 : v)));
    assertGradcheck(h, filled, rand);
  }
  assertGradcheck(h, tril(xb), rand);
  assertGradcheck(h, triu(xb, -1), rand);
});

Deno.test("argmax, topk, gather: indices as torch's; topk's values and gather take gradients", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([[1, 5, 5, 2], [7, 0, 3, 7]], "float64"));
  const am = argmax(x, 1);
  assert.equal(am.value.dtype, "int32");
  assert.deepEqual(values(am.value), [1, 0]);
  assert.deepEqual(values(argmax(x).value), [4]);
  assert.deepEqual(argmax(x, 0, true).shape, [1, 4]);
  const { values: v, indices: i } = topk(x, 2);
  assert.deepEqual(values(v.value), [5, 5, 7, 7]);
  assert.deepEqual(values(i.value), [1, 2, 0, 3]);
  assert.deepEqual(values(topk(x, 1, { dim: 0, largest: false }).indices.value), [0, 1, 1, 0]);
  assert.equal(am.requiresGrad, false);
  const { rand, g: h, xb } = withBias("topk", [3, 6]);
  assertGradcheck(h, topk(xb, 3).values, rand);
  const idx = h.input("idx", indices(rand, [3, 4], 6));
  assertGradcheck(h, gather(xb, 1, idx), rand);
  assert.throws(() => topk(xb, 7), isError(/topk: k = 7 does not fit axis 1/));
});

Deno.test("arange: int32 for integers, the graph's dtype for fractions", () => {
  const g = new Graph({ dtype: "float32" });
  const a = arange(g, 5);
  assert.equal(a.value.dtype, "int32");
  assert.deepEqual(values(a.value), [0, 1, 2, 3, 4]);
  assert.deepEqual(values(arange(g, 2, 11, 3).value), [2, 5, 8]);
  const f = arange(g, 0, 1, 0.25);
  assert.equal(f.value.dtype, "float32");
  assert.deepEqual(values(f.value), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(values(arange(g, 3, 0, -1).value), [3, 2, 1]);
  // arangeLike follows its input's shape when it changes
  const idx = g.input("idx", Tensor.zeros([2, 3], "int32"));
  const pos = arangeLike(idx, 1);
  assert.equal(pos.value.dtype, "int32");
  assert.deepEqual(values(pos.value), [0, 1, 2]);
  g.set(idx, Tensor.zeros([2, 5], "int32"));
  assert.deepEqual(values(pos.value), [0, 1, 2, 3, 4]);
});

Deno.test("multinomial: seeded draws repeat, follow the weights, and never repeat without replacement", () => {
  const g = new Graph({ dtype: "float64" });
  const p = g.input("p", Tensor.from([[0.1, 0.0, 0.6, 0.3]], "float64"));
  const a = multinomial(p, 4000, { replacement: true, seed: 7 });
  const b = multinomial(p, 4000, { replacement: true, seed: 7 });
  assert.deepEqual(values(a.value), values(b.value));
  const counts = [0, 0, 0, 0];
  for (const v of values(a.value)) counts[v]++;
  assert.equal(counts[1], 0);
  assert.ok(Math.abs(counts[2] / 4000 - 0.6) < 0.03, `class 2 drawn ${counts[2]} times`);
  const once = multinomial(p, 3, { generator: seededRandom(1) });
  assert.deepEqual([...values(once.value)].sort(), [0, 2, 3]);
  // each evaluation draws anew
  const before = values(a.value);
  g.recompute();
  assert.notDeepEqual(values(a.value), before);
  assert.throws(() => multinomial(p, 4), isError(/3 nonzero weights, fewer than the 4 samples/));
});

Deno.test("gelu's tanh form: gradcheck, values as makemore's NewGELU", () => {
  const { rand, g, xb } = withBias("gelu tanh", [4, 5]);
  assertGradcheck(g, gelu(xb, { approximate: "tanh" }), rand);
  const h = new Graph({ dtype: "float64" });
  const x = h.param("x", Tensor.from([-3, -0.5, 0, 0.5, 2], "float64"));
  const newGelu = (v: number) =>
    0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  assertClose(gelu(x, { approximate: "tanh" }).value, [-3, -0.5, 0, 0.5, 2].map(newGelu), 1e-15);
});

Deno.test("detach and noGrad: no gradient flows, and a backward from a no-grad node is refused", () => {
  const { rand, g, x, xb } = withBias("detach", [3, 2]);
  const y = add(mul(detach(xb), xb), 0).named("y");
  const grads = g.backward(sum(y));
  // d/dx Σ detach(x + b)·(x + b) = x + b: only the second factor's path counts
  assertClose(grads.get(x), values(xb.value));
  assert.equal(detach(xb).requiresGrad, false);
  assert.equal(isGradEnabled(), true);
  const z = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    return sum(mul(xb, xb));
  });
  assert.equal(isGradEnabled(), true);
  assert.equal(z.requiresGrad, false);
  assertClose(z.value, [values(xb.value).reduce((s, v) => s + v * v, 0)]);
  assert.throws(() => g.backward(z), isError(/does not depend on any parameter/));
  // nodes built after the scope take gradients again
  assertGradcheck(g, sum(mul(xb, xb)), rand);
  assert.throws(() => noGrad(() => Promise.resolve(1)), isError(/synchronous/));
});
