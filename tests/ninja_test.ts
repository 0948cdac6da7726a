/**
 * Learner mode: a blank file reports every node "not written"; the reference rules pass; the
 * lecture's classic slips (the forgotten broadcast sum in dcounts_sum_inv, dC by assignment, a
 * transposed dW2) are each reported at exactly their node, with a shape hint where the shape is
 * wrong.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkRules } from "../exercises/ninja/check.ts";
import { loadLearnerFile } from "../exercises/ninja/source.ts";
import { initLearnerFile } from "../exercises/ninja/init.ts";
import { EX1_ROWS } from "../exercises/model/ex1.ts";
import { runScript } from "./helpers.ts";
import { add, Graph, kernels, sum, Tensor } from "../mod.ts";
import { shapeHint } from "../graph/rules.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;
const API = new URL("../exercises/ninja/api.ts", import.meta.url).href;
const REFERENCE = new URL("../exercises/rules/ex1.ts", import.meta.url).href;

/** Runs `deno task ninja` (its script) with `args`: exit code, stdout, stderr. */
const ninja = (...args: string[]) => runScript("exercises/cli/ninja.ts", ...args);

/**
 * A learner file that takes the reference rules and replaces some, as a learner would write them:
 * `overrides` is the body of the object literal after `...ex1Rules,`.
 */
async function learnerFile(overrides: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ninja-" });
  const path = join(dir, "backprop.ts");
  await Deno.writeTextFile(
    path,
    `import { kernels as t, Tensor } from "${MOD}";
import type { Ex1Rules } from "${API}";
import { ex1Rules } from "${REFERENCE}";
export const rules: Ex1Rules = {
  ...ex1Rules,
  ${overrides}
};
`,
  );
  return path;
}

/** The learner file's verdicts, by node. */
async function check(path: string) {
  const file = await loadLearnerFile(path, { typecheck: false });
  const report = await checkRules(file.rules, { exercise: file.exercise, file: file.url });
  const status = Object.fromEntries(report.nodes.map((n) => [n.name, n.status]));
  const detail = Object.fromEntries(report.nodes.map((n) => [n.name, n.detail]));
  return { report, status, detail };
}

/** The nodes whose status is not "ok". */
function notOk(status: Record<string, string>): string[] {
  return Object.entries(status).filter(([, s]) => s !== "ok").map(([n]) => n);
}

Deno.test("a correct learner file (the reference rules) passes at every node, exactly", async () => {
  const { report } = await check(await learnerFile(""));
  assert.deepEqual(report.nodes.map((n) => n.name), [...EX1_ROWS]);
  assert.ok(report.nodes.every((n) => n.status === "ok" && n.exact), JSON.stringify(report.nodes));
  assert.equal(report.firstWrong, undefined);
  assert.equal(report.nextToWrite, undefined);
});

Deno.test("forgetting the broadcast sum in dcounts_sum_inv: that node is wrong, with the hint", async () => {
  const path = await learnerFile(
    `probs: { ...ex1Rules.probs, counts_sum_inv: ({ dprobs, counts }) => t.mul(counts, dprobs) },`,
  );
  const { report, status, detail } = await check(path);
  assert.deepEqual(notOk(status), ["counts_sum_inv"]);
  assert.equal(report.firstWrong?.name, "counts_sum_inv");
  assert.match(detail.counts_sum_inv, /shape \(32, 27\), but counts_sum_inv is \(32, 1\)/);
  assert.match(
    detail.counts_sum_inv,
    /broadcast in the forward pass, so sum over axis 1 with keepdim/,
  );
});

Deno.test("dC by assignment: repeated letters overwrite, and node C is wrong", async () => {
  const path = await learnerFile(`emb: {
    C: ({ demb, C, Xb }) => {
      const dC = Tensor.zeros(C.shape, C.dtype);
      const w = C.shape[1];
      for (let i = 0; i < Xb.size; i++) {
        for (let d = 0; d < w; d++) dC.data[Xb.data[i] * w + d] = demb.data[i * w + d];
      }
      return dC;
    },
  },`);
  const { report, status, detail } = await check(path);
  assert.deepEqual(notOk(status), ["C"]);
  assert.equal(report.firstWrong?.name, "C");
  assert.match(detail.C, /added into dC\[Xb\[k, j\]\] \(\+=\), not assigned \(=\)/);
  assert.equal(report.firstWrong?.mutant, "assign-not-add");
});

Deno.test("a transposed dW2 is named, and called transposed", async () => {
  const path = await learnerFile(
    `logits: { ...ex1Rules.logits, W2: ({ dlogits, h }) => t.matmul(dlogits, h, { transA: true, transB: false }) },`,
  );
  const { report, status, detail } = await check(path);
  assert.deepEqual(notOk(status), ["W2"]);
  assert.equal(report.firstWrong?.name, "W2");
  assert.match(
    detail.W2,
    /shape \(27, 64\), but W2 is \(64, 27\): it is the right gradient, transposed/,
  );
});

Deno.test("one of two parts wrong: dcounts from counts_sum is named, and only counts is wrong", async () => {
  const path = await learnerFile(
    `counts_sum: { counts: ({ dcounts_sum, counts }) => t.mul(counts, dcounts_sum) },`,
  );
  const { status, detail } = await check(path);
  assert.deepEqual(notOk(status), ["counts"]);
  assert.match(
    detail.counts,
    /^dcounts \(from counts_sum\) .*\(dcounts \(from probs\) is right\)$/,
  );
});

