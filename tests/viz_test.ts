/**
 * Gradient-flow charts: every spec is checked by compiling it with Vega-Lite and rendering it with
 * Vega, and by counting what the picture holds against the graph it was drawn from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NinjagradError, UsageError } from "../ops/kernels/errors.ts";
import type { Comparison } from "../graph/compare.ts";
import type { TrainEvent } from "../exercises/train/events.ts";
import { Tensor } from "../ops/kernels/tensor.ts";
import { demoTraining, lectureDemoGraph } from "./fixtures/viz_demo.ts";
import {
  type Chart,
  comparisonSpec,
  display,
  dlogitsHeatmapSpec,
  gradDataRatioSpec,
  gradientFlowGraphSpec,
  GRAPH_MARKS,
  graphCharts,
  histogram,
  histogramsSpec,
  layerFlowSpec,
  layoutGraph,
  lossSpec,
  lossWindow,
  paramStatsOf,
  snapshotGraph,
  svgToPNG,
  toSVG,
  toVega,
  TraceCollector,
  traceInto,
  trainingCharts,
  type TrainingTrace,
  updateRatioSpec,
  type VegaLiteSpec,
  viewOf,
  writeCharts,
  writeTrainingCharts,
} from "../viz/mod.ts";
import { main as chartMain } from "../exercises/cli/chart.ts";

// ---------------------------------------------------------------------------------------------
// Helpers: count a named mark's items in a rendered view, read a PNG's header.

type SceneItem = { name?: string; items?: SceneItem[] };

/** Items of the mark named `name` (for a line grouped by edge: the groups, one per edge). */
async function markItems(spec: VegaLiteSpec, name: string): Promise<SceneItem[]> {
  if (!hasMark(spec, name)) throw new Error(`no mark named ${name} in the spec`);
  const view = await viewOf(spec);
  const found: SceneItem[] = [];
  const walk = (item: SceneItem) => {
    if (item.name === `${name}_marks` || item.name === `${name}_pathgroup`) {
      found.push(...(item.items ?? []));
      return;
    }
    for (const child of item.items ?? []) walk(child);
  };
  walk((view.scenegraph() as unknown as { root: SceneItem }).root);
  view.finalize();
  return found;
}

/** Whether the compiled Vega spec has a mark of that name. */
function hasMark(spec: VegaLiteSpec, name: string): boolean {
  return JSON.stringify(toVega(spec)).includes(`"${name}_marks"`);
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], sig, "not a PNG signature");
  assert.equal(new TextDecoder().decode(bytes.subarray(12, 16)), "IHDR");
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/** The exercise-1 graph with one wrong hand-written rule: tanh's local derivative left out. */
function ex1WithWrongTanh() {
  const demo = lectureDemoGraph();
  demo.graph.override("h", ({ g }) => g); // forgot × (1 − h²)
  return demo;
}

// ---------------------------------------------------------------------------------------------
// Chart 1: the gradient-flow graph.

Deno.test("flow graph of exercise 1 after backward: one node mark per node, one line per edge", async () => {
  const { graph, loss } = ex1WithWrongTanh();
  const grads = graph.backward(loss);
  const snap = snapshotGraph(graph, grads);
  const spec = gradientFlowGraphSpec(snap, { title: "exercise 1" });
  const withGrad = await markItems(spec, GRAPH_MARKS.nodesWithGrad);
  const withoutGrad = await markItems(spec, GRAPH_MARKS.nodesWithoutGrad);
  const edges = await markItems(spec, GRAPH_MARKS.edges);
  const inputs = graph.nodes.reduce((s, n) => s + n.inputs.length, 0);
  assert.equal(withGrad.length + withoutGrad.length, graph.nodes.length);
  assert.equal(edges.length, inputs);
  // Xb, Yb (integer indices) and the scalar constants receive no gradient: grey.
  const grey = snap.nodes.filter((n) => n.grad === null).map((n) => n.name);
  assert.ok(grey.includes("Xb") && grey.includes("Yb"), `grey nodes: ${grey}`);
  assert.equal(withoutGrad.length, grey.length);
  // The hand-written node is the only one whose rule says so.
  const hand = snap.nodes.filter((n) => n.rule === "hand-written").map((n) => n.name);
  assert.deepEqual(hand, ["h"]);
  const svg = await toSVG(spec);
  assert.match(svg, /<svg/);
  assert.match(svg, /bnvar_inv/, "node labels are drawn as text");
});

