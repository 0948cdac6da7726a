/**
 * The page's loader of a learner's file (exercises/cli/site/learner.ts), run here in Deno: the
 * TypeScript becomes JavaScript with its lines kept, so a syntax error is placed at the editor's
 * line (a rule that throws is placed by the browser's stack: site_browser_test.ts); an import of anything but the engine is refused in one line; and
 * the command's flags are checked.
 */
import assert from "node:assert/strict";
import { learnerTemplate } from "../exercises/ninja/template.ts";
import { loadLearner } from "../exercises/cli/site/learner.ts";
import { checkOn, prepareCheck } from "../exercises/ninja/check.ts";
import { LearnerFileError } from "../exercises/ninja/source.ts";
import { main, TEMPLATE_REPO } from "../exercises/cli/site.ts";
import { UsageError } from "../ops/kernels/errors.ts";
import { forClone } from "../exercises/cli/site/clone.ts";

const template = learnerTemplate(2, TEMPLATE_REPO);
const BLANK = 'logits: () => notWritten("dlogits"),';
const lineOf = (text: string, needle: string) =>
  text.split("\n").findIndex((l) => l.includes(needle)) + 1;

Deno.test("site loader: the blank template loads, its rule not written", async () => {
  const file = loadLearner(template, 2);
  assert.equal(file.exercise, 2);
  const report = checkOn(await prepareCheck(2), file.rules);
  assert.equal(report.counts["not written"], 1);
});

Deno.test("site loader: a syntax error is placed at its line", () => {
  const text = template.replace(BLANK, "logits: ({ probs }) => t.mul(probs, 2)),");
  assert.throws(() => loadLearner(text, 2), (e: unknown) => {
    assert.ok(e instanceof LearnerFileError);
    assert.equal(e.failure, "syntax");
    assert.equal(e.diagnostics[0].line, lineOf(text, "t.mul(probs, 2))"));
    return true;
  });
});

Deno.test("site loader: an import of anything but the engine is refused", () => {
  const text = template.replace('from "file:///path/to/ninjagrad/mod.ts"', 'from "node:fs"')
    .replace(BLANK, "logits: ({ probs }) => t.mul(probs, 2),");
  assert.throws(() => loadLearner(text, 2), /imports node:fs; in the page a file may import only/);
});

Deno.test("site command: usage errors name what was wrong", async () => {
  await assert.rejects(() => main(["publish"]), UsageError);
  await assert.rejects(() => main(["serve", "--port", "http"]), /--port must be a whole number/);
  await assert.rejects(() => main(["build", "--port", "80"]), /--port goes with deno task serve/);
});

Deno.test("site download: the imports point into the clone given, the rest unchanged", () => {
  const text = learnerTemplate(2, TEMPLATE_REPO);
  const moved = forClone(text, "/home/me/my clone/");
  assert.match(moved, /from "file:\/\/\/home\/me\/my%20clone\/mod\.ts";/);
  assert.match(moved, /from "file:\/\/\/home\/me\/my%20clone\/exercises\/ninja\/api\.ts";/);
  assert.equal(moved.replaceAll("file:///home/me/my%20clone/", "file:///path/to/ninjagrad/"), text);
  assert.equal(forClone(text, "  "), text);
});
