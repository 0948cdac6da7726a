/**
 * The gradient-flow graph, its layout, verdicts, the comparison chart and the dlogits heatmap:
 * every spec is rendered by Vega, and the tests read what was drawn where (data and pixels) out
 * of the scenegraph, so that a chart drawn transposed, or with two statuses swapped, fails.
 */
import assert from "node:assert/strict";
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { Comparison, ComparisonRow } from "../graph/compare.ts";
import { Graph } from "../graph/graph.ts";
import { Tensor } from "../ops/kernels/tensor.ts";
import { mul, sum, tanh } from "../mod.ts";
import { lectureDemoGraph } from "./fixtures/viz_demo.ts";
import { ex1WithWrongTanh, markItems, type SceneItem } from "./fixtures/viz_scene.ts";
import {
  comparisonFloor,
  comparisonSpec,
  dlogitsHeatmapSpec,
  fillClass,
  gradientFlowGraphSpec,
  gradientRange,
  GRAPH_MARKS,
  type GraphVerdicts,
  layoutGraph,
  OKABE_ITO,
  snapshotGraph,
  STATUS_GLYPHS,
  toSVG,
  verdictsFromComparison,
  type VerdictStatus,
} from "../viz/mod.ts";

const VOCAB = [".", ..."abcdefghijklmnopqrstuvwxyz"];

// ---------------------------------------------------------------------------------------------
// The snapshot: names, constants, rounding noise.

Deno.test("snapshot: lecture names, constants named 1/n, 1/(n−1), eps, expressions for the rest", () => {
  const { graph, loss } = lectureDemoGraph();
  const snap = snapshotGraph(graph, graph.backward(loss));
  const text = (name: string) => snap.nodes.find((n) => n.name === name)!.text;
  const constants = snap.nodes.filter((n) => n.kind === "constant").map((n) => n.text);
  assert.deepEqual(constants, ["1/n", "1/(n−1)", "eps"]);
  assert.equal(text("bnraw"), "bnraw");
  assert.equal(text("matmul#11"), "embcat @ W1");
  assert.equal(text("add#22"), "bnvar + eps");
  assert.equal(snap.nodes.find((n) => n.name === "bnvar")!.detail, "(1, 64)");
  // b1 and logit_maxes: zero in exact arithmetic (batchnorm, softmax); float rounding is left.
  const noise = snap.nodes.filter((n) => n.roundingNoise).map((n) => n.name);
  assert.deepEqual(noise, ["b1", "logit_maxes"]);
  assert.deepEqual(snap.nodes.filter((n) => n.sink).map((n) => n.name), ["loss"]);
});

Deno.test("colour range: the loss and rounding noise left out, at most six decades", () => {
  const { graph, loss } = lectureDemoGraph();
  const snap = snapshotGraph(graph, graph.backward(loss));
  const range = gradientRange(snap);
  const logs = snap.nodes
    .filter((n) => n.grad && !n.roundingNoise && !n.sink)
    .map((n) => Math.log10(n.grad!.meanAbs));
  assert.ok(range.lo <= Math.min(...logs) && range.hi >= Math.max(...logs), JSON.stringify(range));
  assert.ok(
    range.hi - range.lo <= 6 && range.lo > -6,
    `b1's 1e-9 must not stretch it: ${range.lo}`,
  );
  const cls = (name: string) => fillClass(snap.nodes.find((n) => n.name === name)!, range);
  assert.equal(cls("b1"), "rounding noise");
  assert.equal(cls("Xb"), "no gradient");
  assert.equal(cls("h"), "gradient");
});

Deno.test("a gradient of exact zeros is drawn at the floor, in the floor's colour", async () => {
  const graph = new Graph({ dtype: "float64" });
  const x = graph.param("x", Tensor.from([1, 2, 3], "float64"));
  const w = graph.param("w", Tensor.from([0.5, -1, 2], "float64"));
  const zero = graph.param("zero", Tensor.from([0, 0, 0], "float64"));
  // d(x) = zero · tanh'… is exactly 0; w's gradient is not.
  const loss = sum(mul(mul(tanh(x), zero), w).named("y")).named("loss");
  const snap = snapshotGraph(graph, graph.backward(loss));
  const range = gradientRange(snap);
  assert.equal(fillClass(snap.nodes.find((n) => n.name === "x")!, range), "below floor");
  const other = await markItems(gradientFlowGraphSpec(snap), GRAPH_MARKS.nodesOther);
  const xItem = other.find((i) => i.datum!.name === "x")!;
  assert.equal(xItem.fill, "#bdbdbd");
});