Deno.test("flow graph before any backward says so and colours no node", async () => {
  const { graph } = lectureDemoGraph();
  const snap = snapshotGraph(graph);
  assert.equal(snap.hasGradients, false);
  assert.ok(snap.nodes.every((n) => n.grad === null));
  const spec = gradientFlowGraphSpec(snap);
  assert.match(JSON.stringify(spec.title), /No backward pass yet/);
  const grey = await markItems(spec, GRAPH_MARKS.nodesWithoutGrad);
  assert.equal(grey.length, graph.nodes.length);
  assert.equal(hasMark(spec, GRAPH_MARKS.nodesWithGrad), false, "no colour layer at all");
  const svg = await toSVG(spec);
  assert.doesNotMatch(svg, /NaN/, "an empty colour scale must not print NaN");
});

Deno.test("layout: every edge runs left to right and no two nodes share a place", () => {
  const { graph } = lectureDemoGraph();
  const place = layoutGraph(
    graph.nodes.map((n) => ({ id: n.id, inputs: n.inputs.map((x) => x.id), leaf: !n.op })),
  );
  for (const n of graph.nodes) {
    for (const x of n.inputs) {
      assert.ok(place[x.id].depth < place[n.id].depth, `${x.name} → ${n.name} runs backwards`);
    }
  }
  const spots = new Set(place.map((p) => `${p.depth},${p.row}`));
  assert.equal(spots.size, graph.nodes.length);
  // A parameter sits in the column just before the node that reads it.
  const w2 = graph.node("W2"), mm = graph.nodes.find((n) => n.inputs.includes(w2))!;
  assert.equal(place[w2.id].depth, place[mm.id].depth - 1);
});

// ---------------------------------------------------------------------------------------------
// Charts 2 and 4: per parameter.

Deno.test("a parameter no gradient reaches is annotated, never drawn as a zero bar", async () => {
  const { graph, loss } = lectureDemoGraph();
  graph.param("unused", Tensor.from([1, 2, 3]));
  const params = paramStatsOf(snapshotGraph(graph, graph.backward(loss)));
  assert.equal(params.length, 8);
  for (const spec of [layerFlowSpec(params), gradDataRatioSpec(params)]) {
    const svg = await toSVG(spec);
    assert.match(svg, /no gradient/);
  }
  const bars = JSON.stringify(layerFlowSpec(params));
  assert.doesNotMatch(bars, /"param":"unused","measure"/, "no bar for the unused parameter");
});

Deno.test("grad:data ratio is std(grad) / std(data), with shapes in the legend", async () => {
  const { graph, loss } = lectureDemoGraph();
  const grads = graph.backward(loss);
  const params = paramStatsOf(snapshotGraph(graph, grads));
  const w1 = params.find((p) => p.name === "W1")!;
  const spec = gradDataRatioSpec(params);
  const svg = await toSVG(spec);
  assert.match(svg, /W1 \(30, 64\)/);
  const std = (d: ArrayLike<number>) => {
    const m = Array.from(d).reduce((a, b) => a + b, 0) / d.length;
    return Math.sqrt(Array.from(d).reduce((a, b) => a + (b - m) ** 2, 0) / d.length);
  };
  const want = std(grads.get("W1")!.data) / std(graph.node("W1").value.data);
  assert.ok(Math.abs(w1.grad!.std / w1.value.std - want) < 1e-9 * want);
});

