/**
 * graph.compare judges every node, named or not, and blames the rule that made the first
 * divergent gradient: in a user's graph x → x @ W1 → + b1 → tanh (named h1) → h1 @ W2 → tanh →
 * loss, a wrong rule on h1 makes the unnamed `x @ W1 + b1` the first divergent node and blames
 * h1's rule (not b1, the next named node); a wrong rule on the unnamed tanh blames that node.
 * The charts' verdicts and the gradient-flow graph say the same.
 */
import assert from "node:assert/strict";
import {
  add,
  formatComparison,
  Graph,
  kernels as t,
  matmul,
  mean,
  mul,
  sub,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { gradientFlowGraphSpec, snapshotGraph, verdictsFromComparison } from "../viz/mod.ts";
import { rng, uniform } from "./helpers.ts";

function userGraph() {
  const rand = rng("a user's graph");
  const graph = new Graph({ dtype: "float64" });
  const x = graph.input("x", uniform(rand, [8, 5], -1, 1));
  const W1 = graph.param("W1", uniform(rand, [5, 6], -1, 1));
  const b1 = graph.param("b1", uniform(rand, [6], -0.5, 0.5));
  const W2 = graph.param("W2", uniform(rand, [6, 3], -1, 1));
  const h1 = tanh(add(matmul(x, W1), b1)).named("h1");
  const out = tanh(matmul(h1, W2));
  const loss = sum(out).named("loss");
  return { graph, h1, out, loss };
}

/** tanh's rule with the sign of its derivative flipped: (h² − 1) · g. */
const wrongTanh = {
  x: ({ g, out }: { g: Tensor; out: Tensor }) => t.mul(g, t.sub(t.mul(out, out), 1)),
};

/** The fields a failed assert can print (a row holds the whole graph). */
function summary(cmp: ReturnType<Graph["compare"]>) {
  return {
    first: cmp.firstDivergent?.name,
    firstText: cmp.firstDivergent?.text,
    blame: cmp.blame.map((b) => `${b.name}.${b.input}`),
  };
}

Deno.test("a wrong rule on the named h1: first divergent is the unnamed x @ W1 + b1, blamed on h1", () => {
  const { graph, loss } = userGraph();
  const auto = graph.compare(loss);
  assert.equal(auto.firstDivergent, undefined, formatComparison(auto));
  graph.override("h1", wrongTanh);
  const cmp = graph.compare(loss);
  const table = formatComparison(cmp);
  // Every node with a gradient has a row, the unnamed ones by op and position.
  assert.ok(cmp.rows.some((r) => r.name.startsWith("add#") && r.text === "x @ W1 + b1"), table);
  assert.deepEqual(summary(cmp), { first: "add#5", firstText: "x @ W1 + b1", blame: ["h1.x"] });
  assert.match(table, /first divergent node in backward order: add#5 \(x @ W1 \+ b1\)/);
  assert.match(table, /comes from the hand-written rule of h1 for input x: check that rule first/);
  const verdicts = verdictsFromComparison(cmp);
  assert.equal(verdicts.firstDivergent, "add#5");
  assert.deepEqual(verdicts.blame, ["h1"]);
  assert.equal(verdicts.nodes["b1"].status, "differs"); // downstream of the mistake, not its cause
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, graph.backward(loss)), { verdicts });
  // The chart names the same rule (its subtitle wraps where it will).
  const title = (spec.title as { subtitle: string[] }).subtitle.join(" ").replace(/\s+/g, " ");
  assert.match(title, /Its gradient comes from the rule of h1 \(tanh\): check that rule first/);
});

Deno.test("a wrong rule on an unnamed tanh is blamed on that node, by op and position", () => {
  const { graph, out, loss } = userGraph();
  graph.override(out, wrongTanh);
  const cmp = graph.compare(loss);
  assert.deepEqual(summary(cmp), {
    first: "matmul#7",
    firstText: "h1 @ W2",
    blame: [`${out.name}.x`],
  });
  assert.equal(out.name, "tanh#8");
  assert.match(
    formatComparison(cmp),
    /hand-written rule of tanh#8 \(tanh\(h1 @ W2\)\) for input x/,
  );
});

