/**
 * report.html in a real browser: Debian's Chromium, headless, driven by playwright-core. The page
 * must open from a file with no network, log no error, draw every chart, and show the same tick
 * labels as the SVG files written beside it (the static exports once hid some).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { graphCharts, TraceCollector, traceInto, trainingCharts, writeCharts } from "../viz/mod.ts";
import { demoTraining, lectureDemoGraph } from "./fixtures/viz_demo.ts";
import { visibleTickLabels } from "./fixtures/viz_scene.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

function chromiumPresent(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

Deno.test("report.html opens offline in Chromium and draws every chart without an error", async () => {
  // Fail, never skip: a missing browser would otherwise pass this test without running it.
  assert.ok(
    chromiumPresent(),
    `no Chromium at ${CHROMIUM}: install it (apt-get update && apt-get install -y chromium), ` +
      "or set CHROMIUM_PATH",
  );
  const { graph, loss } = lectureDemoGraph();
  graph.override("h", ({ g }) => g); // a wrong tanh rule, so the comparison has a divergent node
  const grads = graph.backward(loss);
  const collector = new TraceCollector({ every: 20 });
  demoTraining({ steps: 100 }).pipe(traceInto(collector)).subscribe();
  const charts = [
    ...graphCharts({
      graph,
      grads,
      comparison: graph.compare(loss),
      dlogits: grads.get("logits"),
      lr: 0.1,
    }),
    ...trainingCharts(collector.trace()).map((c) => ({ ...c, name: `train_${c.name}` })),
  ];
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-report-" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    await writeCharts(dir, charts, { scale: 1, facts: [{ label: "data", value: "demo" }] });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // Offline means offline: any request that leaves the file system fails the test.
    const requests: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:")) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(`file://${join(dir, "report.html")}`);
    // Page code as strings: it runs in the browser, which Deno's type checker does not model.
    await page.waitForFunction(`document.body.dataset.rendered === "true"`, null, {
      timeout: 60_000,
    });
    const drawn: boolean[] = await page.evaluate(`[...document.querySelectorAll(".chart")].map(
      (el) => el.querySelector("svg, canvas") !== null && !el.classList.contains("error"))`);
    assert.equal(drawn.length, charts.length, "one chart element per chart");
    const missing = charts.filter((_, i) => !drawn[i]).map((c) => c.name);
    assert.deepEqual(missing, [], `charts not drawn: ${missing.join(", ")}`);
    assert.deepEqual(problems, [], `the console reported:\n${problems.join("\n")}`);
    // Every tick label the browser shows, the SVG export shows too (and no other).
    const shown: string[][][] = await page.evaluate(`[...document.querySelectorAll(".chart")].map(
      (el) => [...el.querySelectorAll(".role-axis-label")].map((g) => [...g.querySelectorAll("text")]
        .filter((t) => t.getAttribute("opacity") !== "0" && t.textContent !== "")
        .map((t) => t.textContent)))`);
    for (const [i, c] of charts.entries()) {
      const exported = visibleTickLabels(await Deno.readTextFile(join(dir, `${c.name}.svg`)));
      assert.deepEqual(
        exported,
        shown[i],
        `${c.name}: the SVG's tick labels differ from the browser's`,
      );
    }
    assert.deepEqual(requests, [], `the page asked the network for: ${requests.join(", ")}`);
    // A wide screen: the loss and update:data side by side; the graph a row of its own.
    await page.setViewportSize({ width: 1900, height: 1000 });
    const box = (id: string) =>
      page.evaluate(`(() => { const r = document.getElementById(${JSON.stringify(id)})
        .getBoundingClientRect(); return [r.left, r.top, r.width]; })()`) as Promise<number[]>;
    const [lossBox, ratioBox, graphBox] = await Promise.all(
      ["train_loss", "train_update_ratio", "gradient_flow_graph"].map(box),
    );
    assert.equal(lossBox[1], ratioBox[1], "loss and update:data are not in one row");
    assert.ok(ratioBox[0] > lossBox[0] + 700, `update:data at x ${ratioBox[0]}`);
    assert.ok(graphBox[2] > 1500, `the graph's section is ${graphBox[2]} px wide`);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});