// ---------------------------------------------------------------------------------------------
// Chart 3: histograms.

Deno.test("tanh saturation: the share of |h| > 0.97 is in the panel's title", async () => {
  const h = histogram(
    "h",
    "activation",
    [2, 4],
    Float32Array.from([0.99, -0.98, 0.5, 0, -0.2, 0.97, 1, 0.1]),
    {
      tanh: true,
      bins: 10,
    },
  );
  assert.equal(h.saturation, 3 / 8); // 0.99, −0.98, 1 (0.97 itself is not above)
  assert.equal(h.bins.reduce((s, b) => s + b.count, 0), 8);
  const svg = await toSVG(histogramsSpec([h], "activations"));
  assert.match(svg, /37\.5% saturated/);
});

// ---------------------------------------------------------------------------------------------
// Charts 7 and 8: dlogits and the comparison.

Deno.test("dlogits heatmap: one cell per (example, letter), every row summing to ~0", async () => {
  const { graph, loss } = lectureDemoGraph();
  const dlogits = graph.backward(loss).get("logits")!;
  const vocab = [".", ..."abcdefghijklmnopqrstuvwxyz"];
  const spec = dlogitsHeatmapSpec(dlogits, vocab);
  const cells = JSON.stringify(spec).match(/"col":/g)!.length;
  assert.equal(cells, 32 * 27);
  const subtitle = JSON.stringify(spec.title);
  const largest = Number(/largest \|row sum\| is ([^ ]+)/.exec(subtitle)![1]);
  assert.ok(largest < 1e-6, `rows of dlogits sum to ~0, got ${largest}`);
  assert.match(await toSVG(spec), /row sum/);
  assert.throws(() => dlogitsHeatmapSpec(Tensor.zeros([3]), vocab), NinjagradError);
});

Deno.test("comparison chart: exact zeros at the floor, the first divergent node marked", async () => {
  const { graph, loss } = ex1WithWrongTanh();
  const cmp: Comparison = graph.compare(loss);
  assert.equal(cmp.firstDivergent?.name, "hpreact");
  const spec = comparisonSpec(cmp);
  const text = JSON.stringify(spec);
  assert.match(text, /first divergent node in backward order: hpreact/);
  const marked = await markItems(spec, "first_divergent");
  assert.equal(marked.length, 1);
  const svg = await toSVG(spec);
  assert.match(svg, /first divergent/);
  assert.match(svg, /drawn at the floor 1e-12/);
});

// ---------------------------------------------------------------------------------------------
// Training: the trace and its charts.

/** Runs the demo training through a collector and, beside it, records what the events said. */
function traced(steps: number, every: number) {
  const collector = new TraceCollector({ every });
  const seen: { step: number; loss: number; ratios: Record<string, number> }[] = [];
  demoTraining({ steps }).pipe(traceInto(collector)).subscribe((e: TrainEvent) => {
    if (e.type !== "step") return;
    const ratios: Record<string, number> = {};
    if (e.step % every === 0) {
      for (const [name, p] of Object.entries(e.model.params)) {
        const g = e.model.grads.get(p)!;
        ratios[name] = Math.log10(e.lr * sd(g.data) / sd(p.value.data));
      }
    }
    seen.push({ step: e.step, loss: e.loss, ratios });
  });
  return { trace: collector.trace(), seen };
}
function sd(d: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < d.length; i++) m += d[i];
  m /= d.length;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += (d[i] - m) ** 2;
  return Math.sqrt(s / d.length);
}

