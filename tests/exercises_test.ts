/**
 * The lecture's exercises 1–3: the hand-written rules of exercise 1 against the engine's automatic
 * ones (exact, as in the lecture), and the one-step cross-entropy and batchnorm rules against
 * backprop through their atomic subgraphs (approximate).
 */
import assert from "node:assert/strict";
import { formatComparison, kernels as t, Tensor } from "../mod.ts";
import { buildEx1, EX1_ROWS, EX1_SIZES } from "../exercises/model/ex1.ts";
import { type Ex1Rules, installEx1Rules } from "../exercises/model/lines.ts";
import { lectureMinibatch } from "../exercises/model/minibatch.ts";
import { initEx1Params, seededNormal } from "../exercises/params.ts";
import { ex1Rules } from "../exercises/rules/ex1.ts";
import { ONE_STEP_TOLERANCE, runExercise } from "../exercises/cli/exercise.ts";
import { NAMES, readParityGolden, runScript } from "./helpers.ts";

/** Runs `deno task exercise` (its script) with `args`: exit code, stdout, stderr. */
const exercise = (...args: string[]) => runScript("exercises/cli/exercise.ts", ...args);

/** The exercise-1 net on one seeded minibatch of the embedded names, in `dtype`. */
async function ex1Model(dtype: "float32" | "float64") {
  const batch = await lectureMinibatch({ seed: 7 });
  return buildEx1(batch.params, batch.Xb, batch.Yb, { dtype });
}

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`exercise 1 (${dtype}): all 26 hand-written gradients equal the engine's bit for bit`, async () => {
    const model = await ex1Model(dtype);
    installEx1Rules(model, ex1Rules);
    const cmp = model.graph.compare(model.loss, { labels: EX1_ROWS });
    assert.deepEqual(cmp.rows.map((r) => r.name), [...EX1_ROWS]);
    const notExact = cmp.rows.filter((r) => !r.exact || !r.shapeMatch).map((r) => r.name);
    assert.deepEqual(notExact, [], formatComparison(cmp));
  });
}

Deno.test("exercise 1 on the lecture's names: the CLI's rows are all exact", async () => {
  const result = await runExercise(1, { data: NAMES, dtype: "float32" });
  assert.equal(result.words, 32033);
  assert.equal(result.trainExamples, 182625);
  assert.ok(result.passed, formatComparison(result.comparison));
});

Deno.test("the hand-written rules multiply by the upstream gradient: exact under a seed of 0.37", async () => {
  const model = await ex1Model("float64");
  installEx1Rules(model, ex1Rules);
  const seed = Tensor.scalar(0.37, "float64");
  const cmp = model.graph.compare(model.loss, { labels: EX1_ROWS, seed });
  assert.ok(cmp.rows.every((r) => r.exact), formatComparison(cmp));
});

Deno.test("with the hand-written rules installed, every node runs an installed rule (ruleCounts.auto stays 0)", async () => {
  const model = await ex1Model("float32");
  installEx1Rules(model, ex1Rules);
  model.graph.ruleCounts.auto = 0;
  model.graph.ruleCounts.override = 0;
  model.graph.backward(model.loss);
  assert.equal(model.graph.ruleCounts.auto, 0);
  assert.ok(model.graph.ruleCounts.override >= 30, `${model.graph.ruleCounts.override} rules ran`);
});

Deno.test("exactness is real: the lecture's spelling of dhpreact rounds differently in float32", async () => {
  const model = await ex1Model("float32");
  // (1.0 - h**2) * dh with h² rounded to float32 first, then 1 − it rounded again
  const lectureSpelling: Ex1Rules = {
    ...ex1Rules,
    h: { hpreact: ({ dh, h }) => t.mul(t.sub(1, t.pow(h, 2)), dh) },
  };
  installEx1Rules(model, lectureSpelling);
  const cmp = model.graph.compare(model.loss, { labels: EX1_ROWS });
  const hpreact = cmp.rows.find((r) => r.name === "hpreact")!;
  assert.equal(hpreact.exact, false);
  assert.equal(hpreact.approximate, true);
  assert.ok(cmp.rows.find((r) => r.name === "h")!.exact, "the rows before it stay exact");
});

