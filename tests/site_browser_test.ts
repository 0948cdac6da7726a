/**
 * The workbench page (`deno task site`) in a real browser (Debian's Chromium, headless, driven by
 * playwright-core): built into a temporary folder and served from 127.0.0.1, it loads with no
 * request to another origin; a correct exercise-2 rule typed into its editor is ✓, a planted
 * sign flip is ✗ with the very text `ninja check`'s judging gives, and a rule that loops
 * forever is stopped and named while the page stays responsive. One build and one browser for
 * all of it: Chromium is slow to start.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { buildSite, type BuiltSite, serveSite } from "../exercises/cli/site.ts";
import { EXERCISES } from "../exercises/ninja/exercises.ts";
import { ROOT } from "./helpers.ts";
import { forClone } from "../exercises/cli/site/clone.ts";
import { loadLearner } from "../exercises/cli/site/learner.ts";
import { checkOn, prepareCheck } from "../exercises/ninja/check.ts";
import { formatCheck } from "../exercises/ninja/report.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

const CORRECT = "logits: ({ dloss, probs, Yb, n }) =>\n" +
  "      t.mul(t.sub(probs, t.oneHot(Yb, probs.shape[1], undefined, probs)), t.div(dloss, n)),";
const SIGN_FLIP = "logits: ({ dloss, probs, Yb, n }) =>\n" +
  "      t.mul(t.sub(t.oneHot(Yb, probs.shape[1], undefined, probs), probs), t.div(dloss, n)),";
const ENDLESS = "logits: ({ probs }) => {\n      while (true) {}\n    },";

/** The exercise-2 template with its blank rule replaced by `rule`. */
function withRule(template: string, rule: string): string {
  const blank = 'logits: () => notWritten("dlogits"),';
  assert.ok(template.includes(blank), "the exercise-2 template's blank rule");
  return template.replace(blank, rule);
}

/** Replaces the editor's text by typing `text` into it (a paste, as a learner's would be). */
async function typeInto(page: Page, text: string): Promise<void> {
  await page.click(".cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

/** The page's verdict after Check: its status line once the check is over. */
async function checkAndWait(page: Page): Promise<string> {
  await page.click("#check");
  await page.waitForFunction(
    "!document.querySelector('#check').disabled && document.querySelector('#status').textContent",
    undefined,
    { timeout: 60_000 },
  );
  return await page.textContent("#status") ?? "";
}

/** One build for every test of this file (a build takes a few seconds). */
let site: Promise<{ dir: string; built: BuiltSite }> | undefined;
function built(): Promise<{ dir: string; built: BuiltSite }> {
  return site ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ninjagrad-site-" });
    if (Deno.env.get("NINJAGRAD_KEEP_SITE")) console.log(`site kept in ${dir}`);
    else globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return { dir, built: await buildSite(dir) };
  })();
}

/** The reference rules of exercise `n` as a learner's file for the page (imports from mod.ts). */
async function referenceFile(n: number): Promise<string> {
  const files = n === 4 ? ["ex2.ts", "ex3.ts", "ex4_lines.ts"] : [`ex${n}.ts`];
  const bodies = await Promise.all(
    files.map(async (f) =>
      (await Deno.readTextFile(join(ROOT, "exercises/rules", f)))
        .replace(/^import .*;$/gm, "")
        .replace(/^export const (ex\dRules)/m, "const $1")
    ),
  );
  return [
    'import { kernels as t, Tensor } from "file:///path/to/ninjagrad/mod.ts";',
    "import type { Ex1Rules, Ex2Rules, Ex3Rules, Ex4Rules } from " +
    '"file:///path/to/ninjagrad/exercises/ninja/api.ts";',
    ...bodies,
    `export const exercise = ${n};`,
    `export const rules = ex${n}Rules;`,
    "",
  ].join("\n");
}

/** `text` with its rule for `line.input` negated: a planted sign flip. */
function flipped(text: string, line: string, input: string): string {
  return text +
    `const right = rules.${line}.${input};\nrules.${line}.${input} = (c) => t.neg(right(c));\n`;
}