// ---------------------------------------------------------------------------------------------
// Layout.

Deno.test("layout: edges run forward, no two nodes share a place, exercise 1 folds into bands", () => {
  const { graph } = lectureDemoGraph();
  const layout = layoutGraph(
    graph.nodes.map((n) => ({ id: n.id, inputs: n.inputs.map((x) => x.id), leaf: !n.op })),
  );
  for (const n of graph.nodes) {
    for (const x of n.inputs) {
      assert.ok(layout.nodes[x.id].depth < layout.nodes[n.id].depth, `${x.name} → ${n.name}`);
    }
  }
  const spots = new Set(layout.nodes.map((p) => `${Math.round(p.x)},${Math.round(p.y)}`));
  assert.equal(spots.size, graph.nodes.length);
  // A parameter sits in the column just before the node that reads it, in the same band.
  const w2 = graph.node("W2"), mm = graph.nodes.find((n) => n.inputs.includes(w2))!;
  assert.equal(layout.nodes[w2.id].depth, layout.nodes[mm.id].depth - 1);
  assert.equal(layout.nodes[w2.id].band, layout.nodes[mm.id].band);
  // 29 columns fold into bands no wider than 780 px; the chain of ops stays on one row per band.
  assert.ok(layout.bands >= 3 && layout.width <= 780, `${layout.bands} bands, ${layout.width} px`);
  const spine = ["emb", "embcat", "hprebn", "bnmeani", "bndiff"].map((l) =>
    layout.nodes[graph.node(l).id]
  );
  assert.ok(spine.every((p) => p.y === spine[0].y), "the first band's chain is straight");
  assert.equal(layout.edges.length, graph.nodes.reduce((s, n) => s + n.inputs.length, 0));
});

Deno.test("layout: one edge per operand use, mul(h, h) as two edges apart", () => {
  const graph = new Graph({ dtype: "float64" });
  const x = graph.param("x", Tensor.from([0.5, -1], "float64"));
  const h = tanh(x).named("h");
  const loss = sum(mul(h, h)).named("loss");
  const snap = snapshotGraph(graph, graph.backward(loss));
  const sq = snap.nodes.find((n) => n.op === "mul")!;
  const into = snap.edges.filter((e) => e.to === sq.id);
  assert.deepEqual(into.map((e) => snap.nodes[e.from].name), ["h", "h"]);
  const layout = layoutGraph(
    graph.nodes.map((n) => ({ id: n.id, inputs: n.inputs.map((i) => i.id), leaf: !n.op })),
  );
  const [a, b] = layout.edges.filter((e) => e.to === sq.id);
  assert.notDeepEqual(a.points.at(-1), b.points.at(-1), "the two edges end apart");
});

// ---------------------------------------------------------------------------------------------
// The gradient-flow graph.

Deno.test("flow graph: a node mark per node, a line and an arrowhead per edge, labels per node", async () => {
  const { graph, loss } = lectureDemoGraph();
  const snap = snapshotGraph(graph, graph.backward(loss));
  const spec = gradientFlowGraphSpec(snap, { title: "exercise 1" });
  const nodes = [
    ...await markItems(spec, GRAPH_MARKS.nodesWithGrad),
    ...await markItems(spec, GRAPH_MARKS.nodesOther),
  ];
  assert.equal(nodes.length, graph.nodes.length);
  const inputs = graph.nodes.reduce((s, n) => s + n.inputs.length, 0);
  assert.equal((await markItems(spec, GRAPH_MARKS.edges)).length, inputs);
  assert.equal((await markItems(spec, GRAPH_MARKS.arrows)).length, inputs);
  // No verdicts, no status marks; hand-written rules are not red.
  assert.equal((await markItems(spec, GRAPH_MARKS.status)).length, 0);
  const svg = await toSVG(spec);
  assert.match(svg, /bnvar_inv/);
  assert.match(svg, />1\/\(n−1\)</);
  const width = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
  assert.ok(2 * width <= 1800, `exercise 1's graph is ${2 * width} px wide as a PNG`);
});

Deno.test("flow graph before any backward says so and colours no node", async () => {
  const { graph } = lectureDemoGraph();
  const snap = snapshotGraph(graph);
  assert.equal(snap.hasGradients, false);
  const spec = gradientFlowGraphSpec(snap);
  assert.match(JSON.stringify(spec.title), /No backward pass yet/);
  assert.equal((await markItems(spec, GRAPH_MARKS.nodesWithGrad)).length, 0);
  assert.equal((await markItems(spec, GRAPH_MARKS.nodesOther)).length, graph.nodes.length);
  assert.doesNotMatch(await toSVG(spec), /NaN/);
});