Deno.test("a zero gradient is named zero in truth by a scaled seed, never by its size", () => {
  // centred = z − mean(z), z = x + b: b's gradient, Σ (w − mean(w)), is zero in exact
  // arithmetic; x's, w − mean(w), is a real gradient, however small w is.
  const graph = new Graph({ dtype: "float32" });
  const x = graph.param("x", Tensor.from([0.3, -1.7, 2.9, 0.1]));
  const b = graph.param("b", Tensor.from([0.7]));
  const w = graph.param("w", Tensor.from([1e-9, -3e-9, 2e-9, 7e-9]));
  const z = add(x, b).named("z");
  const loss = sum(mul(sub(z, mean(z, 0, true)).named("centred"), w)).named("loss");
  const cmp = graph.compare(loss);
  const zero = cmp.rows.filter((r) => r.zeroInTruth).map((r) => r.name);
  assert.deepEqual(zero, ["b"], formatComparison(cmp));
  assert.ok(Math.abs(graph.backward(loss).get(x)!.data[0]) < 1e-8); // tiny, and still real
  // The charts' "≈ 0: rounding noise" follows the same probe.
  const snap = snapshotGraph(graph, graph.backward(loss));
  assert.deepEqual(snap.nodes.filter((n) => n.roundingNoise).map((n) => n.name), ["b"]);
});

Deno.test("a small real gradient (logits at mean |grad| 1e-4 under a large one) is not rounding noise", () => {
  // The case: a user's logits, mean |grad| 9.3e-5, were labelled zero in exact arithmetic.
  const graph = new Graph({ dtype: "float32" });
  const h = graph.param("h", Tensor.from([[0.5, -1.2, 0.3], [2, 0.1, -0.7]]));
  const W = graph.param("W", Tensor.from([[0.2, -0.4], [0.9, 0.1], [-0.3, 0.6]]));
  const logits = matmul(h, W).named("logits");
  const big = mul(logits, 9.3e-5).named("scaled"); // logits' consumer passes back 9.3e-5 · its own
  const loss = sum(mul(big, graph.param("u", Tensor.from([[1, -1], [1, 1]])))).named("loss");
  const grads = graph.backward(loss);
  const mean = Array.from(grads.get(logits)!.data).reduce((a, v) => a + Math.abs(v), 0) / 4;
  assert.ok(Math.abs(mean - 9.3e-5) < 1e-9, String(mean));
  const snap = snapshotGraph(graph, grads);
  assert.deepEqual(snap.nodes.filter((n) => n.roundingNoise).map((n) => n.name), []);
  assert.deepEqual(graph.compare(loss).rows.filter((r) => r.zeroInTruth).map((r) => r.name), []);
});

Deno.test("a flipped rule on a gradient that is zero in truth is caught by a random upstream", () => {
  // z = x + b, centred = z − mean(z): b's true gradient is zero, so a sign flip in its rule
  // changes nothing on the true gradient; fed a random upstream gradient, the flip shows.
  const graph = new Graph({ dtype: "float64" });
  const x = graph.param("x", Tensor.from([0.3, -1.7, 2.9, 0.1], "float64"));
  const b = graph.param("b", Tensor.from([0.7], "float64"));
  const w = graph.param("w", Tensor.from([0.5, -1, 2, 0.25], "float64"));
  const z = add(x, b).named("z");
  const loss = sum(mul(sub(z, mean(z, 0, true)), w)).named("loss");
  graph.override(z, {
    a: ({ g }) => g,
    b: ({ g }) => t.neg(t.sumTo(g, [1])),
  });
  const cmp = graph.compare(loss);
  const table = formatComparison(cmp);
  const row = cmp.rows.find((r) => r.name === "b")!;
  assert.ok(row.zeroInTruth && row.maxdiff <= row.tolerance, table); // the true gradient agrees
  assert.equal(row.approximate, false, table);
  assert.deepEqual(summary(cmp), { first: "b", firstText: "b", blame: ["z.b"] });
  assert.match(table, /on a random upstream gradient, z's rule is .* off/);
  assert.match(
    verdictsFromComparison(cmp).nodes["b"].detail ?? "",
    /^agrees on the true gradient \(zero in truth: rounding noise\), but fed a random upstream gradient, the rule of z is .* off$/,
  );
  // Without probes, nothing can tell.
  assert.equal(graph.compare(loss, { probes: 0 }).firstDivergent, undefined);
});
