/**
 * The golden comparison: the engine's float64 forward values and automatic gradients on the
 * exercise-1 net against PyTorch's (`golden/ex1_float64.json`), through the library and the CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compareGolden, GOLDEN_TOLERANCE, parseGolden, readGolden } from "../exercises/golden.ts";
import { EX1_ROWS, EX1_VALUES, zeroEx1Inputs } from "../exercises/model/ex1.ts";
import { initEx1Params, seededNormal } from "../exercises/params.ts";
import { Tensor } from "../mod.ts";
import { goldenPath, runScript } from "./helpers.ts";

const GOLDEN = goldenPath("ex1_float64.json");

/** Runs `deno task golden` (its script) with `args`: exit code, stdout, stderr. */
const golden = (...args: string[]) => runScript("exercises/cli/golden.ts", ...args);

/** A golden-format object for odd sizes, made by the engine itself (so it agrees with itself). */
function selfGolden() {
  const sizes = { vocab: 6, nEmbd: 4, nHidden: 5, blockSize: 2, batch: 7 };
  const params = initEx1Params(sizes, seededNormal(5));
  const { Xb, Yb } = zeroEx1Inputs(sizes);
  Xb.data.set([0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0, 2, 2]);
  Yb.data.set([1, 2, 3, 4, 5, 0, 1]);
  const json = (t: Tensor) => ({ shape: [...t.shape], data: Array.from(t.data) });
  const seed = {
    n_embd: sizes.nEmbd,
    n_hidden: sizes.nHidden,
    block_size: sizes.blockSize,
    batch: sizes.batch,
    Xb: json(Xb),
    Yb: json(Yb),
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, json(v)])),
    loss: 0,
    values: Object.fromEntries(EX1_VALUES.map((v) => [v, { shape: [1], data: [0] }])),
    grads: Object.fromEntries(EX1_ROWS.map((v) => [v, { shape: [1], data: [0] }])),
  };
  // The engine's own numbers, written back in the golden's format, are a golden of these sizes.
  return compareGolden(parseGolden(seed)).dump as {
    loss: number;
    values: Record<string, { shape: number[]; data: number[] }>;
    grads: Record<string, { shape: number[]; data: number[] }>;
  };
}

Deno.test("the engine reproduces PyTorch's 19 values, 26 gradients and loss within 1e-10", async () => {
  const report = compareGolden(await readGolden(GOLDEN));
  assert.equal(report.rows.filter((r) => r.kind === "value").length, 19);
  assert.equal(report.rows.filter((r) => r.kind === "grad").length, 26);
  const bad = report.rows.filter((r) => !r.ok).map((r) => `${r.kind} ${r.name}: ${r.error}`);
  assert.deepEqual(bad, []);
  assert.ok(report.loss.ok, `loss ${report.loss.engine} vs ${report.loss.golden}`);
  assert.ok(report.worst.error < GOLDEN_TOLERANCE, `worst ${JSON.stringify(report.worst)}`);
});

Deno.test("dlogit_maxes and db1 are rounding noise, measured against their upstream gradient", async () => {
  const report = compareGolden(await readGolden(GOLDEN));
  const noisy = report.rows.filter((r) => r.scale).map((r) => r.name).sort();
  assert.deepEqual(noisy, ["b1", "logit_maxes"]);
});

Deno.test("a real difference in a noise-level gradient still fails", async () => {
  const g = await readGolden(GOLDEN);
  g.grads.logit_maxes.data[3] += 1e-9; // tiny next to dlogit_maxes' upstream (≈ 0.03), but real
  const report = compareGolden(g);
  const row = report.rows.find((r) => r.kind === "grad" && r.name === "logit_maxes")!;
  assert.equal(row.ok, false);
  assert.equal(report.ok, false);
});

Deno.test("golden files of other sizes: agree with themselves, and a perturbed gradient is named", () => {
  const dump = selfGolden();
  const same = compareGolden(parseGolden(dump));
  assert.ok(same.ok && same.worst.error === 0, JSON.stringify(same.worst));
  dump.grads.W1.data[2] *= 1 + 1e-8;
  const off = compareGolden(parseGolden(dump));
  assert.equal(off.ok, false);
  assert.deepEqual(off.rows.filter((r) => !r.ok).map((r) => `${r.kind} ${r.name}`), ["grad W1"]);
});

Deno.test("deno task golden --dump --json: exit 0, 45 tensors dumped, last line is the verdict", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "dump.json");
  const r = await golden(GOLDEN, "--dump", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(last.ok, true);
  assert.ok(last.worst.error < 1e-10);
  assert.equal(last.rows.length, 45);
  const dump = JSON.parse(await Deno.readTextFile(out));
  assert.equal(Object.keys(dump.values).length + Object.keys(dump.grads).length, 45);
  assert.deepEqual(Object.keys(dump.values), [...EX1_VALUES]);
  assert.deepEqual(Object.keys(dump.grads), [...EX1_ROWS]);
  assert.deepEqual(dump.grads.W1.shape, [30, 64]);
  // The dump is a golden file itself: the engine agrees with it exactly.
  const again = await golden(out, "--json");
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout.trim().split("\n").at(-1)!).worst.error, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task golden: a file that disagrees exits 1 naming the tensor", async () => {
  const dir = await Deno.makeTempDir();
  const dump = selfGolden();
  dump.grads.C.data[0] += 1;
  const file = join(dir, "off.json");
  await Deno.writeTextFile(file, JSON.stringify(dump));
  const r = await golden(file);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /grad +C +\(6, 4\) .* DIFFERS/);
  assert.match(
    r.stderr,
    /^error: 1 of 46 differ from the golden by more than 1e-10 \(worst: grad C/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task golden: bad files are one-line errors", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string, string, RegExp][] = [
    ["missing.json", "", /not found/],
    ["broken.json", "{ not json", /is not valid JSON/],
    [
      "no-grads.json",
      JSON.stringify({ ...selfGolden(), grads: undefined }),
      /"grads" must be an object/,
    ],
    [
      "short.json",
      JSON.stringify({ ...selfGolden(), Yb: { shape: [7], data: [1, 2] } }),
      /"Yb" has 2 numbers, but shape \(7,\) holds 7/,
    ],
    [
      "index.json",
      JSON.stringify({ ...selfGolden(), Yb: { shape: [7], data: [1, 2, 3, 4, 5, 6, 7] } }),
      /Yb.data\[5\] is 6, outside the vocabulary 0..5/,
    ],
  ];
  for (const [name, text, message] of cases) {
    const file = join(dir, name);
    if (text) await Deno.writeTextFile(file, text);
    const r = await golden(file);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: ${r.stderr}`);
  }
  const usage = await golden();
  assert.equal(usage.code, 2);
  await Deno.remove(dir, { recursive: true });
});
