/**
 * A rule that keeps state across calls: right on the minibatch it first saw, wrong on every other.
 * `ninja check` judges the rules on a second minibatch and names it; `ninja train` refuses such a
 * file at its gate (the run's first two minibatches), and a rule that goes stale later in a run
 * is caught by the run's periodic re-check, which stops the run with the check's table.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { checkOn, prepareCheck } from "../exercises/ninja/check.ts";
import { loadLearnerFile } from "../exercises/ninja/source.ts";
import {
  doneOf,
  isRecheckStep,
  RECHECK_EVERY,
  RulesDisagree,
  trainWithLearnerRules,
} from "../exercises/ninja/train.ts";
import { DEFAULT_CONFIG } from "../exercises/train/config.ts";
import { prepareData } from "../exercises/train/data.ts";
import { lectureNames, runScript } from "./helpers.ts";

const REPO = new URL("../", import.meta.url).href;
const ninja = (...args: string[]) => runScript("exercises/cli/ninja.ts", ...args);

/**
 * An exercise-4 file whose dlogits builds the one-hot of the targets once, after `after` calls,
 * and keeps it: the lecture's one-hot, cached in a module-level variable.
 */
async function cachedOneHotFile(after: number, throwAt = 0): Promise<string> {
  const path = join(await Deno.makeTempDir({ prefix: "ninja-state-" }), "fused_backward.ts");
  await Deno.writeTextFile(
    path,
    `import { kernels as t, type Tensor } from "${REPO}mod.ts";
import type { Ex4Rules } from "${REPO}exercises/ninja/api.ts";
import { ex4Rules } from "${REPO}exercises/rules/ex4_lines.ts";
export const exercise = 4;
let calls = 0;
let onehot: Tensor | undefined;
export const rules: Ex4Rules = {
  ...ex4Rules,
  loss: {
    logits: ({ dloss, probs, Yb, n }) => {
      if (++calls > ${after}) onehot ??= t.oneHot(Yb, probs.shape[1], undefined, probs);
      if (calls === ${throwAt}) throw new Error("out of ideas");
      const y = onehot ?? t.oneHot(Yb, probs.shape[1], undefined, probs);
      return t.mul(t.sub(probs, y), t.div(dloss, n));
    },
  },
};
`,
  );
  return path;
}

Deno.test("ninja check: a one-hot built once is right on the first minibatch, wrong on a second", async () => {
  const path = await cachedOneHotFile(0);
  const file = await loadLearnerFile(path, { typecheck: false });
  const report = checkOn(await prepareCheck(4), file.rules, { file: file.url });
  const logits = report.nodes.find((v) => v.name === "logits")!;
  assert.equal(logits.status, "wrong", logits.detail);
  assert.equal(logits.mistake, "state");
  assert.match(
    logits.detail,
    /^right on the first minibatch, wrong on a second: does your rule keep/,
  );
  assert.equal(report.firstWrong?.name, "logits");
  // The command says so too, and exits 1.
  const r = await ninja("check", path, "--no-check");
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /logits +wrong +right on the first minibatch, wrong on a second/);
});

Deno.test("ninja train refuses a one-hot built once at its gate", async () => {
  const path = await cachedOneHotFile(0);
  const r = await ninja("train", path, "--steps", "10", "--no-check");
  assert.equal(r.code, 1);
  assert.match(r.stdout, /logits +wrong +right on the first minibatch, wrong on a second/);
  assert.match(r.stderr, /trains only on rules that agree with the engine's.*fix logits first/);
});

Deno.test("ninja train (the command) stops at step 100 when a rule goes stale at step 25", async () => {
  // Cached from the 30th call on: the gate's two minibatches call it 6 times, then a step once.
  const path = await cachedOneHotFile(30);
  const r = await ninja("train", path, "--steps", "400", "--eval-every", "0", "--no-check");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: at step 100, your rules no longer agree with the engine's/m);
  assert.match(r.stderr, /fix logits first/);
  assert.match(r.stderr, /^logits +wrong /m); // the check's table
  assert.match(r.stderr, /^b1 +ok /m);
});

Deno.test("isRecheckStep: 100, 300, 1,000, 3,000, then every 10,000", () => {
  const steps = Array.from({ length: 40_000 }, (_, i) => i + 1).filter((s) =>
    isRecheckStep(s, RECHECK_EVERY)
  );
  assert.deepEqual(steps, [100, 300, 1000, 3000, 10_000, 20_000, 30_000, 40_000]);
  assert.equal(isRecheckStep(10_000, 0), false);
});

Deno.test("ninja train's re-check stops a run whose rule goes stale, with the check's table", async () => {
  // Cached from the 30th call on: both gate minibatches pass (4 calls each, with the probes).
  const path = await cachedOneHotFile(30);
  const url = pathToFileURL(path).href;
  const { rules } = await import(url);
  const data = prepareData(await lectureNames(2000), 3, "2,000 names");
  const config = { ...DEFAULT_CONFIG, steps: 200, evalEvery: 0, evalExamples: 100 };
  const run$ = trainWithLearnerRules(rules, config, data, { file: url, recheckEvery: 50 });
  await assert.rejects(
    doneOf(run$),
    (e: Error) => {
      assert.ok(e instanceof RulesDisagree, String(e));
      assert.equal(e.step, 50);
      assert.equal(e.report.firstWrong?.name, "logits");
      assert.match(e.message, /^at step 50, your rules no longer agree with the engine's/);
      assert.match(e.message, /\nlogits +wrong /);
      return true;
    },
  );
  // The same run with the correct rules trains to the end, checked 4 times on the way.
  const { ex4Rules } = await import("../exercises/rules/ex4_lines.ts");
  const done = await doneOf(
    trainWithLearnerRules(ex4Rules, config, data, { recheckEvery: 50 }),
  );
  assert.equal(done.step, 200);
});

Deno.test("a run that breaks down is checked on the step that broke: the stale rule is named", async () => {
  // Stale from the 30th call (step 30: no gate here), and throws at the 60th; no periodic check.
  const path = await cachedOneHotFile(30, 60);
  const url = pathToFileURL(path).href;
  const { rules } = await import(url);
  const data = prepareData(await lectureNames(2000), 3, "2,000 names");
  const config = { ...DEFAULT_CONFIG, steps: 200, evalEvery: 0, evalExamples: 100 };
  await assert.rejects(
    doneOf(trainWithLearnerRules(rules, config, data, { file: url, recheckEvery: 0 })),
    (e: Error) => {
      assert.ok(e instanceof RulesDisagree, String(e));
      assert.equal(e.step, 60);
      assert.match(e.message, /^step 60: .*out of ideas.*; at step 60, your rules no longer agree/);
      assert.equal(e.report.firstWrong?.name, "logits");
      return true;
    },
  );
});
