/**
 * Live sizes: `node.size(dim)` given to expand, slice and reshape in place of a number is read
 * off that node on every run. Each op: a float64 gradient check (random non-unit upstream
 * gradient, a broadcast bias) before and after the size's node changes shape, its sizes following
 * that node, a plain number beside them staying as written, and no gradient for the node the
 * size is read off. Then the refusals.
 */
import assert from "node:assert/strict";
import {
  add,
  expand,
  Graph,
  mul,
  NinjagradError,
  type Node,
  reshape,
  Size,
  slice,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { assertGradcheck, indices, rng, uniform, withBias } from "./helpers.ts";

/** A backward from `out` seeded with ones (Σ out). */
const ones = (out: Node) => {
  const seed = Tensor.zeros(out.shape, "float64");
  seed.data.fill(1);
  return out.graph.backward(out, { seed });
};

const isError = (pattern: RegExp) => (e: unknown) =>
  e instanceof NinjagradError && pattern.test(e.message);

Deno.test("expand(x, [like.size(0), -1]): gradcheck; follows like's batch; a number stays; like takes no gradient", () => {
  const { rand, g, b, xb } = withBias("expand live", [1, 3], "input");
  const like = g.input("like", uniform(rand, [4, 5])); // float, so gradcheck perturbs it too
  const e = expand(xb, [like.size(0), -1]).named("e"); // makemore's start.expand((b, -1))
  const f = expand(xb, [2, like.size(-2), 3]).named("f"); // a new leading axis of 2, fixed
  assert.ok(e.inputs[1] === like, "the size's node is an input of the expand (an edge)");
  const w = g.param("w", uniform(rand, [3], 0.5, 1.5));
  const out = add(sum(mul(e, w), 0), sum(sum(tanh(f), 0), 0)).named("out"); // (3,)
  assert.deepEqual([e.shape, f.shape], [[4, 3], [2, 4, 3]]);
  assertGradcheck(g, out, rand);
  assert.equal(ones(out).get(like), undefined, "like received a gradient");
  g.set(like, uniform(rand, [7, 2]));
  assert.deepEqual([e.shape, f.shape], [[7, 3], [2, 7, 3]]);
  // d out / d b: 7 copies through e, weighted by w, and 2·7 through tanh(f).
  const dB = ones(out).get(b)!;
  const xbNow = xb.value.data;
  for (let j = 0; j < 3; j++) {
    const want = 7 * w.value.data[j] + 14 * (1 - Math.tanh(xbNow[j]) ** 2);
    assert.ok(Math.abs(dB.data[j] - want) < 1e-12, `db[${j}] ${dB.data[j]} vs ${want}`);
  }
  assertGradcheck(g, out, rand);
});

Deno.test("slice(x, axis, start, like.size(1)): gradcheck; live bounds follow; a number stays", () => {
  const { rand, g, xb } = withBias("slice live", [5, 6], "input");
  const like = g.input("like", uniform(rand, [2, 4]));
  const head = slice(xb, 1, 1, like.size(1)).named("head"); // xb[:, 1:T]: 1 fixed, T live
  const tail = slice(xb, 0, like.size(0)).named("tail"); // xb[B:]
  const both = slice(slice(xb, 0, 0, like.size(1)), 1, 0, like.size(1)); // mask[:T, :T]
  const w = g.param("w", uniform(rand, [1, 6], 0.5, 1.5));
  const outs = [tanh(head), mul(tail, w), tanh(both)];
  assert.deepEqual([head.shape, tail.shape, both.shape], [[5, 3], [3, 6], [4, 4]]);
  for (const out of outs) assertGradcheck(g, out, rand);
  assert.equal(ones(outs[2]).get(like), undefined, "like received a gradient");
  g.set(like, uniform(rand, [4, 5]));
  assert.deepEqual([head.shape, tail.shape, both.shape], [[5, 4], [1, 6], [5, 5]]);
  // The values are x's own: head starts at column 1 whatever T is.
  const xbNow = xb.value.data;
  assert.equal(head.value.data[0], xbNow[1]);
  assert.equal(head.value.data[3], xbNow[4]);
  assert.equal(tail.value.data[0], xbNow[4 * 6]);
  for (const out of outs) assertGradcheck(g, out, rand);
  // A bound past the axis clips, as Python's; an empty slice is refused, naming the shapes.
  g.set(like, uniform(rand, [1, 9]));
  assert.deepEqual(head.shape, [5, 5]);
  assert.throws(
    () => g.set(like, uniform(rand, [5, 1])),
    isError(/slice \[1:1\] of axis 1 \(length 6\) of \(5, 6\) is empty/),
  );
  assert.deepEqual(head.shape, [5, 5], "the graph keeps its previous shapes");
});

Deno.test("reshape(x, [like.size(0), 6, -1]): gradcheck; follows like; its numbers stay as written", () => {
  const rand = rng("reshape live");
  const g = new Graph({ dtype: "float64" });
  const x = g.input("x", uniform(rand, [4, 6, 2]));
  const xb = add(x, g.param("b", uniform(rand, [1]))).named("xb"); // b broadcasts everywhere
  const like = g.input("like", uniform(rand, [4, 3]));
  const sized = reshape(xb, [like.size(0), 6, -1]).named("sized");
  const plain = reshape(xb, [4, 6, -1]).named("plain"); // numbers only: 4 and 6 were x's, so follow
  const w = g.param("w", uniform(rand, [2], 0.5, 1.5));
  const out = mul(tanh(sized), w).named("out");
  assertGradcheck(g, out, rand);
  assertGradcheck(g, tanh(plain), rand);
  assert.equal(ones(out).get(like), undefined, "like received a gradient");
  // x (4, 3, 4): the live view keeps its 6 as written; the plain one follows x's axis 1.
  g.run({ x: uniform(rand, [4, 3, 4]) });
  assert.deepEqual([sized.shape, plain.shape], [[4, 6, 2], [4, 3, 4]]);
  assertGradcheck(g, out, rand);
  // Both change: 2 rows of like, x (2, 6, 2).
  g.run({ x: uniform(rand, [2, 6, 2]), like: uniform(rand, [2, 3]) });
  assert.deepEqual(sized.shape, [2, 6, 2]);
  assert.ok(sized.value.data.every((v, i) => v === xb.value.data[i]));
  assertGradcheck(g, out, rand);
  // A size that no longer fits: the error names the view and the shapes.
  assert.throws(
    () => g.set(like, uniform(rand, [3, 3])),
    isError(
      /^setting like to \(3, 3\): sized \(view\): cannot view \(2, 6, 2\) \(24 elements\) as \(3, 6, -1\)/,
    ),
  );
});

Deno.test("sizes: node.size(), .value, the size's node as the input itself, and the refusals", () => {
  const g = new Graph({ dtype: "float64" });
  const idx = g.input("idx", indices(rng("sizes"), [4, 7], 5));
  const h = g.param("h", Tensor.zeros([1, 3], "float64"));
  const [B, T] = idx.size();
  assert.ok(B instanceof Size && T instanceof Size);
  assert.deepEqual([B.value, T.value, idx.size(-1).value], [4, 7, 7]);
  assert.equal(String(idx.size(-1)), "idx.size(-1)");
  // x's own size: view x (B, 3) as (B, 3, 1), B read off x itself.
  const e = expand(h, [B, -1]);
  const v = reshape(e, [e.size(0), 3, 1]);
  g.set(idx, indices(rng("sizes 2"), [2, 7], 5));
  assert.deepEqual(v.shape, [2, 3, 1]);
  assert.throws(
    () => idx.size(2),
    isError(/^idx\.size\(2\): idx is \(2, 7\), axes 0\.\.1 \(or -2\.\.-1/),
  );
  assert.throws(() => idx.size(0.5), isError(/^idx\.size\(0\.5\)/));
  // Sizes of two nodes in one call: one line, saying what to do.
  assert.throws(
    () => expand(h, [idx.size(0), h.size(1)]),
    isError(
      /^expand: sizes are read off idx and h, but one call reads its live sizes off one node: take them all from idx, or give h\.size\(1\) as a number \(h\.shape\[1\], fixed\)$/,
    ),
  );
  assert.throws(() => slice(e, 0, idx.size(0), h.size(0)), isError(/^slice: sizes are read off/));
  // A size's node of another graph is refused by name, as any input of another graph.
  const other = new Graph({ dtype: "float64" }).input("o", Tensor.zeros([2, 2], "float64"));
  assert.throws(() => expand(h, [other.size(0), -1]), isError(/node of another graph/));
});