Deno.test("a wrong rule shows at its node: dh = dlogits @ W2 (no transpose) of a square W2", () => {
  // A square W2 (n_hidden = vocab) lets the wrong matmul run, so only the values can tell.
  const sizes = { ...EX1_SIZES, nHidden: EX1_SIZES.vocab };
  const params = initEx1Params(sizes, seededNormal(3));
  const Xb = Tensor.from([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]], "int32");
  const Yb = Tensor.from([1, 2, 3, 4], "int32");
  const model = buildEx1(params, Xb, Yb, { dtype: "float64" });
  installEx1Rules(model, {
    ...ex1Rules,
    logits: {
      ...ex1Rules.logits,
      h: ({ dlogits, W2 }) => t.matmul(dlogits, W2, { transA: false, transB: false }),
    },
  });
  const cmp = model.graph.compare(model.loss, { labels: EX1_ROWS });
  assert.equal(cmp.firstDivergent?.name, "h");
  assert.ok(cmp.rows.find((r) => r.name === "W2")!.exact);
});

Deno.test("exercise 2: one-step cross-entropy agrees approximately (float32)", async () => {
  const result = await runExercise(2, { dtype: "float32" });
  const [row] = result.comparison.rows;
  assert.equal(row.name, "logits");
  assert.ok(row.approximate && row.shapeMatch, formatComparison(result.comparison));
  assert.ok(row.maxdiff < ONE_STEP_TOLERANCE, `maxdiff ${row.maxdiff}`);
  assert.ok(result.passed);
});

Deno.test("exercise 3: one-step batchnorm agrees approximately (float32)", async () => {
  const result = await runExercise(3, { dtype: "float32", data: NAMES });
  const [row] = result.comparison.rows;
  assert.equal(row.name, "hprebn");
  assert.ok(row.approximate && row.shapeMatch, formatComparison(result.comparison));
  assert.ok(row.maxdiff < ONE_STEP_TOLERANCE, `maxdiff ${row.maxdiff}`);
});

Deno.test("exercise 1 with the lecture's generators reproduces the lecture's first loss", async () => {
  const golden = readParityGolden();
  const result = await runExercise(1, { data: NAMES, rng: "torch" });
  assert.ok(
    Math.abs(result.loss - golden.initial_loss) < 1e-5,
    `loss ${result.loss}, lecture ${golden.initial_loss}`,
  );
});

Deno.test("deno task exercise 1 --json: exit 0, last line has 26 exact rows in the lecture's order", async () => {
  const r = await exercise("1", "--json", "--dtype", "float64", "--seed", "11");
  assert.equal(r.code, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.deepEqual(last.rows.map((x: { name: string }) => x.name), [...EX1_ROWS]);
  for (const row of last.rows) {
    assert.deepEqual(Object.keys(row), [
      "name",
      "shape",
      "exact",
      "approximate",
      "maxdiff",
      "relerr",
      "tolerance",
      "zeroInTruth",
      "shapeMatch",
    ]);
    assert.ok(row.exact && row.shapeMatch && row.maxdiff === 0, JSON.stringify(row));
    assert.equal(row.zeroInTruth, row.name === "logit_maxes" || row.name === "b1", row.name);
  }
});

Deno.test("deno task exercise 2 --json: the logits row is approximate", async () => {
  const r = await exercise("2", "--json");
  assert.equal(r.code, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(last.rows.length, 1);
  assert.ok(last.rows[0].approximate && last.rows[0].maxdiff < 1e-7, JSON.stringify(last.rows));
});

Deno.test("deno task exercise: 5 and bad flags are usage errors (exit 2)", async () => {
  const five = await exercise("5");
  assert.equal(five.code, 2);
  assert.match(five.stderr, /^error: exercise needs a number: 1, 2, 3, 4, got "5"/);
  const dtype = await exercise("1", "--dtype", "float16");
  assert.equal(dtype.code, 2);
  assert.match(dtype.stderr, /--dtype must be one of float32, float64/);
  const data = await exercise("1", "--data", "/nonexistent/names.txt");
  assert.equal(data.code, 1);
  assert.match(data.stderr, /not found/);
});
