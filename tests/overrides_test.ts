/**
 * Overrides, as the lecture's exercise 1 uses them: a learner replaces one node's rule with a
 * hand-written one and compare says whether it agrees; the engine rejects a rule's wrong shape,
 * missing result or NaN with a message that says what to do.
 */
import assert from "node:assert/strict";
import {
  add,
  exp,
  Graph,
  kernels,
  log,
  matmul,
  max,
  mean,
  mul,
  neg,
  NinjagradError,
  pick,
  pow,
  type Rule,
  sub,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { indices, rng, sameValues, uniform } from "./helpers.ts";

/** The lecture's forward pass from bnraw on, atomic, in float32 as the lecture runs it. */
function lectureTail() {
  const rand = rng("lecture tail");
  const g = new Graph();
  const bnraw = g.param("bnraw", uniform(rand, [32, 64], -2, 2));
  const bngain = g.param("bngain", uniform(rand, [1, 64], 0.9, 1.1));
  const bnbias = g.param("bnbias", uniform(rand, [1, 64], -0.1, 0.1));
  const scaled = mul(bngain, bnraw);
  const hpreact = add(scaled, bnbias).named("hpreact");
  const h = tanh(hpreact).named("h");
  const logits = matmul(h, g.param("W2", uniform(rand, [64, 27], -0.1, 0.1))).named("logits");
  const logitMaxes = max(logits, 1, true).named("logit_maxes");
  const counts = exp(sub(logits, logitMaxes).named("norm_logits")).named("counts");
  const countsSum = sum(counts, 1, true).named("counts_sum");
  const countsSumInv = pow(countsSum, -1).named("counts_sum_inv");
  const probs = mul(counts, countsSumInv).named("probs");
  const logprobs = log(probs).named("logprobs");
  const Yb = g.input("Yb", indices(rand, [32], 27));
  const loss = neg(mean(pick(logprobs, Yb), 0)).named("loss");
  return { g, scaled, loss };
}

/** tanh's rule as a learner writes it: (1 − h²) · dh. */
const tanhRule: Rule = ({ g, out }) => kernels.mul(g, kernels.oneMinusSquare(out));

/** Asserts `fn` throws a NinjagradError whose message contains every piece. */
function assertError(fn: () => unknown, ...pieces: string[]): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof NinjagradError, `not a NinjagradError: ${e}`);
    for (const p of pieces) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("a correct hand-written tanh rule, set by label, compares exact", () => {
  const { g, loss } = lectureTail();
  g.override("h", tanhRule);
  assert.ok(g.node("h").override);
  const cmp = g.compare(loss);
  // Every node that receives a gradient but the loss, named or not: the 14 labelled ones and
  // the steps between them (bngain · bnraw, the pick, its mean, the negation).
  assert.equal(cmp.rows.length, g.backward(loss).nodes().length - 1);
  assert.deepEqual(cmp.rows.filter((r) => r.node.label === undefined).map((r) => r.text), [
    "mean#17", // (logprobs[·, Yb]).mean(0) is too long to spell out: its op and position
    "logprobs[·, Yb]",
    "bngain · bnraw",
  ]);
  for (const row of cmp.rows) assert.ok(row.exact && row.shapeMatch, `${row.name} not exact`);
  assert.equal(cmp.firstDivergent?.name, undefined); // a name: a row holds the whole graph
});

Deno.test("a rule with the wrong sign is flagged at the node it feeds", () => {
  const { g, loss } = lectureTail();
  g.override("h", ({ g: dh, out }) => kernels.mul(dh, kernels.sub(kernels.mul(out, out), 1)));
  const cmp = g.compare(loss);
  assert.equal(cmp.firstDivergent?.name, "hpreact");
  const row = (name: string) => cmp.rows.find((r) => r.name === name)!;
  assert.ok(row("h").exact); // h's own gradient comes from above, untouched
  assert.ok(!row("hpreact").approximate && row("hpreact").shapeMatch);
  assert.ok(!row("bngain").approximate); // and everything below it inherits the error
});

Deno.test("undo restores the automatic rule", () => {
  const { g, loss } = lectureTail();
  const auto = g.backward(loss).get("hpreact");
  const undo = g.override("h", ({ g: dh }) => kernels.neg(dh));
  assert.ok(!sameValues(g.backward(loss).get("hpreact"), auto));
  undo();
  assert.equal(g.node("h").override, undefined);
  const before = g.ruleCounts.override;
  assert.ok(sameValues(g.backward(loss).get("hpreact"), auto));
  assert.equal(g.ruleCounts.override, before);
});

/** counts_sum_inv's rule without the sum over the row: the lecture's classic mistake. */
const noSum: Rule = ({ g, inputs }) => kernels.mul(g, inputs.a);

Deno.test("a (32,27) gradient for the (32,1) counts_sum_inv says to sum over axis 1", () => {
  const { g, loss } = lectureTail();
  g.override("probs", { b: noSum });
  assertError(
    () => g.backward(loss),
    "probs (mul)",
    'input "b"',
    "counts_sum_inv",
    "(32, 27)",
    "(32, 1)",
    "sum over axis 1 with keepdim",
  );
});

Deno.test("in compare, the same wrong shape is a row with shapeMatch false, not a throw", () => {
  const { g, loss } = lectureTail();
  g.override("probs", { b: noSum });
  const cmp = g.compare(loss);
  const row = cmp.rows.find((r) => r.name === "counts_sum_inv")!;
  assert.equal(row.shapeMatch, false);
  assert.deepEqual(row.shapeGot, [32, 27]);
  assert.ok(row.error?.includes("sum over axis 1 with keepdim"), row.error);
  assert.equal(cmp.firstDivergent?.name, "counts_sum_inv");
  // The automatic gradient stands in below, so the rest of the table still compares.
  assert.ok(cmp.rows.find((r) => r.name === "counts_sum")!.exact);
});

Deno.test("a (64,) gradient for the (1,64) bngain is rejected with a shape hint", () => {
  const { g, scaled, loss } = lectureTail();
  g.override(scaled, {
    a: ({ g: dout, inputs: { b } }) =>
      kernels.sum(kernels.mul(dout, b), { axis: 0, keepdim: false }),
  });
  assertError(() => g.backward(loss), "bngain", "(64,)", "(1, 64)", "keepdim");
});

Deno.test("a rule returning nothing, NaN or a plain array is rejected clearly", () => {
  const { g, loss } = lectureTail();
  const wrong = (result: unknown): Rule => () => result as Tensor;
  g.override("h", wrong(undefined));
  assertError(() => g.backward(loss), "h (tanh)", 'input "x"', "forget to return");
  g.override("h", ({ g: dh }) => kernels.mul(dh, NaN));
  assertError(() => g.backward(loss), "h (tanh)", "NaN", "must be finite");
  g.override("h", wrong([1, 2, 3]));
  assertError(() => g.backward(loss), "h (tanh)", "plain array", "instead of a Tensor");
  g.override("h", () => {
    throw new Error("not yet written");
  });
  assertError(() => g.backward(loss), "h (tanh)", "threw: not yet written");
});

Deno.test("a single rule for a node with two inputs asks for one rule per input", () => {
  const { g } = lectureTail();
  assertError(() => g.override("probs", noSum), "probs (mul)", "a, b", "{ a: ... }");
  assertError(() => g.override("probs", { c: noSum }), 'no differentiable input "c"');
  assertError(() => g.override("bngain", noSum), "leaf");
});
