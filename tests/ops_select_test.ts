/**
 * clamp, maximum, minimum, where and min: finite-difference checks in float64 with broadcast
 * shapes (values kept away from ties and bounds, where the ops have kinks), and the gradients at
 * ties and bounds as PyTorch gives them: half each at a tie of maximum/minimum, the bounds of
 * clamp included, the first arg-min of min.
 */
import assert from "node:assert/strict";
import {
  add,
  clamp,
  Graph,
  maximum,
  min,
  minimum,
  NinjagradError,
  sum,
  Tensor,
  where,
} from "../mod.ts";
import { assertGradcheck, rng, uniform, values } from "./helpers.ts";

/** A float64 tensor whose values are distinct multiples of 0.1 (plus a little), shuffled. */
function spread(rand: () => number, shape: number[], offset = 0): Tensor {
  const t = Tensor.zeros(shape, "float64");
  const order = [...Array(t.size).keys()].sort(() => rand() - 0.5);
  order.forEach((k, i) => (t.data[i] = (k - Math.floor(t.size / 2)) * 0.1 + offset + 0.013));
  return t;
}

Deno.test("clamp with both bounds, one bound, and values on either side: gradcheck", () => {
  const rand = rng("clamp");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", spread(rand, [5, 4]));
  const b = g.param("b", Tensor.full([4], 0.004, "float64")); // a bias, broadcast along rows
  assertGradcheck(g, clamp(x, -0.5, 0.6).named("both"), rand);
  assertGradcheck(g, clamp(x, 0).named("low"), rand);
  assertGradcheck(g, clamp(x, null, 0.2).named("high"), rand);
  assertGradcheck(g, clamp(add(x, b), -0.5, 0.6).named("broadcast"), rand);
  assertGradcheck(g, clamp(sum(x, 0), -0.3, 0.3).named("summed"), rand);
});

Deno.test("maximum and minimum over broadcast shapes: gradcheck", () => {
  const rand = rng("extreme");
  for (const [as, bs] of [[[4, 5], [4, 5]], [[4, 5], [5]], [[4, 1], [1, 5]], [[], [3, 2]]]) {
    const g = new Graph({ dtype: "float64" });
    const a = g.param("a", spread(rand, as));
    const b = g.param("b", spread(rand, bs, 0.05)); // never equal to a value of a
    assertGradcheck(g, maximum(a, b).named("max"), rand);
    assertGradcheck(g, minimum(a, b).named("min"), rand);
    assertGradcheck(g, maximum(a, 0.31).named("max_number"), rand);
  }
});

Deno.test("where with a 0/1 int32 mask and a broadcast constant mask: gradcheck", () => {
  const rand = rng("where");
  const g = new Graph({ dtype: "float64" });
  const a = g.param("a", uniform(rand, [4, 5]));
  const b = g.param("b", uniform(rand, [5]));
  const mask = g.input(
    "mask",
    Tensor.from([[1, 0, 1, 1, 0], [0, 0, 1, 0, 1], [1, 1, 1, 0, 0], [
      0,
      1,
      0,
      1,
      0,
    ]], "int32"),
  );
  assertGradcheck(g, where(mask, a, b).named("picked"), rand);
  const rows = g.constant(Tensor.from([[1], [0], [0], [1]], "int32"));
  assertGradcheck(g, where(rows, b, a).named("by_row"), rand);
  assertGradcheck(g, where(mask, a, 0).named("zeroed"), rand);
});

Deno.test("min over each axis and over all: gradcheck", () => {
  const rand = rng("min");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", spread(rand, [3, 4, 2]));
  for (const axis of [0, 1, 2, -1, null]) {
    assertGradcheck(g, min(x, axis).named(`min${axis}`), rand);
    assertGradcheck(g, min(x, axis, true).named(`min${axis}_keep`), rand);
  }
});

Deno.test("at ties and bounds: maximum halves g, clamp keeps its bounds, min picks the first", () => {
  const g = new Graph({ dtype: "float64" });
  const a = g.param("a", Tensor.from([1, 2, 3], "float64"));
  const b = g.param("b", Tensor.from([1, 5, 0], "float64"));
  const grads = g.backward(sum(maximum(a, b)));
  assert.deepEqual(values(grads.get(a)), [0.5, 0, 1]);
  assert.deepEqual(values(grads.get(b)), [0.5, 1, 0]);
  const lo = g.backward(sum(minimum(a, b)));
  assert.deepEqual(values(lo.get(a)), [0.5, 1, 0]);
  const x = g.param("x", Tensor.from([-1, 0, 0.5, 1, 2], "float64"));
  assert.deepEqual(values(clamp(x, 0, 1).value), [0, 0, 0.5, 1, 1]);
  assert.deepEqual(values(g.backward(sum(clamp(x, 0, 1))).get(x)), [0, 1, 1, 1, 0]);
  const t = g.param("t", Tensor.from([[3, 1, 1], [2, 2, 0]], "float64"));
  const m = min(t, 1);
  assert.deepEqual(values(m.value), [1, 0]);
  assert.deepEqual(values(g.backward(sum(m)).get(t)), [0, 1, 0, 0, 0, 1]);
});

Deno.test("where's condition takes no gradient; clamp without bounds says what to give", () => {
  const g = new Graph({ dtype: "float64" });
  const cond = g.param("cond", Tensor.from([1, 0], "float64"));
  const a = g.param("a", Tensor.from([1, 2], "float64"));
  const grads = g.backward(sum(where(cond, a, 7)));
  assert.equal(grads.get(cond), undefined);
  assert.deepEqual(values(grads.get(a)), [1, 0]);
  assert.throws(
    () => clamp(a),
    (e) => e instanceof NinjagradError && /min or a max/.test(e.message),
  );
});
