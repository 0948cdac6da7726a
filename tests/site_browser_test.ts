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
import { buildSite, serveSite } from "../exercises/cli/site.ts";
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

Deno.test("site: the page checks exercise 2 in the browser as ninja check does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-site-" });
  const built = await buildSite(dir);
  const { url, server } = serveSite(dir);
  assert.ok(
    await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false),
    `no Chromium at ${CHROMIUM}`,
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const offsite: string[] = [], problems: string[] = [];
    await page.route("**/*", (route) => {
      const u = new URL(route.request().url());
      if (u.origin === new URL(url).origin || u.protocol === "blob:") return route.continue();
      offsite.push(u.href);
      return route.abort();
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
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

    assert.deepEqual(offsite, [], "requests to another origin");
    assert.deepEqual(problems, []);
    assert.ok(built.files.every((f) => f.bytes > 0));
  } finally {
    await browser.close();
    await server.shutdown();
    if (!Deno.env.get("NINJAGRAD_KEEP_SITE")) await Deno.remove(dir, { recursive: true });
    else console.log(`site kept in ${dir}`);
  }
});