Deno.test("a rule that throws is wrong at its node, at its line; the nodes after it are still judged", async () => {
  const path = await learnerFile(`h: { hpreact: ({ dh }) => (t as any).mull(dh, 2) },`);
  const { report, status, detail } = await check(path);
  assert.deepEqual(notOk(status), ["hpreact"]);
  assert.match(
    detail.hpreact,
    /your rule threw TypeError: t.mull is not a function \(backprop.ts:6:\d+\)/,
  );
  assert.equal(report.firstWrong?.location?.line, 6);
});

Deno.test("ninja init writes a blank file that reports 'not written' everywhere", async () => {
  const dir = join(await Deno.makeTempDir({ prefix: "ninja-" }), "mywork");
  const path = await initLearnerFile(dir);
  const text = await Deno.readTextFile(path);
  assert.match(text, /\/\/ {3}probs = counts \* counts_sum_inv +\(32, 27\)/);
  assert.match(text, /counts: \(\) => notWritten\("dcounts \(from probs\)"\)/);
  // ninja_cli_test.ts type-checks the blank files of all four exercises.

  const { report } = await check(path);
  assert.ok(report.nodes.every((n) => n.status === "not written"), JSON.stringify(report.nodes));
  assert.equal(report.nextToWrite?.name, "logprobs");

  const r = await ninja("check", path, "--json", "--no-check");
  assert.equal(r.code, 1);
  const json = JSON.parse(r.stdout);
  assert.equal(json.counts["not written"], 26);
  assert.deepEqual(json.rules, { total: 30, written: 0 });
  assert.equal(json.nextToWrite, "logprobs");
  assert.match(r.stderr, /^error: 26 nodes to go: write logprobs next\n$/);
});

Deno.test("ninja init refuses to overwrite: exit 1, the learner's file untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninja-" });
  const path = join(dir, "backprop.ts");
  await Deno.writeTextFile(path, "// my work\n");
  const r = await ninja("init", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /backprop.ts already exists; nothing was written/);
  assert.equal(await Deno.readTextFile(path), "// my work\n");
});

Deno.test("ninja check of a correct file exits 0; a wrong one exits 1 naming the first wrong node", async () => {
  const ok = await ninja("check", await learnerFile(""), "--dtype", "float64", "--no-check");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /26 ok, 0 wrong, 0 not written/);
  const wrong = await ninja(
    "check",
    await learnerFile(
      `bnvar: { bndiff2: ({ dbnvar, bndiff2, n }) => t.expand(t.mul(1 / n, dbnvar), bndiff2.shape, 0) },`,
    ),
    "--no-check",
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /first wrong node in backward order: bndiff2/);
  assert.match(wrong.stdout, /Bessel's correction/);
  assert.match(wrong.stderr, /^error: 1 node is wrong: fix bndiff2 first/);
});

Deno.test("ninja check: a missing file, a file without rules, and unknown lines are one-line errors", async () => {
  const missing = await ninja("check", "/nonexistent/backprop.ts");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found: create one with deno task ninja init DIR/);
  const dir = await Deno.makeTempDir({ prefix: "ninja-" });
  const empty = join(dir, "empty.ts");
  await Deno.writeTextFile(empty, "export const x = 1;\n");
  const none = await ninja("check", empty, "--no-check");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /exports no "rules"/);
  const typo = await learnerFile(`prob: {},`);
  // The type-check finds it first, at its line, with the compiler's suggestion...
  const checked = await ninja("check", typo);
  assert.equal(checked.code, 1);
  assert.match(
    checked.stderr,
    /backprop.ts:6:3: TS2561 .*'prob' does not exist in type 'Ex1Rules'. Did you mean to write 'probs'\?/,
  );
  // ...and without it, the check says which lines there are.
  const unknown = await ninja("check", typo, "--no-check");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /rules.prob is not a line of exercise 1/);
  assert.equal(unknown.stderr.trim().split("\n").length, 1);
});

Deno.test("shapeHint says which way a wrong shape must go", () => {
  // A keepdim too many: (1, 27) for b2's (27,) must drop the axis, not keep it.
  assert.match(shapeHint([1, 27], [27]), /extra axis of size 1: sum without keepdim/);
  assert.match(shapeHint([64], [1, 64]), /lost an axis of size 1: keep the summed axis/);
  assert.match(
    shapeHint([32, 30], [32, 3, 10]),
    /reshape it from \(32, 30\) back to \(32, 3, 10\)/,
  );
  assert.match(
    shapeHint([32, 27], [27]),
    /broadcast in the forward pass, so sum over the leading axis 0/,
  );
  assert.match(shapeHint([27, 64], [64, 27]), /it is transposed/);
  assert.equal(shapeHint([3, 4], [5]), "");
  // The engine's own error for a hand-written rule says the same.
  const graph = new Graph({ dtype: "float64" });
  const x = graph.param("x", Tensor.zeros([2, 27], "float64"));
  const b = graph.param("b", Tensor.zeros([27], "float64"));
  const loss = sum(add(x, b)).named("loss");
  graph.override(loss.inputs[0], {
    b: ({ g }) => kernels.sum(g, { axis: 0, keepdim: true }),
  });
  assert.throws(
    () => graph.backward(loss),
    /returned shape \(1, 27\), but b has shape \(27,\): it has an extra axis of size 1/,
  );
});
