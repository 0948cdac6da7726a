/**
 * concat, stack, slice, permute, the N-D transpose and the batched matmul: forward values
 * against hand-made expectations (torch's, written out), finite-difference checks in float64
 * with broadcast shapes, and the errors for shapes that do not fit.
 */
import assert from "node:assert/strict";
import {
  add,
  concat,
  embedding,
  expand,
  Graph,
  matmul,
  mul,
  NinjagradError,
  permute,
  roll,
  slice,
  stack,
  Tensor,
  transpose,
} from "../mod.ts";
import { assertGradcheck, rng, uniform, values } from "./helpers.ts";

const f64 = () => new Graph({ dtype: "float64" });
const range = (n: number, shape: number[]) =>
  Tensor.from(Array.from({ length: n }, (_, i) => i), "float64", shape);

/** Asserts `fn` throws a NinjagradError whose message matches. */
function assertError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e) => e instanceof NinjagradError && pattern.test(e.message));
}

Deno.test("concat and stack: values along the first, a middle and the last axis", () => {
  const g = f64();
  const a = g.param("a", range(6, [2, 3])), b = g.param("b", range(4, [2, 2]));
  assert.deepEqual(values(concat([a, b], 1).value), [0, 1, 2, 0, 1, 3, 4, 5, 2, 3]);
  assert.deepEqual(concat([a, a], 0).shape, [4, 3]);
  const c = g.param("c", range(6, [2, 3]));
  assert.deepEqual(stack([a, c]).shape, [2, 2, 3]);
  assert.deepEqual(values(stack([a, c], 1).value), [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
  assert.deepEqual(values(stack([a, c], -1).value), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
});

Deno.test("concat, stack: gradcheck, with an input used twice and a broadcast before", () => {
  const rand = rng("join");
  const g = f64();
  const a = g.param("a", uniform(rand, [3, 2, 4]));
  const b = g.param("b", uniform(rand, [3, 1, 4]));
  const bias = g.param("bias", uniform(rand, [4]));
  for (const axis of [0, 1, 2, -1]) {
    const x = add(a, bias);
    const joined = axis === 1 ? concat([x, b, x], 1) : concat([x, mul(a, 2)], axis);
    assertGradcheck(g, joined.named(`concat${axis}`), rand);
    assertGradcheck(g, stack([x, a, x], axis).named(`stack${axis}`), rand);
  }
  assertGradcheck(g, stack([a], 3).named("stack_last"), rand);
});

Deno.test("slice with Python's bounds: negative, clipped, the default end", () => {
  const g = f64();
  const x = g.param("x", range(12, [3, 4]));
  assert.deepEqual(values(slice(x, 1, 1, 3).value), [1, 2, 5, 6, 9, 10]);
  assert.deepEqual(values(slice(x, 0, -1).value), [8, 9, 10, 11]);
  assert.deepEqual(values(slice(x, -1, 2, 100).value), [2, 3, 6, 7, 10, 11]);
  assertError(() => slice(x, 1, 3, 3), /empty/);
  const rand = rng("slice");
  const y = g.param("y", uniform(rand, [4, 5, 3]));
  assertGradcheck(g, slice(y, 1, 1, -1).named("middle"), rand);
  assertGradcheck(g, add(slice(y, 0, 0, 2), slice(y, 0, 2)).named("halves"), rand);
});

Deno.test("concat, stack, slice, expand and roll of int32 nodes give int32 nodes (indices moved in the graph), taking no gradient", () => {
  const g = f64();
  const idx = g.input("idx", Tensor.from([[3, 1, 4], [1, 5, 9]], "int32"));
  const blank = g.constant(Tensor.from([[7]], "int32"));
  // makemore's roll of idx with <BLANK> (7) written into the column that comes free.
  const padded = concat([expand(blank, [idx.size(0), 2]), idx], 1);
  const rolled = slice(padded, 1, 1, -1);
  for (
    const [node, want] of [
      [padded, [7, 7, 3, 1, 4, 7, 7, 1, 5, 9]],
      [rolled, [7, 3, 1, 7, 1, 5]],
      [roll(idx, 1, 1), [4, 3, 1, 9, 1, 5]],
      [stack([idx, idx], -1), [3, 3, 1, 1, 4, 4, 1, 1, 5, 5, 9, 9]],
    ] as const
  ) {
    assert.equal(node.value.dtype, "int32", node.name);
    assert.equal(node.requiresGrad, false, node.name);
    assert.deepEqual(values(node.value), want, node.name);
  }
  // An index moved in the graph serves a lookup, which follows the input when it changes.
  const table = g.param("table", range(16, [8, 2]));
  const rows = embedding(table, rolled);
  assert.deepEqual(values(rows.value).slice(0, 4), [14, 15, 6, 7]);
  g.set("idx", Tensor.from([[2, 1, 4], [1, 5, 9]], "int32"));
  assert.deepEqual(values(rows.value).slice(0, 4), [14, 15, 4, 5]);
  // A float node among the inputs keeps the graph's float dtype.
  assert.equal(concat([idx, g.param("f", range(6, [2, 3]))], 1).value.dtype, "float64");
});

Deno.test("permute and transpose(x, dim0, dim1) of a 3-D tensor; transpose(x) stays 2-D", () => {
  const g = f64();
  const x = g.param("x", range(24, [2, 3, 4]));
  const p = permute(x, [2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  // p[i, j, k] = x[j, k, i]
  assert.equal(p.value.get(3, 1, 2), x.value.get(1, 2, 3));
  const t = transpose(x, 0, 2);
  assert.deepEqual(t.shape, [4, 3, 2]);
  assert.equal(t.value.get(3, 1, 0), x.value.get(0, 1, 3));
  assert.deepEqual(transpose(x, -1, -2).shape, [2, 4, 3]);
  const m = g.param("m", range(6, [2, 3]));
  assert.equal(transpose(m).op?.name, "transpose");
  assert.deepEqual(values(transpose(m).value), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(values(transpose(m, 1, 0).value), [0, 3, 1, 4, 2, 5]);
  assertError(() => transpose(x), /name the axes/);
  assertError(() => permute(x, [0, 0, 1]), /each axis/);
  const rand = rng("permute");
  const y = g.param("y", uniform(rand, [2, 3, 4, 2]));
  assertGradcheck(g, permute(y, [3, 1, 0, 2]).named("permuted"), rand);
  assertGradcheck(g, transpose(y, 1, 3).named("swapped"), rand);
});

Deno.test("batched matmul: (B, m, k) @ (k, n), broadcast batches, vectors, as torch.matmul", () => {
  const g = f64();
  const a = g.param("a", range(12, [2, 2, 3]));
  const w = g.param("w", range(6, [3, 2]));
  // batch 0: [[0,1,2],[3,4,5]] @ [[0,1],[2,3],[4,5]] = [[10,13],[28,40]]
  assert.deepEqual(values(matmul(a, w).value), [10, 13, 28, 40, 46, 67, 64, 94]);
  const b = g.param("b", range(18, [3, 1, 2, 3]));
  assert.deepEqual(matmul(a, transpose(b, -1, -2)).shape, [3, 2, 2, 2]);
  const v = g.param("v", Tensor.from([1, 0, -1], "float64"));
  assert.deepEqual(matmul(a, v).shape, [2, 2]);
  assert.deepEqual(values(matmul(a, v).value), [-2, -2, -2, -2]);
  assert.deepEqual(matmul(v, w).shape, [2]);
  assert.deepEqual(matmul(v, v).shape, []);
  assert.equal(matmul(v, v).value.item(), 2);
  assertError(() => matmul(a, g.param("bad", range(8, [4, 2]))), /inner dimensions/);
  assertError(() => matmul(a, g.param("c", range(36, [3, 3, 4]))), /do not broadcast|inner/);
  assertError(() => matmul(a, w, true), /transpose\(x, -2, -1\)/);
});

Deno.test("batched matmul: gradcheck over broadcast batches and vectors", () => {
  const rand = rng("bmm");
  const g = f64();
  const cases: [number[], number[]][] = [
    [[3, 2, 4], [4, 5]],
    [[3, 2, 4], [3, 4, 5]],
    [[2, 1, 2, 3], [4, 3, 2]],
    [[2, 3], [5, 3, 2]],
    [[4], [2, 4, 3]],
    [[2, 3, 4], [4]],
    [[4], [4]],
  ];
  cases.forEach(([as, bs], i) => {
    const a = g.param(`a${i}`, uniform(rand, as));
    const b = g.param(`b${i}`, uniform(rand, bs));
    assertGradcheck(g, matmul(a, b).named(`ab${i}`), rand);
  });
});

Deno.test("float32: a batch against a matrix gives the 2-D product's bits, row by row", () => {
  const rand = rng("bmm32");
  const g = new Graph();
  const a = g.param("a", uniform(rand, [4, 8, 16]).clone("float32"));
  const w = g.param("w", uniform(rand, [16, 5]).clone("float32"));
  const batched = matmul(a, w);
  const flat = matmul(g.param("flat", a.value.reshape([32, 16]).clone()), w);
  assert.deepEqual(values(batched.value), values(flat.value));
  const b = g.param("b", uniform(rand, [4, 16, 5]).clone("float32"));
  const each = matmul(a, b);
  for (let i = 0; i < 4; i++) {
    const ai = g.param(`a${i}`, new Tensor(a.value.data.slice(i * 128, (i + 1) * 128), [8, 16]));
    const bi = g.param(`b${i}`, new Tensor(b.value.data.slice(i * 80, (i + 1) * 80), [16, 5]));
    assert.deepEqual(values(matmul(ai, bi).value), [
      ...each.value.data.slice(i * 40, (i + 1) * 40),
    ]);
  }
});

Deno.test("concat and stack name the shapes that do not fit", () => {
  const g = f64();
  const a = g.param("a", range(6, [2, 3])), b = g.param("b", range(6, [3, 2]));
  assertError(() => concat([a, b], 1), /other axes equal.*\(2, 3\) and \(3, 2\)/);
  assertError(() => stack([a, b]), /one shape/);
  assertError(() => concat([], 0), /non-empty array/);
  assertError(() => concat([a], 2), /axis 2 is out of range/);
});
