/**
 * The live view in a real browser (Debian's Chromium, headless, driven by playwright-core): the
 * page loads from 127.0.0.1 with no other request, its charts gain points while the run goes on
 * (Vega changesets, not new charts), it shows the final state when the run ends, and the server
 * closes. Once for the view on its own (a paced demo run), once for `deno task train --live`,
 * stopped with Ctrl-C.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { LIVE_CHARTS, serveLive } from "../viz/mod.ts";
import { Subject, switchMap, take } from "../graph/deps.ts";
import { demoTraining } from "./fixtures/viz_demo.ts";
import { lectureNames, ROOT, tempNamesFile } from "./helpers.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

async function launch(): Promise<Browser> {
  // Fail, never skip: a missing browser would otherwise pass this test without running it.
  assert.ok(
    await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false),
    `no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium), or set CHROMIUM_PATH`,
  );
  // playwright gives the browser a fresh profile of its own (it refuses --user-data-dir).
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page that records every request and console complaint; requests off 127.0.0.1 fail. */
async function watchedPage(browser: Browser) {
  const page = await browser.newPage();
  const offsite: string[] = [], problems: string[] = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1") return route.continue();
    offsite.push(url.href);
    return route.abort();
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  return { page, offsite, problems };
}

/** How many rows a live chart's dataset holds now (0 before the chart exists). */
function rows(page: Page, chart: string, dataset: string): Promise<number> {
  return page.evaluate(
    `(window.live.views[${JSON.stringify(chart)}]?.data(${JSON.stringify(dataset)}) ?? []).length`,
  );
}

/** Waits until `f` resolves true, polling. */
async function until(what: string, f: () => Promise<boolean>, timeoutMs = 20_000) {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function closed(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return false;
  } catch {
    return true;
  }
}