Deno.test("trace: the loss of every step, statistics every K steps, histograms at the end", () => {
  const { trace, seen } = traced(230, 50);
  assert.equal(trace.steps, 230);
  assert.deepEqual(Array.from(trace.loss), seen.map((s) => Math.fround(s.loss)));
  const sampledSteps = [...new Set(trace.samples.map((s) => s.step))];
  assert.deepEqual(sampledSteps, [0, 50, 100, 150, 200, 229]); // every 50, and the last step
  for (const s of trace.samples.filter((x) => x.step === 100)) {
    const want = seen[100].ratios[s.name];
    assert.ok(Math.abs(s.updateRatio! - want) < 1e-9, `${s.name}: ${s.updateRatio} vs ${want}`);
  }
  assert.equal(trace.histograms?.step, 229);
  assert.deepEqual(trace.histograms!.activations.map((h) => h.name), ["hpreact", "h", "logits"]);
  assert.ok(trace.histograms!.activations[1].saturation !== undefined, "h is a tanh layer");
  assert.equal(trace.evals.length, 10);
  assert.ok(trace.snapshot?.hasGradients);
  assert.throws(() => new TraceCollector({ every: 0 }), NinjagradError);
});

Deno.test("loss is smoothed by 1,000-step windows once the run is long enough", () => {
  assert.equal(lossWindow(200_000), 1000);
  assert.equal(lossWindow(50_000), 1000);
  assert.equal(lossWindow(2_000), 40);
  assert.equal(lossWindow(30), 1);
  const loss = new Float32Array(100_000).map((_, i) => (i < 50_000 ? 10 : 100));
  const trace: TrainingTrace = {
    every: 100,
    firstStep: 0,
    steps: loss.length,
    loss,
    evals: [{ step: 99_999, train: 3, val: 4 }],
    samples: [],
    shapes: {},
    lastParams: [],
    histograms: undefined,
    snapshot: undefined,
  };
  const spec = lossSpec(trace);
  const text = JSON.stringify(spec);
  const line =
    (spec as { layer: { data: { values: { log10loss: number }[] } }[] }).layer[0].data.values;
  assert.equal(line.length, 100);
  assert.equal(line[0].log10loss, 1);
  assert.equal(line[99].log10loss, 2);
  assert.match(text, /val split/);
});

Deno.test("update:data ratio chart draws the 1e-3 guideline at y = −3", async () => {
  const { trace } = traced(120, 20);
  const spec = updateRatioSpec(trace);
  const svg = await toSVG(spec);
  assert.match(svg, /1e-3 guideline/);
  assert.match(JSON.stringify(spec), /"y":-3/);
  assert.match(svg, /W1 \(30, 64\)/);
});

Deno.test("an unsampled step costs the collector O(1): it never reads the live model", () => {
  // Counted, not timed (the overhead in time is tests/bench/collector_bench.ts's).
  const c = new TraceCollector({ every: 1_000_000, histogramsEvery: 1_000_000 });
  const live = { graph: lectureDemoGraph().graph, params: {}, grads: undefined!, activations: {} };
  c.next({ type: "step", step: 0, totalSteps: 1e6, loss: 1, lr: 0.1, model: live });
  let reads = 0;
  const watched = new Proxy(live, {
    get: (target, key) => (reads++, target[key as keyof typeof target]),
  });
  for (let i = 1; i <= 10_000; i++) {
    c.next({ type: "step", step: i, totalSteps: 1e6, loss: 1, lr: 0.1, model: watched });
  }
  assert.equal(reads, 0, "an unsampled step read the model");
  c.next({ type: "step", step: 1e6 - 1, totalSteps: 1e6, loss: 1, lr: 0.1, model: watched });
  assert.ok(reads > 0, "the last step is sampled, and reads it");
});

// ---------------------------------------------------------------------------------------------
// Export: SVG, PNG, vl.json, report.html; Jupyter; the CLI.