/** A headless Chromium on a page of the site that records requests to another origin. */
async function open(url: string) {
  assert.ok(
    await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false),
    `no Chromium at ${CHROMIUM}`,
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const offsite: string[] = [], problems: string[] = [];
  await page.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.origin === new URL(url).origin || u.protocol === "blob:") return route.continue();
    offsite.push(u.href);
    return route.abort();
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  return { browser, page, offsite, problems };
}

/** What a test of the page gets: the built folder, the page, and the address it is served at. */
interface OnSite {
  dir: string;
  made: BuiltSite;
  url: string;
  page: Page;
}

/**
 * Builds and serves the site, opens it in Chromium and runs `fn`; then (unless `clean` is false)
 * asserts that the page asked no other origin and raised no error, and closes everything.
 */
async function onSite(fn: (site: OnSite) => Promise<void>, clean = true): Promise<void> {
  const { dir, built: made } = await built();
  const { url, server } = serveSite(dir);
  const { browser, page, offsite, problems } = await open(url);
  try {
    await fn({ dir, made, url, page });
    if (clean) {
      assert.deepEqual(offsite, [], "requests to another origin");
      assert.deepEqual(problems, []);
    }
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

Deno.test("site: the page checks exercise 2 in the browser as ninja check does", () =>
  onSite(async ({ dir, made, url, page }) => {
    await page.goto(`${url}?rulelimit=1500`);
    await page.click("#exercises button[data-n='2']");
    await page.waitForSelector(".cm-content");
    const template = JSON.parse(await Deno.readTextFile(join(dir, "templates.json")))[2];
    assert.equal(await page.evaluate("site.view.state.doc.toString()"), template);

    // A correct rule: ✓, and the graph drawn.
    await typeInto(page, withRule(template, CORRECT));
    assert.match(await checkAndWait(page), /^✓ every gradient agrees/);
    assert.equal(await page.textContent("#verdicts tr.ok td:nth-child(2)"), "logits");
    await page.waitForSelector("#graph svg");
    await page.screenshot({ path: join(dir, "ex2_ok.png") });

    // The sign flip: ✗, with the text ninja check's judging gives for the same file.
    const flipped = withRule(template, SIGN_FLIP);
    await typeInto(page, flipped);
    assert.match(await checkAndWait(page), /^✗ 1 wrong/);
    const expected = formatCheck(checkOn(await prepareCheck(2), loadLearner(flipped, 2).rules));
    assert.match(expected, /dlogits is −1 × the right gradient/);
    assert.equal(await page.textContent("#report"), expected);
    assert.match(
      await page.textContent("#verdicts tr.wrong") ?? "",
      /✗logitswrong.*dlogits is −1 × the right gradient/,
    );
    await page.screenshot({ path: join(dir, "ex2_wrong.png") });

    // Downloaded for this clone, the file gets the same verdict from `ninja check` itself.
    await page.fill("#clone", ROOT);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    assert.equal(download.suggestedFilename(), "exercise2.ts");
    const saved = join(dir, "exercise2.ts");
    await download.saveAs(saved);
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "exercises/cli/ninja.ts"), "check", saved],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const printed = new TextDecoder().decode(cli.stdout);
    assert.equal(cli.code, 1, printed + new TextDecoder().decode(cli.stderr));
    for (const line of expected.split("\n")) {
      assert.ok(printed.includes(line), `${line}\nin\n${printed}`);
    }

    // A rule that throws: marked in the editor at its line.
    const throwing = withRule(template, "logits: ({ probs }) =>\n      t.mull(probs, 2),");
    await typeInto(page, throwing);
    assert.match(await checkAndWait(page), /^✗ 1 wrong/);
    const line = throwing.split("\n").findIndex((l) => l.includes("t.mull(")) + 1;
    const marks = await page.evaluate("site.marked()") as { line: number; message: string }[];
    assert.deepEqual(marks.map((m) => m.line), [line]);
    assert.match(marks[0].message, /t\.mull is not a function/);

    // A syntax error: marked at its line, nothing checked.
    const unparsed = withRule(template, "logits: ({ probs }) => t.mul(probs, 2)),");
    await typeInto(page, unparsed);
    assert.match(await checkAndWait(page), /^✗ .*the file does not parse/);
    assert.equal((await page.evaluate("site.marked()") as { line: number }[])[0].line, line - 1);

    // The work is kept: a reload shows the last text again.
    await page.reload();
    await page.waitForSelector(".cm-content");
    assert.equal(await page.evaluate("site.view.state.doc.toString()"), unparsed);

    // An endless loop: stopped, named, and the page still answers.
    await typeInto(page, withRule(template, ENDLESS));
    const t0 = Date.now();
    const said = await checkAndWait(page);
    assert.match(said, /stopped: your rule for loss\.logits ran for more than 1\.5 s/);
    assert.ok(Date.now() - t0 < 20_000, `stopped after ${Date.now() - t0} ms`);
    assert.equal(await page.evaluate("1 + 1"), 2);
    // A fresh Worker checks the next file.
    await typeInto(page, withRule(template, CORRECT));
    assert.match(await checkAndWait(page), /^✓/);

    // Reset, once confirmed, puts the template back.
    page.once("dialog", (d) => d.accept());
    await page.click("#reset");
    assert.equal(await page.evaluate("site.view.state.doc.toString()"), template);

    assert.ok(made.files.every((f) => f.bytes > 0));
  }));

