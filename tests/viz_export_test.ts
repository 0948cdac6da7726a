/**
 * The charts at the edge: SVG and PNG (with every tick label the browser would show), the files
 * and report.html that `writeCharts` writes, Jupyter's display, and `deno task chart`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NinjagradError, UsageError } from "../ops/kernels/errors.ts";
import { demoTraining } from "./fixtures/viz_demo.ts";
import { ex1WithWrongTanh, pngSize, visibleTickLabels } from "./fixtures/viz_scene.ts";
import {
  type Chart,
  display,
  gradientFlowGraphSpec,
  graphCharts,
  lossSpec,
  SCHEMA,
  snapshotGraph,
  svgToPNG,
  toSVG,
  TraceCollector,
  traceInto,
  trainingCharts,
  type VegaLiteSpec,
  writeCharts,
  writeTrainingCharts,
} from "../viz/mod.ts";
import { main as chartMain } from "../exercises/cli/chart.ts";

function trace(steps: number, every: number) {
  const collector = new TraceCollector({ every });
  demoTraining({ steps }).pipe(traceInto(collector)).subscribe();
  return collector.trace();
}

Deno.test("tick labels: a log axis over twelve decades keeps every decade's label in the SVG", async () => {
  // The issue's case: 1e-11 … 1e0 on a 520 px axis. Vega's own guess of text widths (0.8 em a
  // character) hid every other label with opacity 0; measured with DejaVu they all fit.
  const spec: VegaLiteSpec = {
    $schema: SCHEMA,
    width: 520,
    height: 40,
    data: { values: [{ v: 1e-11 }, { v: 1 }] },
    mark: "point",
    encoding: {
      x: { field: "v", type: "quantitative", scale: { type: "log" }, axis: { format: "~e" } },
    },
  };
  const [labels] = visibleTickLabels(await toSVG(spec));
  for (const want of ["1e-11", "1e-10", "1e-9", "1e-5", "1e-1"]) {
    assert.ok(labels.includes(want), `${want} is hidden; shown: ${labels.join(" ")}`);
  }
});

Deno.test("every chart compiles, renders to SVG and rasterises to a non-blank PNG of its size", async () => {
  const { graph, loss } = ex1WithWrongTanh();
  const grads = graph.backward(loss);
  const charts: Chart[] = [
    ...graphCharts({
      graph,
      grads,
      comparison: graph.compare(loss),
      dlogits: grads.get("logits"),
      lr: 0.1,
      title: "exercise 1",
    }),
    ...trainingCharts(trace(120, 20)).map((c) => ({ ...c, name: `train_${c.name}` })),
  ];
  const names = charts.map((c) => c.name);
  assert.deepEqual(names.slice(0, 4), [
    "gradient_flow_graph",
    "comparison",
    "dlogits",
    "gradient_per_parameter",
  ]);
  for (const want of ["train_gradient_flow_graph", "train_loss", "train_update_ratio"]) {
    assert.ok(names.includes(want), `missing ${want}`);
  }
  assert.ok(
    charts.every((c) => c.caption && c.caption.length > 40),
    "each chart says how to read it",
  );
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-charts-" });
  try {
    const written = await writeCharts(dir, charts, {
      scale: 1.5,
      facts: [{ label: "data", value: "a test <minibatch>" }],
    });
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
    assert.match(html, /<th>data<\/th><td>a test &#60;minibatch&#62;<\/td>/, "the header");
    assert.match(html, /class="caption">Follow the arrows/, "a sentence under the graph");
    assert.ok(html.indexOf('id="gradient_flow_graph"') < html.indexOf('id="comparison"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTrainingCharts writes the training run's files, the graph first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-train-charts-" });
  try {
    const written = await writeTrainingCharts(dir, trace(60, 20), { scale: 1 });
    assert.equal(written.files[0].name, "gradient_flow_graph");
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
  const spec = lossSpec(trace(10, 5));
  await assert.rejects(writeCharts("/tmp", [{ name: "../x", spec }]), NinjagradError);
  await assert.rejects(
    writeCharts("/tmp", [{ name: "a", spec }, { name: "a", spec }]),
    /two charts are named "a"/,
  );
});

Deno.test("display() gives Deno's Jupyter kernel the Vega-Lite spec and its SVG", async () => {
  const { graph, loss } = ex1WithWrongTanh();
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, graph.backward(loss)));
  const shown = display(spec) as unknown as Record<symbol, () => Promise<Record<string, unknown>>>;
  const bundle = await shown[Symbol.for("Jupyter.display")]();
  assert.equal(bundle["application/vnd.vegalite.v6+json"], spec);
  assert.match(String(bundle["image/svg+xml"]), /^<svg/);
});

/** Runs `chart` with console.log captured. */
async function chart(args: string[]) {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { written: await chartMain(args), lines };
  } finally {
    console.log = log;
  }
}

Deno.test("deno task chart exercise 1 --wrong tanh: a graph under 1,800 px marking the wrong rule", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-chart-cli-" });
  try {
    const { written, lines } = await chart(["exercise", "1", "--out", dir, "--wrong", "tanh"]);
    assert.match(
      lines[0],
      /one minibatch of 32 examples from the lecture's names\.txt \(32,033 names\)/,
    );
    const graph = written.files.find((f) => f.name === "gradient_flow_graph")!;
    assert.ok(graph.width <= 1800, `the graph is ${graph.width} px wide`);
    const spec = JSON.parse(await Deno.readTextFile(graph.json));
    assert.match(JSON.stringify(spec.title), /first divergent: dhpreact/);
    // The wrong rule's hint is in the picture, and a heatmap shows where dhpreact differs.
    assert.match(JSON.stringify(spec.title), /hint: h = tanh\(hpreact\)'s rule forgets/);
    const heat = written.files.find((f) => f.name === "first_wrong_difference")!;
    assert.match(await Deno.readTextFile(heat.json), /dhpreact: hand-written − reference/);
    assert.ok(heat.width <= 1800 && heat.height <= 1000, `${heat.width} × ${heat.height}`);
    const html = await Deno.readTextFile(written.report);
    assert.match(html, /<th>wrong rule<\/th><td>h = tanh\(hpreact\)&#39;s rule forgets/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(chartMain(["exercise", "2", "--wrong", "tanh"]), UsageError);
  await assert.rejects(chartMain(["exercise", "1", "--wrong", "max"]), /choose one of tanh, exp/);
});

Deno.test("deno task chart exercise 2 marks its row and draws the dlogits heatmap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-chart-cli-" });
  try {
    const { written } = await chart(["exercise", "2", "--out", dir]);
    const names = written.files.map((f) => f.name);
    assert.ok(names.includes("dlogits") && names.includes("comparison"), `${names}`);
    const cmp = JSON.parse(await Deno.readTextFile(join(dir, "comparison.vl.json")));
    assert.match(JSON.stringify(cmp.title), /shaded: the row exercise 2 tests/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(chartMain(["exercise", "5"]), UsageError);
  await assert.rejects(chartMain(["graph"]), UsageError);
});
