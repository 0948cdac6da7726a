/**
 * The charts carry the verdict: read off what Vega drew, the ring round the first divergent node
 * leaves its glyph and label clear, the hint is written into the picture (a PNG has no
 * tooltips), the comparison keeps one row order whoever lists the rows, a rule not written is
 * not drawn as bit-exact, and a heatmap shows where the first wrong gradient differs.
 */
import assert from "node:assert/strict";
import { ex1WithWrongTanh, markItems, type SceneItem } from "./fixtures/viz_scene.ts";
import { lectureDemoGraph } from "./fixtures/viz_demo.ts";
import {
  backwardOrder,
  comparisonSpec,
  differenceHeatmapSpec,
  gradientFlowGraphSpec,
  GRAPH_MARKS,
  type GraphVerdicts,
  snapshotGraph,
  toSVG,
  verdictsFromComparison,
} from "../viz/mod.ts";
import { graphCharts } from "../viz/chart_sets.ts";

/** The lecture's cmp order, but for bnraw, which the walk puts where hpreact's line has it. */
const LECTURE_ORDER = [
  "logprobs",
  "probs",
  "counts_sum_inv",
  "counts_sum",
  "counts",
  "norm_logits",
  "logit_maxes",
  "logits",
  "h",
  "W2",
  "b2",
  "hpreact",
  "bngain",
  "bnraw",
  "bnbias",
  "bnvar_inv",
  "bnvar",
  "bndiff2",
  "bndiff",
  "bnmeani",
  "hprebn",
  "embcat",
  "W1",
  "b1",
  "emb",
  "C",
];

function wrongTanhChart(extra: Partial<GraphVerdicts> = {}) {
  const { graph, loss } = ex1WithWrongTanh();
  const snap = snapshotGraph(graph, graph.backward(loss));
  const verdicts = { ...verdictsFromComparison(graph.compare(loss)), ...extra };
  return { snap, verdicts, spec: gradientFlowGraphSpec(snap, { verdicts }) };
}

const radius = (item: SceneItem) => Math.sqrt((item as { size: number }).size / Math.PI);

Deno.test("the rings leave every ringed node's glyph and label clear", async () => {
  const { spec } = wrongTanhChart();
  const rings = [
    ...(await markItems(spec, GRAPH_MARKS.firstDivergent)),
    ...(await markItems(spec, GRAPH_MARKS.culprits)),
  ];
  assert.deepEqual(rings.map((r) => r.datum!.name), ["hpreact", "h"]);
  const badges = await markItems(spec, GRAPH_MARKS.status);
  const labels = await markItems(spec, GRAPH_MARKS.labels);
  for (const ring of rings) {
    const name = ring.datum!.name;
    // The ring's outer edge: its radius and half its stroke (3 px at most).
    const outer = radius(ring) + 1.5;
    const badge = badges.find((b) => b.datum!.name === name)!;
    const glyph = radius(badge);
    const gap = Math.hypot(badge.x! - ring.x!, badge.y! - ring.y!) - glyph;
    assert.ok(gap > outer, `${name}: the glyph reaches ${gap.toFixed(1)} px, ring ${outer}`);
    const label = labels.find((l) => l.datum!.name === name)!;
    // Labels hang from their top (baseline "top"), centred under the node.
    assert.ok(label.y! - ring.y! > outer, `${name}: label top ${label.y! - ring.y!} px below`);
  }
});