Deno.test("site: exercises 1, 3 and 4 check in the page: the reference rules ✓, a sign flip ✗", () =>
  onSite(async ({ dir, url, page }) => {
    await page.goto(url);
    for (const n of [1, 3, 4] as const) {
      await page.click(`#exercises button[data-n='${n}']`);
      await page.waitForFunction(
        `document.querySelector('#file').textContent === 'exercise${n}.ts'`,
      );
      const right = await referenceFile(n);
      await typeInto(page, right);
      assert.match(await checkAndWait(page), /^✓ every gradient agrees/, `exercise ${n}`);
      await page.waitForSelector("#graph svg");
      await page.screenshot({ path: join(dir, `ex${n}_ok.png`) });
      const [line, { inputs }] = Object.entries(EXERCISES[n].lines)[0];
      const wrong = flipped(right, line, inputs[0]);
      await typeInto(page, wrong);
      assert.match(await checkAndWait(page), /^✗ 1 wrong/, `exercise ${n}, ${line}.${inputs[0]}`);
      const expected = formatCheck(checkOn(await prepareCheck(n), loadLearner(wrong, n).rules));
      assert.match(expected, /−1 × the right gradient/);
      assert.equal(await page.textContent("#report"), expected, `exercise ${n}`);
      await page.waitForSelector("#graph svg");
      await page.screenshot({ path: join(dir, `ex${n}_wrong.png`) });
    }
  }));

Deno.test("site: exercise 4 trains in the page with the reference rules, its charts drawn", () =>
  onSite(async ({ dir, url, page }) => {
    await page.goto(`${url}?rulelimit=1500`);
    await page.click("#exercises button[data-n='4']");
    await page.waitForFunction("document.querySelector('#file').textContent === 'exercise4.ts'");
    await typeInto(page, await referenceFile(4));
    await page.click("#train");
    await page.waitForFunction(
      "!document.querySelector('#train').disabled",
      undefined,
      { timeout: 180_000 },
    );
    const said = await page.textContent("#status") ?? "";
    const m =
      /^✓ trained 4,000 steps with your rules: val (\d\.\d+), train (\d\.\d+), (\d+\.\d+) ms a step$/
        .exec(said);
    assert.ok(m, said);
    assert.ok(Number(m[1]) < 2.4, `validation loss ${m[1]}`);
    console.log(`in the page: ${said}`);
    // Drawn while it ran (from its first step, then once a second), and at the end.
    const drawnAt = await page.evaluate("site.drawnAt") as number[];
    assert.ok(drawnAt.length >= 1 && drawnAt[0] === 1, `charts drawn at steps ${drawnAt}`);
    for (const chart of ["loss", "update_ratio", "activations"]) {
      assert.ok(await page.$(`#chart-${chart} canvas`), `the ${chart} chart`);
    }
    assert.match(
      await page.textContent("#samples") ?? "",
      /^names sampled from your net: (\w+, ){19}\w+$/,
    );
    await page.screenshot({ path: join(dir, "ex4_trained.png"), fullPage: true });

    // A rule that passes the check, then loops forever in training: stopped and named.
    assert.equal(await page.evaluate("crossOriginIsolated"), true);
    const late = (await referenceFile(4)) +
      "let calls = 0;\nconst b1 = rules.hprebn.b1;\n" +
      "rules.hprebn.b1 = (c) => {\n  if (++calls > 300) while (true) {}\n  return b1(c);\n};\n";
    await typeInto(page, late);
    await page.click("#train");
    await page.waitForFunction("!document.querySelector('#train').disabled", undefined, {
      timeout: 60_000,
    });
    assert.match(
      await page.textContent("#status") ?? "",
      /^✗ stopped: your rule for hprebn\.b1 ran for more than 1\.5 s while training/,
    );
    assert.equal(await page.evaluate("1 + 1"), 2);
  }));