Deno.test("flow graph with a wrong tanh rule: ✗ from hpreact back, hpreact ringed, h's edge marked", async () => {
  const { graph, loss } = ex1WithWrongTanh();
  const grads = graph.backward(loss);
  const verdicts = verdictsFromComparison(graph.compare(loss));
  assert.equal(verdicts.firstDivergent, "hpreact");
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, grads), { verdicts });
  const status = new Map(
    (await markItems(spec, GRAPH_MARKS.status)).map((i) => [i.datum!.name as string, i]),
  );
  const want: [string, VerdictStatus][] = [
    ["logprobs", "exact"],
    ["logits", "exact"],
    ["h", "exact"], // h's own gradient is right: its rule computes hpreact's
    ["hpreact", "differs"],
    ["bnraw", "differs"],
    ["C", "differs"],
    ["matmul#11", "differs"], // unnamed (embcat @ W1), compared like every node
  ];
  for (const [name, s] of want) {
    const item = status.get(name);
    assert.ok(item, `no status mark on ${name}`);
    assert.equal(item.shape, STATUS_GLYPHS[s], `${name}'s glyph`);
    assert.equal(item.fill, OKABE_ITO[s], `${name}'s colour`);
  }
  const ring = await markItems(spec, GRAPH_MARKS.firstDivergent);
  assert.deepEqual(ring.map((i) => i.datum!.name), ["hpreact"]);
  // The node whose rule computed hpreact's gradient: h, the one with the wrong rule.
  const culprit = await markItems(spec, GRAPH_MARKS.culprits);
  assert.deepEqual(culprit.map((i) => i.datum!.name), ["h"]);
  const suspects = await markItems(spec, GRAPH_MARKS.suspectEdges);
  assert.equal(suspects.length, 1, "one edge: hpreact → h, whose rule is wrong");
  // A line's group: its points' data lie below it.
  const tip = (i: SceneItem): unknown => i.datum?.tip ?? i.items?.map(tip).find(Boolean);
  assert.match(String(tip(suspects[0])), /^hpreact → h /);
  assert.match(JSON.stringify(spec.title), /rule of h \(tanh\)/);
  // A hand-written rule is a dark outline, never the colour of an error.
  const nodes = await markItems(spec, GRAPH_MARKS.nodesWithGrad);
  const h = nodes.find((i) => i.datum!.name === "h")!;
  assert.equal(h.datum!.rule, "hand-written");
  assert.equal((h as { stroke?: string }).stroke, "#222");
});

Deno.test("flow graph takes any checker's verdicts: a blank rule shows as not written", async () => {
  const { graph, loss } = lectureDemoGraph();
  const verdicts: GraphVerdicts = {
    nodes: { logprobs: { status: "exact" }, probs: { status: "not written" } },
    firstDivergent: "probs",
    against: "your rules vs the engine's",
  };
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, graph.backward(loss)), { verdicts });
  const status = await markItems(spec, GRAPH_MARKS.status);
  const probs = status.find((i) => i.datum!.name === "probs")!;
  assert.equal(probs.shape, STATUS_GLYPHS["not written"]);
  assert.match(JSON.stringify(spec.title), /your rules vs the engine's: 1 exact, 1 not written/);
});

// ---------------------------------------------------------------------------------------------
// The comparison chart.

/** A comparison row, as graph.compare writes one. */
function row(name: string, r: Partial<ComparisonRow>): ComparisonRow {
  return {
    name,
    text: name,
    node: undefined as never,
    shape: [2],
    exact: false,
    approximate: false,
    maxdiff: 0,
    relerr: 0,
    tolerance: 1e-8,
    zeroInTruth: false,
    shapeMatch: true,
    shapeGot: [2],
    overridden: true,
    ...r,
  };
}

