/**
 * What the engine says when it is used wrongly: one line that names the node (its label, or its
 * op and position as `tanh#3`) and says what to do. And compare never hides a failing rule: an
 * override that throws or returns the wrong shape is reported even when the node it feeds has no
 * label (`tanh(mul(x, 0.1))`).
 */
import assert from "node:assert/strict";
import {
  add,
  crossEntropy,
  formatComparison,
  Graph,
  kernels as t,
  matmul,
  mul,
  NinjagradError,
  relu,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { rng, uniform } from "./helpers.ts";

/** Asserts `fn` throws a one-line NinjagradError containing every piece. */
function assertError(fn: () => unknown, ...pieces: (string | RegExp)[]): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof NinjagradError, `not a NinjagradError: ${e}`);
    assert.ok(!e.message.includes("\n"), `more than one line: ${e.message}`);
    for (const p of pieces) {
      const ok = typeof p === "string" ? e.message.includes(p) : p.test(e.message);
      assert.ok(ok, `"${e.message}" lacks ${p}`);
    }
    return true;
  });
}

/** h = tanh(mul(x, 0.1)): the input of h is an unlabelled mul node. */
function unlabelled() {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rng("unlabelled"), [3, 4]));
  const h = tanh(mul(x, 0.1)).named("h");
  return { g, x, h, loss: sum(h).named("loss") };
}

Deno.test("compare reports an override that throws, though the input it feeds has no label", () => {
  const { g, h, loss } = unlabelled();
  g.override(h, () => {
    throw new Error("not written yet");
  });
  const cmp = g.compare(loss);
  const text = formatComparison(cmp);
  assert.doesNotMatch(text, /every node agrees/);
  assert.equal(cmp.firstDivergent?.name, `mul#${h.inputs[0].id}`, text);
  assert.match(
    cmp.firstDivergent?.error ?? "",
    /hand-written rule for input "x" of h .*threw: not written yet/,
  );
  assert.match(text, /first divergent node in backward order: mul#\d+ \(.*not written yet\)/);
});

Deno.test("compare reports an override of the wrong shape, though the input it feeds has no label", () => {
  const { g, h, loss } = unlabelled();
  g.override(h, ({ g: up }) => t.sum(up, { axis: 0, keepdim: false }));
  const cmp = g.compare(loss);
  assert.equal(cmp.firstDivergent?.name, `mul#${h.inputs[0].id}`);
  assert.ok(!cmp.firstDivergent!.shapeMatch);
  assert.match(
    cmp.firstDivergent!.error ?? "",
    /returned shape \(4,\), but mul#\d+ has shape \(3, 4\)/,
  );
  // Asked for some labels only, the failure still gets its row.
  const some = g.compare(loss, { labels: ["x"] });
  assert.deepEqual(some.rows.map((r) => r.name), ["x", `mul#${h.inputs[0].id}`]);
  assert.equal(some.firstDivergent?.name, `mul#${h.inputs[0].id}`);
});

Deno.test("compare still says every node agrees when the hand-written rule is right", () => {
  const { g, h, loss } = unlabelled();
  g.override(h, ({ g: up, out }) => t.mul(up, t.oneMinusSquare(out)));
  const cmp = g.compare(loss);
  assert.equal(cmp.firstDivergent, undefined);
  assert.match(formatComparison(cmp), /every node agrees/);
});

Deno.test("backward on a non-scalar raises, as PyTorch, unless a seed is given", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([1, 2, 3], "float64"));
  const y = mul(x, x).named("y");
  assertError(() => g.backward(y), "backward from y, of shape (3,)", "sum or mean", "{ seed }");
  const seed = Tensor.from([1, 0.5, 2], "float64");
  assert.deepEqual([...g.backward(y, { seed }).get(x)!.data], [2, 2, 12]);
  const unnamed = add(x, 1);
  assertError(() => g.backward(unnamed), `add#${unnamed.id}, of shape (3,)`);
  // A one-element tensor of any rank starts with 1, as PyTorch's numel() == 1.
  const one = sum(x, 0, true);
  assert.deepEqual([...g.backward(one).get(x)!.data], [1, 1, 1]);
});

Deno.test("a Tensor where a node is expected: names the input, says how to make it a node", () => {
  const g = new Graph();
  const x = g.param("x", Tensor.from([[1, 2]]));
  const W = Tensor.from([[1], [2]]);
  assertError(
    () => matmul(x, W as never),
    'matmul: input "b" is a Tensor (float32 (2, 1)), not a node',
    'graph.input("b", t)',
  );
  assertError(() => mul(W as never, 2), 'mul: input "a" is a Tensor', 'graph.param("a", t)');
  assertError(() => relu(W as never), 'relu: input "x" is a Tensor', "not a node");
  assertError(() => mul(x, "2" as never), 'input "b" is a string, not a node');
  assertError(() => g.backward(W as never), "expected a node or a label, got a Tensor");
});

Deno.test("a node of another graph is named by its label, or its op and position", () => {
  const one = new Graph(), two = new Graph();
  const x = one.param("x", Tensor.from([1, 2]));
  const W2 = two.param("W2", Tensor.from([3, 4]));
  assertError(
    () => mul(x, W2),
    'mul: W2 (input "b") is a node of another graph than x',
    "one graph",
  );
  const h = tanh(W2);
  assertError(() => add(x, h), `add: tanh#${h.id} (input "b") is a node of another graph`);
  assertError(() => one.backward(sum(h)), /^sum#\d+ is a node of another graph: use that graph/);
});

Deno.test("float targets to crossEntropy: names the node and says to make them int32", () => {
  const g = new Graph();
  const logits = g.param("logits", Tensor.zeros([4, 3]));
  const Yb = g.input("Yb", Tensor.from([0, 2, 1, 1]));
  assertError(
    () => crossEntropy(logits, Yb),
    "crossEntropy: the targets Yb are float32 (4,)",
    'Tensor.from(ys, "int32")',
  );
  assert.throws(() => crossEntropy(logits, Yb), (e) => !/pick/.test((e as Error).message));
  const short = g.input("short", Tensor.from([0, 1], "int32"));
  assertError(() => crossEntropy(logits, short), "logits (n, classes) and targets (n,)", "(2,)");
});