/** Runs `deno ARGS` in the repository with the WebAssembly kernels only; its stdout. */
async function wasmOnly(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { NINJAGRAD_BLAS: "off" },
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, text + new TextDecoder().decode(out.stderr));
  return text;
}

/**
 * The page's training step against the command line's on the WebAssembly kernels
 * (`NINJAGRAD_BLAS=off`), in one run, each twice, interleaved, the best of each kept: the bench's
 * exercise-4 step timed in the page's Worker against `deno task bench`'s (wall clock: a page has
 * no CPU clock), and the page's Train with the reference rules against `deno task ninja train`
 * on the same file (4,000 steps each). A timing on a shared machine: run it with
 * NINJAGRAD_SITE_BENCH=1.
 */
Deno.test({
  name: "site: the page's training step is within 1.5× of the command line's WebAssembly step",
  ignore: !Deno.env.get("NINJAGRAD_SITE_BENCH"),
  fn: async () => {
    await onSite(async ({ dir, url, page }) => {
      await page.goto(url);
      await page.click("#exercises button[data-n='4']");
      const reference = await referenceFile(4);
      await typeInto(page, reference);
      const file = join(dir, "reference4.ts");
      await Deno.writeTextFile(file, forClone(reference, ROOT));
      const times = { pageBench: [], cliBench: [], pageTrain: [], cliTrain: [] } as Record<
        string,
        number[]
      >;
      for (let round = 0; round < 2; round++) {
        const bench = await wasmOnly("task", "--quiet", "bench", "--no-kernels", "--json");
        const step = JSON.parse(bench.split("\n").find((l) => l.includes('"ex4-step"'))!);
        assert.equal(step.paths, "wasm 6");
        times.cliBench.push(step.wallMsPerStep);
        const repeats = await page.evaluate("site.bench(500, 7, 30000)") as number[];
        times.pageBench.push([...repeats].sort((a, b) => a - b)[3]);
        const trained = await wasmOnly(
          "run",
          "-A",
          "exercises/cli/ninja.ts",
          "train",
          file,
          "--steps",
          "4000",
        );
        times.cliTrain.push(Number(/^(\d+\.\d+) ms\/step/m.exec(trained)![1]));
        await page.click("#train");
        await page.waitForFunction("!document.querySelector('#train').disabled", undefined, {
          timeout: 180_000,
        });
        const said = await page.textContent("#status") ?? "";
        times.pageTrain.push(Number(/(\d+\.\d+) ms a step$/.exec(said)![1]));
      }
      const best = (k: string) => Math.min(...times[k]);
      console.log(Object.entries(times).map(([k, v]) => `${k} ${v.join(", ")} ms`).join("; "));
      for (const [p, c] of [["pageBench", "cliBench"], ["pageTrain", "cliTrain"]]) {
        console.log(`${p} / ${c}: ${(best(p) / best(c)).toFixed(2)}`);
        assert.ok(best(p) <= 1.5 * best(c), `${p} ${best(p)} ms against ${c} ${best(c)} ms`);
      }
    }, false);
  },
});
