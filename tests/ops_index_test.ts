/**
 * Finite-difference checks in float64 of the ops that move elements: matmul in its four transpose
 * variants, reshape (view) with -1, transpose, the embedding lookup and pick.
 */
import assert from "node:assert/strict";
import { embedding, Graph, matmul, pick, reshape, tanh, Tensor, transpose } from "../mod.ts";
import { assertGradcheck, indices, rng, uniform, values } from "./helpers.ts";

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    Deno.test(`matmul transA ${transA} transB ${transB}`, () => {
      const rand = rng(`matmul ${transA} ${transB}`);
      const g = new Graph({ dtype: "float64" });
      // op(A) is (3,4), op(B) is (4,5), whatever is stored transposed.
      const a = g.param("A", uniform(rand, transA ? [4, 3] : [3, 4]));
      const b = g.param("B", uniform(rand, transB ? [5, 4] : [4, 5]));
      const c = matmul(a, b, transA, transB).named("C");
      assertGradcheck(g, c, rand);
    });
  }
}

Deno.test("reshape with -1, as emb.view(32, -1)", () => {
  const rand = rng("reshape");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [4, 3, 2]));
  // tanh after the view, so that the gradient arriving at the view is not just the seed.
  assertGradcheck(g, tanh(reshape(x, [4, -1])), rand);
  assertGradcheck(g, tanh(reshape(x, [-1])), rand);
  assertGradcheck(g, tanh(reshape(x, [2, -1, 3])), rand);
});

Deno.test("transpose", () => {
  const rand = rng("transpose");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [3, 5]));
  assertGradcheck(g, tanh(transpose(x)), rand);
});

Deno.test("embedding with a (4,3) index tensor, as C[Xb]", () => {
  const rand = rng("embedding 2d");
  const g = new Graph({ dtype: "float64" });
  const C = g.param("C", uniform(rand, [7, 5]));
  const Xb = g.input("Xb", indices(rand, [4, 3], 7));
  assertGradcheck(g, tanh(embedding(C, Xb)).named("emb"), rand);
});

Deno.test("embedding with a 1-D index tensor", () => {
  const rand = rng("embedding 1d");
  const g = new Graph({ dtype: "float64" });
  const C = g.param("C", uniform(rand, [7, 5]));
  const idx = g.input("idx", indices(rand, [9], 7));
  assertGradcheck(g, tanh(embedding(C, idx)), rand);
});

Deno.test("pick, as logprobs[range(n), Yb]", () => {
  const rand = rng("pick");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("logprobs", uniform(rand, [6, 4]));
  const Yb = g.input("Yb", indices(rand, [6], 4));
  assertGradcheck(g, tanh(pick(x, Yb)), rand);
});

Deno.test("forward values: matmul in its four variants, view, transpose, embedding, pick", () => {
  const g = new Graph({ dtype: "float64" });
  const A = g.param("A", Tensor.from([[1, 2], [3, 4]], "float64"));
  const B = g.param("B", Tensor.from([[5, 6], [7, 8]], "float64"));
  assert.deepEqual(values(matmul(A, B).value), [19, 22, 43, 50]);
  assert.deepEqual(values(matmul(A, B, true).value), [26, 30, 38, 44]);
  assert.deepEqual(values(matmul(A, B, false, true).value), [17, 23, 39, 53]);
  assert.deepEqual(values(matmul(A, B, true, true).value), [23, 31, 34, 46]);
  assert.deepEqual(reshape(A, [-1]).value.shape, [4]);
  assert.deepEqual(values(transpose(A).value), [1, 3, 2, 4]);
  const idx = g.input("idx", Tensor.from([[1, 0], [1, 1]], "int32"));
  const emb = embedding(B, idx);
  assert.deepEqual(emb.value.shape, [2, 2, 2]);
  assert.deepEqual(values(emb.value), [7, 8, 5, 6, 7, 8, 7, 8]);
  assert.deepEqual(values(pick(A, g.input("Yb", Tensor.from([1, 0], "int32"))).value), [2, 3]);
});
