import assert from "node:assert/strict";
import { Graph, NinjagradError, Tensor } from "../mod.ts";
import { batchNorm, crossEntropy, embedding, linear, reshape, tanh } from "../ops/build.ts";
import { buildExamples, buildVocab, splitWords } from "../exercises/data.ts";
import type { ParityReport } from "../exercises/parity.ts";
import {
  createRngPlan,
  LECTURE_SEEDS,
  lectureParams,
  normalSource,
  orderedNormalSource,
  PARAM_ORDER,
  type RngPlanState,
  type RngSeeds,
  TorchRecipePlan,
} from "../exercises/rng/recipe.ts";
import { SeededRandom } from "../exercises/train/random.ts";
import { lectureNames, NAMES, readParityGolden, runScript } from "./helpers.ts";

const golden = readParityGolden();

/** Runs `deno task parity` (its script) with `args`; stdout, stderr and the exit code. */
const parity = (...args: string[]) => runScript("exercises/cli/parity.ts", ...args);

async function parityJson(...args: string[]): Promise<ParityReport> {
  const r = await parity("--data", NAMES, "--json", ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function assertClose(got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, want ${want.length}`);
  want.forEach((w, i) => {
    const d = Math.abs(got[i] - w);
    assert.ok(d <= tol, `${what}[${i}]: got ${got[i]}, want ${w} (|diff| ${d} > ${tol})`);
  });
}

/**
 * The lecture's recipe written out again, and its first minibatch's loss through the engine's
 * composite ops (linear, batchnorm, cross-entropy) in float64: a second route to the loss that
 * the CLI computes through the atomic exercise-1 graph in float32.
 */
async function recipeLoss(seeds: RngSeeds, nHidden: number) {
  const words = await lectureNames();
  const plan = new TorchRecipePlan(seeds);
  const split = splitWords(words, (ws) => plan.shuffle(ws));
  const vocab = buildVocab(words);
  const train = buildExamples(split.train, vocab, 3);
  const sizes = { vocabSize: vocab.itos.length, nEmbd: 10, blockSize: 3, nHidden };
  const p = lectureParams(plan, sizes);
  const ix = plan.batchIndices(32, train.n);
  const g = new Graph({ dtype: "float64" });
  const [C, W1, b1, W2, b2, bngain, bnbias] = PARAM_ORDER.map((n) => g.param(n, p[n]));
  const rows = Array.from(ix).flatMap((i) => [...train.X.subarray(3 * i, 3 * i + 3)]);
  const Xb = new Tensor(Int32Array.from(rows), [32, 3]);
  const Yb = new Tensor(Int32Array.from(ix, (i) => train.Y[i]), [32]);
  const emb = embedding(C, g.input("Xb", Xb));
  const h = tanh(batchNorm(linear(reshape(emb, [32, 30]), W1, b1), bngain, bnbias));
  const loss = crossEntropy(linear(h, W2, b2), g.input("Yb", Yb));
  return { ix: Array.from(ix), loss: loss.value.item() };
}

Deno.test("parity --json with the lecture's seeds reproduces parity_lecture.json", async () => {
  const r = await parityJson();
  assert.deepEqual(Object.keys(r).sort(), Object.keys(golden).sort());
  // What was asked for is what is reported.
  assert.equal(r.shuffle_seed, golden.shuffle_seed);
  assert.equal(r.torch_seed, golden.torch_seed);
  assert.equal(r.default_generator_seed, golden.default_generator_seed);
  assert.equal(r.n_hidden, golden.n_hidden);
  assert.equal(r.n_words, golden.n_words);
  // Integers and words: exact.
  assert.deepEqual(r.first_shuffled, golden.first_shuffled);
  assert.deepEqual(r.split_sizes, golden.split_sizes);
  assert.deepEqual(r.batch_ix, golden.batch_ix);
  assert.equal(r.n_params, golden.n_params);
  // Normals: within 2e-6 (PyTorch's vectorised log/sin/cos are not correctly rounded).
  const normals = ["C_first_row", "b1_first", "b2_first", "bngain_first", "bnbias_first"] as const;
  for (const key of normals) assertClose(r[key], golden[key], 2e-6, key);
  // Sums of thousands of float32 values: summation order differs, so 1e-3.
  assertClose([r.W1_sum, r.W2_sum], [golden.W1_sum, golden.W2_sum], 1e-3, "W1_sum, W2_sum");
  // The first minibatch through the exercise-1 net, float32.
  assertClose([r.initial_loss], [golden.initial_loss], 1e-5, "initial_loss");
});

Deno.test("parity --hidden 200 keeps C and the split, changes what follows W1", async () => {
  const r = await parityJson("--hidden", "200");
  assert.equal(r.n_hidden, 200);
  // 27·10 + 30·200 + 200 + 200·27 + 27 + 2·200: exercise 4's 12,297 parameters.
  assert.equal(r.n_params, 12297);
  // C is drawn before anything whose size depends on n_hidden; the shuffle never does.
  assertClose(r.C_first_row, golden.C_first_row, 2e-6, "C_first_row");
  assert.deepEqual(r.split_sizes, golden.split_sizes);
  // b1 now comes after 30·200 normals instead of 30·64, and the minibatch after more still.
  assert.notDeepEqual(r.b1_first, golden.b1_first);
  assert.notDeepEqual(r.batch_ix, golden.batch_ix);
  assert.ok(r.batch_ix.every((i) => Number.isInteger(i) && i >= 0 && i < r.split_sizes[0]));
  const again = await recipeLoss(LECTURE_SEEDS, 200);
  assert.deepEqual(r.batch_ix, again.ix);
  assertClose([r.initial_loss], [again.loss], 1e-5, "initial_loss vs the composite net");
});

Deno.test("parity with other seeds runs and reports those seeds", async () => {
  const r = await parityJson("--shuffle-seed", "7", "--seed", "1", "--default-seed", "3");
  assert.deepEqual([r.shuffle_seed, r.torch_seed, r.default_generator_seed], [7, 1, 3]);
  assert.notDeepEqual(r.first_shuffled, golden.first_shuffled);
  assert.notDeepEqual(r.C_first_row, golden.C_first_row);
  assert.notDeepEqual(r.bngain_first, golden.bngain_first);
  // Another shuffle moves words between splits, but every name still gives len + 1 examples.
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  assert.equal(total(r.split_sizes), total(golden.split_sizes));
  assert.notDeepEqual(r.split_sizes, golden.split_sizes);
  assert.equal(r.n_params, golden.n_params);
  const again = await recipeLoss({ shuffleSeed: 7, seed: 1, defaultSeed: 3 }, 64);
  assert.deepEqual(r.batch_ix, again.ix);
  assertClose([r.initial_loss], [again.loss], 1e-5, "initial_loss vs the composite net");
});

Deno.test("parity prints a human-readable report by default", async () => {
  const r = await parity("--data", NAMES);
  assert.equal(r.code, 0, r.stderr);
  assert.throws(() => JSON.parse(r.stdout));
  assert.match(r.stdout, /random\.seed\(42\); random\.shuffle\(words\)/);
  assert.match(r.stdout, new RegExp(golden.first_shuffled.join(" ")));
  assert.match(r.stdout, /manual_seed\(2147483647\)/);
  assert.match(r.stdout, /loss +3\.3444\d\d/);
});

Deno.test("parity rejects bad flags with exit 2 and one line", async () => {
  for (
    const args of [
      ["--bogus"],
      ["--hidden", "0"],
      ["--hidden", "many"],
      ["--seed=-1"],
      ["--shuffle-seed", "1.5"],
      ["names.txt"],
    ]
  ) {
    const r = await parity(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: [^\n]+\n$/, `${args.join(" ")}: ${r.stderr}`);
  }
  const missing = await parity("--data", "/no/such/names.txt");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: names file \/no\/such\/names\.txt not found[^\n]*\n$/);
});

Deno.test("the torch plan's normal source follows the lecture's order", () => {
  // Through the name-routed source: C from g, bngain from the default generator.
  const byName = normalSource(createRngPlan("torch"));
  const C = byName("C", [27, 10], "float32");
  assertClose(Array.from(C.subarray(0, 10)), golden.C_first_row, 2e-6, "C");
  // Through the positional source an initialiser calls once per parameter, in PARAM_ORDER.
  const next = orderedNormalSource(createRngPlan("torch"));
  const h = golden.n_hidden;
  const sizes = [27 * 10, 30 * h, h, h * 27, 27, h, h];
  const draws = sizes.map((n) => next(n));
  assert.equal(PARAM_ORDER.length, draws.length);
  assertClose(Array.from(draws[0].subarray(0, 10)), golden.C_first_row, 2e-6, "C (ordered)");
  const bngain = Array.from(draws[5].subarray(0, 4), (x) => x * 0.1 + 1);
  assertClose(bngain, golden.bngain_first, 2e-6, "bngain (ordered)");
});

Deno.test("rng plans resume exactly from a saved state, and refuse the other kind's", () => {
  for (const kind of ["torch", "seedrandom"] as const) {
    const plan = createRngPlan(kind, { seed: 5 });
    plan.normal([3], "float32"); // leaves the torch plan a cached double normal
    const saved: RngPlanState = JSON.parse(JSON.stringify(plan.getState()));
    const draw = () => [
      ...plan.normal([20], "float64"),
      ...plan.bnNormal([1, 4], "float32"),
      ...plan.batchIndices(8, 1000),
    ];
    const expected = draw();
    const words = ["a", "b", "c", "d", "e", "f"];
    plan.shuffle(words);
    plan.setState(saved);
    assert.deepEqual(draw(), expected, kind);
    const again = ["a", "b", "c", "d", "e", "f"];
    plan.shuffle(again);
    assert.deepEqual(again, words, `${kind} shuffle`);
    const other = createRngPlan(kind === "torch" ? "seedrandom" : "torch");
    assert.throws(() => other.setState(saved), /saved state is "/);
    // A damaged state is refused with a one-line error and leaves the plan where it was.
    const damaged = JSON.parse(JSON.stringify(saved));
    damaged.main = kind === "torch" ? { engine: { mt: [1], index: 0 } } : { i: 0, j: 0, S: [] };
    plan.setState(saved);
    assert.throws(() => plan.setState(damaged), NinjagradError);
    assert.deepEqual(draw(), expected, `${kind} after a refused state`);
  }
});

Deno.test("the seedrandom plan draws what the training run's SeededRandom draws", () => {
  const plan = createRngPlan("seedrandom", { seed: 1234 });
  const ref = new SeededRandom(1234);
  assert.deepEqual(Array.from(plan.normal([5, 3], "float64")), Array.from(ref.normal(15)));
  assert.deepEqual(Array.from(plan.bnNormal([1, 4], "float64")), Array.from(ref.normal(4)));
  const ix = Array.from(plan.batchIndices(6, 500));
  assert.deepEqual(ix, Array.from({ length: 6 }, () => ref.randint(500)));
  // Seeds matter, and the lecture's are the default.
  assert.deepEqual(createRngPlan("seedrandom").seeds, LECTURE_SEEDS);
  const a = createRngPlan("seedrandom", { seed: 1 }).normal([4], "float64");
  const b = createRngPlan("seedrandom", { seed: 2 }).normal([4], "float64");
  assert.notDeepEqual(Array.from(a), Array.from(b));
});