Deno.test("comparison: each row's status, glyph, colour and place, from a table of cases", async () => {
  const cases: [ComparisonRow, VerdictStatus, number | "floor" | "ceiling"][] = [
    [row("exact", { exact: true, approximate: true, maxdiff: 0 }), "exact", "floor"],
    [row("close", { approximate: true, maxdiff: 3e-9 }), "approximate", 3e-9],
    [row("wrong", { maxdiff: 0.2 }), "differs", 0.2],
    [row("shape", { shapeMatch: false, shapeGot: [1, 2], maxdiff: NaN }), "differs", "ceiling"],
    [row("threw", { error: "rule threw: boom", maxdiff: NaN }), "differs", "ceiling"],
  ];
  const cmp: Comparison = {
    rows: cases.map((c) => c[0]),
    judged: "allclose",
    rtol: 1e-5,
    atol: 1e-8,
    blame: [],
    firstDivergent: cases[2][0],
  };
  const spec = comparisonSpec(cmp);
  const items = await markItems(spec, "verdicts");
  assert.equal(items.length, cases.length);
  const floor = comparisonFloor(cases.map((c) => c[0].maxdiff));
  assert.equal(floor, 1e-12);
  const ceiling = 10; // a decade above the largest difference, 0.2
  const [lo, hi] = [Math.log10(floor / 3), Math.log10(ceiling)];
  const xOf = (v: number) => (520 * (Math.log10(v) - lo)) / (hi - lo);
  for (const [r, status, at] of cases) {
    const item = items.find((i) => i.datum!.name === r.name)!;
    assert.equal(item.datum!.status, status, `${r.name}'s status`);
    assert.equal(item.shape, STATUS_GLYPHS[status], `${r.name}'s glyph`);
    assert.equal(item.fill, OKABE_ITO[status], `${r.name}'s colour`);
    const v = at === "floor" ? floor : at === "ceiling" ? ceiling : at;
    assert.ok(Math.abs(item.x! - xOf(v)) < 0.5, `${r.name} at x ${item.x}, want ${xOf(v)}`);
  }
  const first = await markItems(spec, "first_divergent");
  assert.deepEqual(first.map((i) => i.datum!.name), ["wrong"]);
  const svg = await toSVG(spec);
  assert.match(svg, /drawn at the floor 1e-12/);
  assert.match(svg, />atol</, "the tolerance line is labelled");
});

Deno.test("comparison: the exercise's own row is marked, with its limit", async () => {
  const cmp: Comparison = {
    rows: [
      row("logits", { approximate: true, maxdiff: 5e-9 }),
      row("h", { approximate: true, maxdiff: 2e-9 }),
    ],
    judged: "allclose",
    rtol: 1e-5,
    atol: 1e-8,
    blame: [],
    firstDivergent: undefined,
  };
  const spec = comparisonSpec(cmp, {
    focus: ["logits"],
    focusLabel: "exercise 2",
    threshold: 1e-7,
  });
  const focus = await markItems(spec, "focus_rows");
  assert.deepEqual(focus.map((i) => i.datum!.name), ["logits"]);
  const mark = await markItems(spec, "focus_mark");
  assert.deepEqual(mark.map((i) => i.datum!.name), ["logits"]);
  assert.match(JSON.stringify(spec.title), /the limit exercise 2 sets, 1e-7/);
});

// ---------------------------------------------------------------------------------------------
// The dlogits heatmap.

Deno.test("dlogits heatmap: the cell in row i, column j holds dlogits[i, j] and is drawn there", async () => {
  const { graph, loss } = lectureDemoGraph();
  const dlogits = graph.backward(loss).get("logits")!;
  const [n, v] = dlogits.shape;
  const spec = dlogitsHeatmapSpec(dlogits, VOCAB);
  const cells = await markItems(spec, "dlogits_cells");
  assert.equal(cells.length, n * v);
  for (const c of cells) {
    const i = c.datum!.row as number, j = VOCAB.indexOf(c.datum!.col as string);
    assert.equal(c.datum!.value, dlogits.data[i * v + j], `cell (${i}, ${j})`);
    // 15 px cells: column j from x = 15j, row i from y = 15i.
    assert.ok(
      Math.abs(c.x! - 15 * j) < 1 && Math.abs(c.y! - 15 * i) < 1,
      `cell (${i}, ${j}) drawn at (${c.x}, ${c.y})`,
    );
    // Negative (the target, pulled up) reddish, positive bluish, each side scaled on its own.
    const rgb = /rgb\((\d+), (\d+), (\d+)\)/.exec(c.fill!)!.slice(1).map(Number);
    const value = c.datum!.value as number;
    if (value < -1e-3) assert.ok(rgb[0] > rgb[2], `cell (${i}, ${j}) ${value} is red: ${c.fill}`);
    if (value > 1e-3) assert.ok(rgb[2] > rgb[0], `cell (${i}, ${j}) ${value} is blue: ${c.fill}`);
  }
  const largest = Number(/largest \|row sum\| is ([^ ]+)/.exec(JSON.stringify(spec.title))![1]);
  assert.ok(largest < 1e-6, `rows of dlogits sum to ~0, got ${largest}`);
  assert.throws(() => dlogitsHeatmapSpec(Tensor.zeros([3]), VOCAB), NinjagradError);
});
