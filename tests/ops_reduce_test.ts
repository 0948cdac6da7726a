/**
 * Finite-difference checks of the reductions in float64: sum, mean, max and var over each axis,
 * with and without keepdim, and over all axes.
 */
import assert from "node:assert/strict";
import { Graph, max, mean, type Node, sum, Tensor, variance } from "../mod.ts";
import { assertClose, assertGradcheck, rng, uniform, values } from "./helpers.ts";

type Reduce = (x: Node, axis: number | null, keepdim: boolean) => Node;
const REDUCE: Record<string, Reduce> = { sum, mean, max };
const AXES: (number | null)[] = [0, 1, -1, null];

for (const [name, op] of Object.entries(REDUCE)) {
  for (const keepdim of [false, true]) {
    Deno.test(`${name} over each axis of a 2-D tensor, keepdim ${keepdim}`, () => {
      const rand = rng(`${name} ${keepdim}`);
      const g = new Graph({ dtype: "float64" });
      const x = g.param("x", uniform(rand, [5, 4], -2, 2));
      for (const axis of AXES) assertGradcheck(g, op(x, axis, keepdim), rand);
    });
  }
  Deno.test(`${name} over the middle axis of a 3-D tensor`, () => {
    const rand = rng(`${name} 3d`);
    const g = new Graph({ dtype: "float64" });
    const x = g.param("x", uniform(rand, [2, 3, 4], -2, 2));
    assertGradcheck(g, op(x, 1, false), rand);
    assertGradcheck(g, op(x, 1, true), rand);
  });
}

for (const unbiased of [true, false]) {
  Deno.test(`var (unbiased ${unbiased}) over each axis, keepdim or not`, () => {
    const rand = rng(`var ${unbiased}`);
    const g = new Graph({ dtype: "float64" });
    const x = g.param("x", uniform(rand, [5, 4], -2, 2));
    for (const axis of AXES) {
      for (const keepdim of [false, true]) {
        assertGradcheck(g, variance(x, axis, keepdim, unbiased), rand);
      }
    }
  });
}

Deno.test("forward values: sum, mean, max and var of a small matrix", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([[1, 2, 3, 6], [4, 4, -1, 1]], "float64"));
  assert.deepEqual(values(sum(x, 1).value), [12, 8]);
  assert.deepEqual(values(mean(x, 0, true).value), [2.5, 3, 1, 3.5]);
  assert.deepEqual(max(x, 1, true).value.shape, [2, 1]);
  assert.deepEqual(values(max(x, 1, true).value), [6, 4]);
  assert.deepEqual(values(max(x).value), [6]);
  assertClose(variance(x, 1).value, [14 / 3, 18 / 3]); // Σ(x − mean)² is 14 and 18, / (n − 1)
  assertClose(variance(x, 1, true, false).value, [3.5, 4.5]);
  assertClose(variance(x).value, [(84 - 8 * 6.25) / 7]); // Σx² = 84, mean 2.5
});