Deno.test("the hint is written into the graph's SVG, wrapped to the chart's width", async () => {
  const hint = "h = tanh(hpreact)'s rule forgets the local derivative: dhpreact = dh, not " +
    "(1 − h²)·dh, which is what every node upstream of it inherits";
  const { spec } = wrongTanhChart({ hint });
  const svg = await toSVG(spec);
  // The whole hint, over as many lines as it takes.
  const text = [...svg.matchAll(/<(?:text|tspan)[^>]*>([^<]+)</g)].map((m) => m[1]).join(" ")
    .replace(/&#39;/g, "'").replace(/\s+/g, " ");
  assert.ok(text.includes(`hint: ${hint}`), text);
  assert.match(svg, /first divergent: dhpreact \(differs, max \|difference\| /);
  // Without a hint of its own, the first divergent node's detail stands in for one (ninja
  // check's verdicts carry the hint there).
  const { snap, verdicts } = wrongTanhChart();
  const detailed = {
    ...verdicts,
    nodes: { ...verdicts.nodes, hpreact: { status: "differs" as const, detail: "a factor 2" } },
  };
  const svg2 = await toSVG(gradientFlowGraphSpec(snap, { verdicts: detailed }));
  assert.match(svg2, /hint: a factor 2/);
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  assert.ok(width < 820, `the hint widened the chart to ${width} px`);
});

Deno.test("one row order: backward completion, the lecture's cmp order for exercise 1", () => {
  const { graph, loss } = lectureDemoGraph();
  const order = backwardOrder(snapshotGraph(graph, graph.backward(loss)));
  assert.equal(order[0], "loss");
  assert.deepEqual(order.filter((n) => LECTURE_ORDER.includes(n)), LECTURE_ORDER);
  assert.equal(new Set(order).size, graph.nodes.length);
});

Deno.test("the comparison chart's rows keep one order whichever order the checker lists", async () => {
  const { graph, loss } = ex1WithWrongTanh();
  const snap = snapshotGraph(graph, graph.backward(loss));
  const cmp = graph.compare(loss);
  const v = verdictsFromComparison(cmp);
  const shuffled: GraphVerdicts = {
    ...v,
    nodes: Object.fromEntries(Object.entries(v.nodes).reverse()),
  };
  const rowsOf = async (verdicts: GraphVerdicts) => {
    const spec = comparisonSpec(verdicts, { order: backwardOrder(snap) });
    const items = await markItems(spec, "verdicts");
    return items.sort((a, b) => a.y! - b.y!).map((i) => i.datum!.name as string);
  };
  const a = await rowsOf(v), b = await rowsOf(shuffled);
  assert.deepEqual(a, b);
  // Unnamed nodes are compared too; they come where backward completes them.
  assert.deepEqual(a.filter((n) => LECTURE_ORDER.includes(n)), LECTURE_ORDER);
  assert.deepEqual(a, backwardOrder(snap).filter((n) => n in v.nodes));
  // graphCharts gives that order: the same rows, wrong rule or not.
  const names = (charts: ReturnType<typeof graphCharts>) =>
    JSON.stringify(charts.find((c) => c.name === "comparison")!.spec).match(
      /"sort":\[[^\]]*\]/,
    )![0];
  const right = lectureDemoGraph();
  const wrong = graphCharts({ graph, grads: graph.backward(loss), comparison: cmp });
  const fine = graphCharts({
    graph: right.graph,
    grads: right.graph.backward(right.loss),
    comparison: right.graph.compare(right.loss),
  });
  assert.equal(names(wrong), names(fine));
});

Deno.test("a rule not written is drawn at the right edge as not written, never as bit-exact", async () => {
  const verdicts: GraphVerdicts = {
    nodes: {
      probs: { status: "exact", maxdiff: 0 },
      counts: { status: "not written", maxdiff: 0, detail: "not written yet" },
      logits: { status: "differs", maxdiff: 0.5 },
    },
    firstDivergent: "logits",
  };
  const spec = comparisonSpec(verdicts);
  const items = await markItems(spec, "verdicts");
  const x = (name: string) => items.find((i) => i.datum!.name === name)!;
  assert.equal(x("counts").datum!.maxdiff, "n/a (not written)");
  assert.ok(x("counts").x! > x("logits").x!, "not written sits right of every measure");
  assert.ok(x("probs").x! < x("logits").x!);
  const notes = await markItems(spec, "not_written");
  assert.deepEqual(notes.map((n) => n.datum!.name), ["counts"]);
});

Deno.test("difference heatmap: cell (i, j) holds yours − reference at [i, j]; a wrong row shows as a stripe", async () => {
  const rows = 4, cols = 6;
  const reference = Float64Array.from({ length: rows * cols }, (_, k) => Math.sin(k + 1));
  const yours = reference.map((x, k) => (Math.floor(k / cols) === 2 ? 3 * x : x));
  const spec = differenceHeatmapSpec({
    name: "bnraw",
    yours: { data: yours, shape: [rows, cols] },
    reference: { data: reference, shape: [rows, cols] },
  });
  const cells = await markItems(spec, "difference_cells");
  assert.equal(cells.length, rows * cols);
  const w = cells[0].width!, h = cells[0].height!;
  for (const item of cells) {
    const c = item.datum as { row: number; col: number; diff: number };
    const k = c.row * cols + c.col;
    assert.ok(Math.abs(c.diff - (yours[k] - reference[k])) < 1e-12, `cell ${c.row},${c.col}`);
    assert.equal(c.diff !== 0, c.row === 2);
    // Drawn where it belongs: column j j cells from the left, row i i cells down.
    assert.ok(Math.abs(item.x! - c.col * w) < 0.5 && Math.abs(item.y! - c.row * h) < 0.5);
  }
  const svg = await toSVG(spec);
  assert.match(svg, /6 of 24 entries differ/);
  // A 3-D gradient is drawn as rows × the rest; a big one pooled, keeping its largest entry.
  const big = 300 * 500;
  const ref3 = new Float64Array(big), mine3 = new Float64Array(big);
  mine3[123 * 500 + 321] = -7;
  const pooled = differenceHeatmapSpec({
    name: "x",
    yours: { data: mine3, shape: [300, 5, 100] },
    reference: { data: ref3, shape: [300, 5, 100] },
  }) as { data: { values: { diff: number; at: string }[] } };
  assert.ok(pooled.data.values.length <= 64 * 128);
  const worst = pooled.data.values.filter((c) => c.diff !== 0);
  assert.deepEqual(worst.map((c) => [c.diff, c.at]), [[-7, "[123, 321]"]]);
});
