/**
 * gradcheck checks every float leaf, the ones the backward gives no gradient included (compared
 * as zeros): an op whose second operand lost its rule fails, a leaf the output does not depend
 * on (a condition, an unused parameter) passes.
 */
import assert from "node:assert/strict";
import { apply, atomic, gradcheck, Graph, NinjagradError, ops, sum, Tensor } from "../mod.ts";
import { rng, uniform } from "./helpers.ts";

/**
 * mul with b marked as taking no gradient and its rule deleted: what a slip in an op record
 * would do. The backward then gives b nothing, and only finite differences can tell.
 */
const mulWithoutB = atomic({
  ...ops.mul,
  name: "mul_without_b",
  nondiff: ["b"],
  vjp: { a: ops.mul.vjp.a },
});

/** where(cond > 0, x, 0): cond steers the output but has no derivative, so no rule. */
const keepWhere = atomic<"cond" | "x">({
  name: "keep_where",
  inputs: ["cond", "x"],
  nondiff: ["cond"],
  shape: ({ x }) => x,
  forward: ({ cond, x }, out) => {
    for (let i = 0; i < out.size; i++) out.data[i] = cond.data[i] > 0 ? x.data[i] : 0;
  },
  vjp: {
    x: ({ g, inputs: { cond } }) => {
      const dx = Tensor.zeros(g.shape, "float64");
      for (let i = 0; i < g.size; i++) dx.data[i] = cond.data[i] > 0 ? g.data[i] : 0;
      return dx;
    },
  },
});

Deno.test("a second operand that lost its gradient fails the check, named", () => {
  const rand = rng("lost b");
  const g = new Graph({ dtype: "float64" });
  const a = g.param("a", uniform(rand, [3, 4]));
  const b = g.param("b", uniform(rand, [3, 4], 0.5, 1.5));
  const out = sum(apply(mulWithoutB, { a, b })).named("out");
  const result = gradcheck(g, out, { random: rand });
  const row = result.rows.find((r) => r.name === "b");
  assert.ok(row, `b was not checked: ${result.rows.map((r) => r.name).join(", ")}`);
  assert.equal(row.received, false);
  assert.ok(row.maxError > 0.1, `b is off by only ${row.maxError}`);
  assert.ok(result.maxError > 0.1);
  assert.equal(result.rows.find((r) => r.name === "a")?.received, true);
});

Deno.test("a leaf with truly no gradient (a condition, an unused parameter) passes as zeros", () => {
  const rand = rng("condition");
  const g = new Graph({ dtype: "float64" });
  // Values well away from 0: a step of 1e-6 never flips the condition.
  const cond = g.param("cond", Tensor.from([[-1, 0.5, 2], [0.7, -0.3, -2]], "float64"));
  const x = g.param("x", uniform(rand, [2, 3]));
  g.param("unused", uniform(rand, [4]));
  const out = sum(apply(keepWhere, { cond, x })).named("out");
  const result = gradcheck(g, out, { random: rand });
  assert.deepEqual(result.rows.map((r) => [r.name, r.received]), [
    ["cond", false],
    ["x", true],
    ["unused", false],
  ]);
  assert.ok(result.maxError < 1e-8, `maxError ${result.maxError}`);
});

Deno.test("wrt takes float leaves only, with one line for anything else", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([1, 2], "float64"));
  const ix = g.input("ix", Tensor.from([0, 1], "int32"));
  const out = sum(x).named("out");
  assert.throws(
    () => gradcheck(g, out, { wrt: [ix] }),
    (e: unknown) => e instanceof NinjagradError && /ix is an integer leaf/.test(e.message),
  );
});
