/**
 * Big graphs drawn by their modules: makemore's Transformer (4 layers, 4 heads, n_embd 64,
 * block 16) and GRU unrolled over 16 steps each fit one screen, every block coloured by its
 * nodes' gradient and marked with its worst verdict; a block opens in place in report.html,
 * tested in Chromium by clicking it. The lecture's exercise-1 graph is drawn as before.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  gradientFlowGraphSpec,
  GRAPH_MARKS,
  type GraphVerdicts,
  snapshotGraph,
  toPNG,
  verdictsFromComparison,
  writeCharts,
} from "../viz/mod.ts";
import { groupedView, groupVerdicts, groupViews } from "../viz/graph_groups.ts";
import { gruGraph, transformerGraph } from "./fixtures/makemore_models.ts";
import { lectureDemoGraph } from "./fixtures/viz_demo.ts";
import { markItems } from "./fixtures/viz_scene.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

Deno.test("the Transformer and the 16-step GRU render within 1,800 × 1,800 px, grouped by module", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-groups-" });
  try {
    const charts = [["transformer", transformerGraph()], ["gru", gruGraph()]] as const;
    const written = await writeCharts(
      dir,
      charts.map(([name, m]) => ({
        name,
        spec: gradientFlowGraphSpec(snapshotGraph(m.graph, m.grads)),
      })),
    );
    for (const f of written.files) {
      assert.ok(f.width <= 1800 && f.height <= 1800, `${f.name}: ${f.width} × ${f.height} px`);
    }
    // Drawn as blocks: the Transformer's four layers, the GRU's sixteen steps.
    const labels = async (i: number) =>
      (await markItems(
        JSON.parse(await Deno.readTextFile(written.files[i].json)),
        GRAPH_MARKS.labels,
      )).map((l) => l.datum!.text as string);
    const t = await labels(0);
    for (
      const name of [
        "transformer.wte",
        "transformer.wpe",
        "transformer.h.0",
        "transformer.h.1",
        "transformer.h.2",
        "transformer.h.3",
        "transformer.ln_f",
        "lm_head",
      ]
    ) {
      assert.ok(t.includes(name), `${name} in ${t.join(", ")}`);
    }
    assert.ok(t.length < 20, `${t.length} nodes drawn`);
    const g = await labels(1);
    assert.ok(g.includes("cell") && g.includes("cell #16"), g.join(", "));
    assert.ok(g.length < 30, `${g.length} nodes drawn`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a block's colour is its nodes' mean |grad|, its verdict the worst of theirs", () => {
  const { graph, grads } = transformerGraph();
  const snap = snapshotGraph(graph, grads);
  const top = groupedView(snap, "");
  const i = top.snap.nodes.findIndex((n) => n.name === "transformer.h.2");
  const inner = top.members[i].map((id) => snap.nodes[id]).filter((n) => n.grad);
  const count = inner.reduce((s, n) => s + n.grad!.count, 0);
  const mean = inner.reduce((s, n) => s + n.grad!.meanAbs * n.grad!.count, 0) / count;
  assert.ok(Math.abs(top.snap.nodes[i].grad!.meanAbs - mean) <= 1e-12 * mean);
  // Reshape bookkeeping stays inside its layer: no view node is drawn at the top.
  assert.ok(!top.snap.nodes.some((n) => n.op === "view"));
  const wrong = inner.find((n) => n.op === "gelu")!;
  const verdicts: GraphVerdicts = {
    nodes: Object.fromEntries(
      snap.nodes.map((n) => [n.name, { status: n === wrong ? "differs" : "exact" }]),
    ),
    firstDivergent: wrong.name,
    hint: "a factor 2",
  };
  const v = groupVerdicts(verdicts, snap, top);
  assert.equal(v.firstDivergent, "transformer.h.2");
  assert.equal(v.nodes["transformer.h.2"].status, "differs");
  assert.equal(v.nodes["transformer.h.1"].status, "exact");
  // Opened, the block shows its sub-blocks, and the wrong node inside the one that holds it.
  const open = groupedView(snap, "transformer.h.2");
  const names = open.snap.nodes.map((n) => n.name);
  for (
    const p of [
      "transformer.h.2.ln_1",
      "transformer.h.2.attn",
      "transformer.h.2.mlp",
      "transformer.h.1",
      "transformer.h.3",
    ]
  ) assert.ok(names.includes(p));
  assert.equal(groupVerdicts(verdicts, snap, open).firstDivergent, "transformer.h.2.mlp");
  assert.ok(groupViews(snap).includes("transformer.h.2.attn.c_attn"));
});

Deno.test("the GRU's batch size read off idx at each step is no edge between blocks; its values are", () => {
  const { graph, grads } = gruGraph();
  const snap = snapshotGraph(graph, grads);
  const idx = snap.nodes.find((n) => n.name === "idx")!.id;
  // Every step reads b = idx.size(0): sixteen views and the start's expand take idx's shape only.
  const sizes = snap.edges.filter((e) => e.from === idx && e.shapeOnly);
  assert.ok(sizes.length >= 16, `${sizes.length} shape-only edges from idx`);
  const top = groupedView(snap, "");
  const at = top.snap.nodes.findIndex((n) => n.name === "idx");
  const into = top.snap.edges.filter((e) => e.from === at).map((e) => top.snap.nodes[e.to].name);
  // What idx's values feed (the embedding) is drawn; no cell block gets an edge from idx.
  assert.ok(into.includes("wte"), into.join(", "));
  assert.ok(!into.some((name) => name.startsWith("cell")), into.join(", "));
  // Opened, a cell's own view keeps its edge from idx: there it explains the node.
  const open = groupedView(snap, "cell");
  const view = open.snap.nodes.findIndex((n) => n.name === "idx");
  assert.ok(open.snap.edges.some((e) => e.from === view && e.shapeOnly));
});

Deno.test("a wrong rule inside a block: the block ringed, the rule named in the picture, within 1,800 px", async () => {
  const { graph, loss } = transformerGraph();
  const gelu = graph.nodes.find((n) => n.op?.name === "gelu" && n.scope[0] === "transformer.h.2")!;
  graph.override(gelu, ({ g }) => g); // forgot the local derivative
  const grads = graph.backward(loss);
  const verdicts = {
    ...verdictsFromComparison(graph.compare(loss)),
    hint: "gelu's rule forgets the local derivative",
  };
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, grads), { verdicts });
  const ring = await markItems(spec, GRAPH_MARKS.firstDivergent);
  assert.deepEqual(ring.map((r) => r.datum!.name), ["transformer.h.2"]);
  // The blamed rule lies inside h.2: no edge out of it is marked, the rule is named.
  assert.deepEqual(await markItems(spec, GRAPH_MARKS.suspectEdges), []);
  const subtitle = (spec as { title: { subtitle: string[] } }).title.subtitle.join(" ")
    .replace(/\s+/g, " ");
  assert.match(subtitle, /rule of transformer\.h\.2 \(block of \d+ nodes\): gelu \(gelu\) in it/);
  assert.match(subtitle, /hint: gelu's rule forgets the local derivative/);
  const png = await toPNG(spec);
  assert.ok(png.width <= 1800 && png.height <= 1800, `${png.width} × ${png.height} px`);
});

Deno.test("the lecture's exercise-1 graph is not grouped: one view, every node drawn", async () => {
  const { graph, loss } = lectureDemoGraph();
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, graph.backward(loss)));
  assert.ok(!JSON.stringify(spec).includes("datum.view ==="));
  assert.equal((await markItems(spec, GRAPH_MARKS.labels)).length, graph.nodes.length);
});

Deno.test("report.html: a click on a block opens it in place, a double-click closes it (Chromium)", async () => {
  assert.ok(Deno.statSync(CHROMIUM).isFile, `no Chromium at ${CHROMIUM}`);
  const { graph, grads } = transformerGraph();
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-groups-report-" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const spec = gradientFlowGraphSpec(snapshotGraph(graph, grads));
    await writeCharts(dir, [{ name: "transformer", spec }], { scale: 1 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`file://${join(dir, "report.html")}`);
    await page.waitForFunction(`document.body.dataset.rendered === "true"`, null, {
      timeout: 60_000,
    });
    // The labels drawn now, read off the SVG's elements (Vega binds each item to its element).
    const labels = () =>
      page.evaluate(`[...document.querySelectorAll(".${GRAPH_MARKS.labels}_marks text")]
        .map((t) => t.textContent)`) as Promise<string[]>;
    const centre = (text: string) =>
      page.evaluate(`(() => {
        const el = [...document.querySelectorAll(".${GRAPH_MARKS.nodesWithGrad}_marks path, .${GRAPH_MARKS.nodesOther}_marks path")]
          .find((p) => p.__data__ && p.__data__.datum && p.__data__.datum.text === ${
        JSON.stringify(text)
      });
        const r = el.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
      })()`) as Promise<[number, number]>;
    const before = await labels();
    assert.ok(before.includes("transformer.h.1") && !before.includes("attn"), before.join(", "));
    const [x, y] = await centre("transformer.h.1");
    await page.mouse.click(x, y);
    await page.waitForFunction(
      `[...document.querySelectorAll(".${GRAPH_MARKS.labels}_marks text")].some((t) => t.textContent === "attn")`,
      null,
      { timeout: 10_000 },
    );
    const opened = await labels();
    for (const name of ["ln_1", "attn", "ln_2", "mlp", "transformer.h.0", "transformer.h.2"]) {
      assert.ok(opened.includes(name), `${name} in ${opened.join(", ")}`);
    }
    assert.ok(!opened.includes("transformer.h.1"), "the open block is drawn as its parts");
    const frame: string[] = await page.evaluate(
      `[...document.querySelectorAll(".${GRAPH_MARKS.frames} text, [class*='open_blocks'] text")].map((t) => t.textContent)`,
    );
    assert.ok(frame.some((t) => t.startsWith("transformer.h.1")), frame.join(", "));
    // A block inside opens in turn; a double-click closes everything.
    const [ax, ay] = await centre("attn");
    await page.mouse.click(ax, ay);
    await page.waitForFunction(
      `[...document.querySelectorAll(".${GRAPH_MARKS.labels}_marks text")].some((t) => t.textContent === "c_attn")`,
      null,
      { timeout: 10_000 },
    );
    // Inside the chart, on no mark.
    const [cx, cy] = await page.evaluate(`(() => {
      const r = document.querySelector(".chart svg").getBoundingClientRect();
      return [r.left + 6, r.bottom - 6]; })()`) as [number, number];
    await page.mouse.dblclick(cx, cy);
    await page.waitForFunction(
      `[...document.querySelectorAll(".${GRAPH_MARKS.labels}_marks text")].some((t) => t.textContent === "transformer.h.1")`,
      null,
      { timeout: 10_000 },
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});