Deno.test("every chart compiles, renders to SVG and rasterises to a non-blank PNG of its size", async () => {
  const { graph, loss } = ex1WithWrongTanh();
  const grads = graph.backward(loss);
  const charts: Chart[] = [
    ...graphCharts({
      graph,
      grads,
      comparison: graph.compare(loss),
      dlogits: grads.get("logits"),
      title: "exercise 1",
    }),
    ...trainingCharts(traced(120, 20).trace).map((c) => ({ ...c, name: `train_${c.name}` })),
  ];
  const names = charts.map((c) => c.name);
  for (
    const want of ["gradient_flow_graph", "comparison", "dlogits", "layer_flow", "grad_data_ratio"]
  ) {
    assert.ok(names.includes(want), `missing ${want}`);
  }
  for (const want of ["train_loss", "train_update_ratio", "train_activation_histograms"]) {
    assert.ok(names.includes(want), `missing ${want}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-charts-" });
  try {
    const written = await writeCharts(dir, charts, { scale: 1.5 });
    assert.equal(written.files.length, charts.length);
    for (const f of written.files) {
      const svg = await Deno.readTextFile(f.svg);
      const w = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
      const h = Number(/<svg[^>]* height="([\d.]+)"/.exec(svg)![1]);
      const size = pngSize(await Deno.readFile(f.png));
      assert.equal(size.width, Math.round(w * 1.5), `${f.name} width`);
      assert.equal(size.height, Math.round(h * 1.5), `${f.name} height`);
      const spec = JSON.parse(await Deno.readTextFile(f.json));
      assert.deepEqual(spec, charts.find((c) => c.name === f.name)!.spec);
    }
    // Pixels vary: text and marks drew, not a blank white page.
    const raster = await svgToPNG(await Deno.readTextFile(written.files[0].svg), 1);
    const colours = new Set<number>();
    let ink = 0;
    for (let i = 0; i < raster.pixels.length; i += 4) {
      const [r, g, b] = raster.pixels.subarray(i, i + 3);
      colours.add((r << 16) | (g << 8) | b);
      if (r + g + b < 600) ink++;
    }
    assert.ok(colours.size > 50, `only ${colours.size} colours`);
    assert.ok(ink > raster.width * raster.height * 0.005, "almost no ink on the PNG");
    const html = await Deno.readTextFile(written.report);
    assert.ok(!/<script src=/i.test(html), "report.html loads no script from elsewhere");
    assert.match(html, /vegaEmbed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTrainingCharts writes the training run's files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-train-charts-" });
  try {
    const written = await writeTrainingCharts(dir, traced(60, 20).trace, { scale: 1 });
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    for (
      const want of ["loss.png", "loss.svg", "loss.vl.json", "update_ratio.png", "report.html"]
    ) {
      assert.ok(files.includes(want), `missing ${want} in ${files}`);
    }
    assert.equal(written.report, join(dir, "report.html"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a chart name that is no safe file name is refused", async () => {
  const spec = lossSpec(traced(10, 5).trace);
  await assert.rejects(writeCharts("/tmp", [{ name: "../x", spec }]), NinjagradError);
  await assert.rejects(
    writeCharts("/tmp", [{ name: "a", spec }, { name: "a", spec }]),
    /two charts are named "a"/,
  );
});

Deno.test("display() gives Deno's Jupyter kernel the Vega-Lite spec and its SVG", async () => {
  const { graph, loss } = lectureDemoGraph();
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, graph.backward(loss)));
  const shown = display(spec) as unknown as Record<symbol, () => Promise<Record<string, unknown>>>;
  const bundle = await shown[Symbol.for("Jupyter.display")]();
  assert.equal(bundle["application/vnd.vegalite.v6+json"], spec);
  assert.match(String(bundle["image/svg+xml"]), /^<svg/);
});

Deno.test("deno task chart exercise 2 writes the dlogits heatmap among its charts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-chart-cli-" });
  try {
    const written = await chartMain(["exercise", "2", "--out", dir]);
    const names = written.files.map((f) => f.name);
    assert.ok(names.includes("dlogits") && names.includes("comparison"), `${names}`);
    const cmp = JSON.parse(await Deno.readTextFile(join(dir, "comparison.vl.json")));
    assert.match(JSON.stringify(cmp.title), /approximate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(chartMain(["exercise", "5"]), UsageError);
  await assert.rejects(chartMain(["graph"]), UsageError);
});