Deno.test("live view: charts gain points while a run goes on, then show its final state", async () => {
  const steps = 1500;
  // The run starts once the page is up and halts at steps 500 and 1000 until the test has seen
  // the page catch up, so that "while the run goes on" holds however busy the machine is.
  const start = new Subject<void>();
  const gates = new Map([500, 1000].map((s) => [s, Promise.withResolvers<void>()]));
  const halted = new Map([500, 1000].map((s) => [s, Promise.withResolvers<void>()]));
  const run$ = start.pipe(
    take(1),
    switchMap(() =>
      demoTraining({
        steps,
        paceMs: 1,
        chunk: 50,
        evalEvery: 500,
        before: (step) => {
          halted.get(step)?.resolve();
          return gates.get(step)?.promise;
        },
      })
    ),
  );
  const view = await serveLive(run$, {
    every: 10,
    flushMs: 100,
    title: "live test",
    facts: [{ label: "data", value: "the demo's random minibatches" }],
  });
  assert.match(view.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  let finished = false;
  view.finished.then(() => (finished = true));
  const browser = await launch();
  try {
    const { page, offsite, problems } = await watchedPage(browser);
    await page.goto(view.url);
    await page.waitForFunction("typeof vegaEmbed === 'function' && window.live.messages > 0");
    start.next();
    // Every step's loss, raw and smoothed (a run of 1,500 steps is drawn whole).
    const seen: Record<number, { loss: number; ratio: number; nodes: number }> = {};
    for (const at of [500, 1000]) {
      await halted.get(at)!.promise;
      await until(
        `${at} loss points`,
        async () =>
          (await rows(page, "loss", "loss_line")) === at &&
          (await rows(page, "loss", "loss_raw")) === at,
      );
      await until(
        "the graph and the histograms",
        async () =>
          (await rows(page, "graph", "graph_nodes_grad")) > 0 &&
          (await rows(page, "activations", "hist_0")) === 50,
      );
      // The x axis spans the planned run from the start: it does not rescale as steps come.
      assert.deepEqual(await page.evaluate(`window.live.views.loss.scale("x").domain()`), [
        0,
        steps - 1,
      ]);
      seen[at] = {
        loss: await rows(page, "loss", "loss_line"),
        ratio: await rows(page, "update_ratio", "ratio_matrices"),
        nodes: await rows(page, "graph", "graph_nodes_grad"),
      };
      assert.equal(finished, false, "the run goes on");
      gates.get(at)!.resolve();
    }
    assert.ok(seen[1000].ratio > seen[500].ratio, "update:data gained points");
    await view.finished;
    await page.waitForFunction(`document.body.dataset.ended === "true"`, null, { timeout: 30_000 });
    assert.equal(await rows(page, "loss", "loss_line"), 1500);
    // Three samples (C, W1, W2) every 10 steps; the last step's update is never applied in the
    // demo (it has no done event), so its change is not measured and not drawn.
    assert.equal(await rows(page, "update_ratio", "ratio_matrices"), 3 * 150);
    // Every chart of the report is on the page, each drawn once, everything after came as
    // changesets (the per-parameter dots anew where their log axes' decades changed).
    const specsOf = await page.evaluate("window.live.specsOf") as Record<string, number>;
    for (const chart of LIVE_CHARTS) {
      if (chart === "params") assert.ok(specsOf[chart] >= 1, "params never drawn");
      else assert.equal(specsOf[chart], 1, `${chart} drawn ${specsOf[chart]} times`);
    }
    // The histograms' rows over the run: a row per 20 steps (2 · every), and the last step.
    assert.equal(await rows(page, "activations", "dist_1"), 76); // steps 0, 20, …, 1480, 1499
    assert.ok(await rows(page, "activation_overlay", "overlay") > 0);
    assert.ok(await rows(page, "params", "param_dots_0") > 0);
    // Once the run has ended, the captions are the run's own, as in report.html.
    await until(
      "the run's captions",
      async () =>
        /went from .* at the first step/.test(await page.textContent("#caption-loss") ?? ""),
    );
    assert.ok((await page.evaluate("window.live.changes") as number) > 20);
    assert.match(await page.textContent("#status") ?? "", /finished after 1,500 steps: train/);
    // A page opened after the end gets the final state at once.
    const late = await watchedPage(browser);
    await late.page.goto(view.url);
    await late.page.waitForFunction(`document.body.dataset.ended === "true"`);
    await until(
      "the late page's charts",
      async () =>
        (await rows(late.page, "loss", "loss_line")) === 1500 &&
        (await rows(late.page, "update_ratio", "ratio_matrices")) === 3 * 150,
    );
    assert.deepEqual([...offsite, ...late.offsite], [], "requests left 127.0.0.1");
    assert.deepEqual([...problems, ...late.problems], [], "the console complained");
  } finally {
    for (const g of gates.values()) g.resolve();
    await browser.close();
    await view.close();
  }
  assert.ok(await closed(view.port), "the server still answers after close()");
});

Deno.test("deno task train --live serves the run on 127.0.0.1; Ctrl-C stops both", async () => {
  // 200 names: loading them and the evaluation after Ctrl-C take no time.
  const names = await tempNamesFile(await lectureNames(200));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "exercises/cli/train.ts"),
      "--live",
      "--data",
      names,
      "--steps",
      "200000",
      "--hidden",
      "64",
      "--quiet",
    ],
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await out.read();
    if (done) break;
    printed += value;
    url = /http:\/\/127\.0\.0\.1:\d+\//.exec(printed)?.[0];
  }
  const browser = await launch();
  try {
    assert.ok(url, `no address printed:\n${printed}`);
    const { page, offsite, problems } = await watchedPage(browser);
    await page.goto(url);
    await until("the loss chart", async () => (await rows(page, "loss", "loss_line")) > 0, 30_000);
    const first = await rows(page, "loss", "loss_line");
    await until("more loss points", async () => (await rows(page, "loss", "loss_line")) > first);
    await until("the graph", async () => (await rows(page, "graph", "graph_nodes_grad")) > 0);
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 130, "Ctrl-C stops the run (exit 130)");
    await page.waitForFunction(`document.body.dataset.ended === "true"`, null, { timeout: 10_000 });
    assert.deepEqual(offsite, [], "requests left 127.0.0.1");
    assert.deepEqual(problems, [], "the console complained");
    assert.ok(await closed(Number(new URL(url).port)), "the server outlived the run");
  } finally {
    await browser.close();
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await out.cancel();
    await child.stderr.cancel();
  }
});
