import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { fileURLToPath } from "node:url";
import { loadNames } from "../exercises/data.ts";
import { buildEx4, countParams, EX4_SIZES } from "../exercises/model/ex4.ts";
import { installEx4Rules } from "../exercises/rules/ex4.ts";
import { DEFAULT_CONFIG, learningRate, type TrainConfig } from "../exercises/train/config.ts";
import { prepareData, type TrainData } from "../exercises/train/data.ts";
import { bnStatistics, EvalNet } from "../exercises/train/eval.ts";
import type { DoneEvent, TrainEvent } from "../exercises/train/events.ts";
import { finalStatistics } from "../exercises/train/final.ts";
import {
  drawBatch,
  firstStepComparison,
  initialState,
  sizesOf,
  train,
  type TrainOptions,
} from "../exercises/train/run.ts";
import { Graph } from "../graph/graph.ts";
import { Tensor } from "../ops/kernels/tensor.ts";
import type { AnyRule } from "../graph/op.ts";

const NAMES = new URL("../exercises/data/names.txt", import.meta.url);
const GOLDEN = new URL("golden/parity_lecture.json", import.meta.url);
const CLI = fileURLToPath(new URL("../exercises/cli/train.ts", import.meta.url));

/** The fixture: the first 200 names of the lecture's file, split as the lecture splits. */
const FIXTURE: TrainData = prepareData((await loadNames(NAMES)).slice(0, 200), 3, "200 names");

/** A small, fast exercise-4 run on the fixture. */
const SMALL: TrainConfig = { ...DEFAULT_CONFIG, steps: 300, hidden: 32, evalEvery: 0, seed: 7 };

/** Runs to the end; the step losses and the final event. */
function runToEnd(config: TrainConfig, data = FIXTURE, options: TrainOptions = {}) {
  return new Promise<{ losses: number[]; done: DoneEvent; events: TrainEvent[] }>(
    (resolve, reject) => {
      const losses: number[] = [];
      const events: TrainEvent[] = [];
      train(config, data, options).subscribe({
        next: (e) => {
          if (e.type === "step") losses.push(e.loss);
          else events.push(e);
          if (e.type === "done") resolve({ losses, done: e, events });
        },
        error: reject,
      });
    },
  );
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test("the exercise-4 net has the lecture's 12,297 parameters (4,137 with n_hidden 64)", () => {
  assert.equal(countParams(EX4_SIZES), 12_297);
  assert.equal(countParams({ ...EX4_SIZES, hidden: 64 }), 4_137);
});

Deno.test("the learning rate is 0.1, then 0.01 from half-way (step 100,000 of 200,000)", () => {
  assert.equal(learningRate(DEFAULT_CONFIG, 99_999), 0.1);
  assert.equal(learningRate(DEFAULT_CONFIG, 100_000), 0.01);
  assert.equal(learningRate({ lr: 0.5, steps: 10 }, 5), 0.05);
});

Deno.test("training on 200 names with the hand-written backward: the loss falls", async () => {
  const { losses, done } = await runToEnd(SMALL);
  assert.equal(losses.length, SMALL.steps);
  const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-50));
  assert.ok(first > 3, `a fresh net should be near ln 27 ≈ 3.3, got ${first}`);
  assert.ok(last < first - 0.5, `batch loss went from ${first} to only ${last}`);
  assert.ok(done.train < first - 0.5, `final train loss ${done.train} (first batches ${first})`);
  assert.ok(Number.isFinite(done.val));
});

Deno.test("manual backward runs no automatic rule; auto backward runs no hand-written one", async () => {
  const config = { ...SMALL, steps: 20 };
  const manual = (await runToEnd(config)).done.ruleCounts;
  assert.equal(manual.auto, 0, "a hand-written backward ran an automatic rule");
  // 13 rules a step: loss 1, logits 3, h 1, hpreact 3, hprebn 3, embcat 1, emb 1.
  assert.equal(manual.override, 13 * config.steps);
  const auto = (await runToEnd({ ...config, backward: "auto" })).done.ruleCounts;
  assert.equal(auto.override, 0);
  assert.equal(auto.auto, 13 * config.steps);
});

Deno.test("manual and auto backward give the same training in float64", async () => {
  const config: TrainConfig = { ...SMALL, steps: 30, dtype: "float64" };
  const manual = await runToEnd(config);
  const auto = await runToEnd({ ...config, backward: "auto" });
  for (let i = 0; i < config.steps; i++) {
    assert.ok(Math.abs(manual.losses[i] - auto.losses[i]) < 1e-9, `step ${i + 1} differs`);
  }
});

Deno.test("first step: every hand-written gradient agrees with the automatic one", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const cmp = firstStepComparison({ ...SMALL, dtype }, FIXTURE);
    assert.equal(cmp.rows.length, 13);
    for (const r of cmp.rows) {
      // Every row within its own rounding, b1 (zero in truth: both sides are noise) included.
      assert.ok(r.shapeMatch && r.approximate, `${dtype} ${r.name}: maxdiff ${r.maxdiff}`);
      assert.equal(r.zeroInTruth, r.name === "b1", `${dtype} ${r.name}`);
    }
  }
});

Deno.test("a wrong tanh rule (1 − h instead of 1 − h²) is caught at hpreact", () => {
  const { weights, random } = initialState(SMALL, FIXTURE);
  const sizes = sizesOf(SMALL, FIXTURE);
  const model = buildEx4(new Graph({ dtype: "float64" }), weights, sizes, SMALL.batch);
  const xb = model.Xb.value, yb = model.Yb.value;
  drawBatch(random, FIXTURE.train, xb.data as Int32Array, yb.data as Int32Array);
  model.graph.run({ Xb: xb, Yb: yb });
  installEx4Rules(model.graph);
  const wrong: AnyRule = ({ g, out }) => {
    const d = Tensor.zeros(out.shape, "float64");
    for (let i = 0; i < d.size; i++) d.data[i] = g.data[i] * (1 - out.data[i]);
    return d;
  };
  model.graph.override("h", wrong);
  const cmp = model.graph.compare(model.loss, { labels: ["h", "hpreact", "W1"] });
  assert.equal(cmp.rows[0].approximate, true, "h's own gradient comes from above: still right");
  assert.equal(cmp.firstDivergent?.name, "hpreact");
});

Deno.test("eval mode with the batch's own statistics equals the training graph's loss", () => {
  const config: TrainConfig = { ...SMALL, dtype: "float64" };
  const { weights, random } = initialState(config, FIXTURE);
  const sizes = sizesOf(config, FIXTURE);
  const model = buildEx4(new Graph({ dtype: "float64" }), weights, sizes, config.batch);
  const rows = random.batchIndices(config.batch, FIXTURE.train.n);
  const xb = model.Xb.value.data, yb = model.Yb.value.data;
  rows.forEach((r, i) => {
    yb[i] = FIXTURE.train.Y[r];
    for (let j = 0; j < 3; j++) xb[i * 3 + j] = FIXTURE.train.X[r * 3 + j];
  });
  model.graph.run({ Xb: model.Xb.value, Yb: model.Yb.value });
  // Training-mode BatchNorm uses the batch mean and unbiased variance: the same statistics.
  const net = new EvalNet(weights, sizes, bnStatistics(weights, sizes, FIXTURE.train, rows));
  const got = net.loss(FIXTURE.train, rows), want = model.loss.value.item();
  assert.ok(Math.abs(got - want) < 1e-12, `eval ${got}, graph ${want}`);
});

Deno.test("unsubscribing stops the run between steps", async () => {
  let last = 0, done = false;
  const sub = train({ ...SMALL, steps: 100_000 }, FIXTURE).subscribe((e) => {
    if (e.type === "step") last = e.step;
    if (e.type === "done") done = true;
    if (last === 5) sub.unsubscribe();
  });
  // Steps run in chunks, one chunk per turn of the event loop: had the run gone on, a few turns
  // would have run more steps. Turns are counted, not timed.
  for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
  assert.equal(last, 5);
  assert.equal(done, false);
  assert.ok(sub.closed);
});

Deno.test("the final losses are the train and val splits' (never test's), with the final statistics", async () => {
  const { done } = await runToEnd({ ...SMALL, steps: 50 });
  const net = new EvalNet(done.model.weights, done.model.sizes, done.model.bn);
  const [train, val, test] = [FIXTURE.train, FIXTURE.val, FIXTURE.test].map((ex) => net.loss(ex));
  assert.notEqual(val, test, "the fixture's val and test splits must tell each other apart");
  assert.equal(done.train, train);
  assert.equal(done.val, val);
  const bn = bnStatistics(done.model.weights, done.model.sizes, FIXTURE.train);
  assert.deepEqual([...done.model.bn.mean], [...bn.mean], "statistics over the whole train split");
  // A stopped run computes them after saving its state, in slices: the very same numbers.
  const later = await finalStatistics(done.model, FIXTURE);
  assert.equal(later.train, done.train);
  assert.equal(later.val, done.val);
  assert.deepEqual([...later.bn.var], [...done.model.bn.var]);
});

Deno.test("a diverging run stops with one line that says what to try", async () => {
  await assert.rejects(
    () => runToEnd({ ...SMALL, lr: 1000, steps: 20 }),
    /the loss is (?:NaN|Infinity) at step \d+: the run diverged \(the largest weight is \w+\[\d+\] = .*\); try a smaller --lr$/,
  );
});

Deno.test("a loss that is not finite before any update blames the initial weights, not --lr", async () => {
  // What --hidden 1000000 does (each logit sums a million terms), with logits made huge here.
  const { weights, random } = initialState(SMALL, FIXTURE);
  for (let i = 0; i < weights.W2.length; i++) weights.W2[i] *= 1e4;
  const start = { step: 0, weights, rngState: random.getState() };
  await assert.rejects(
    () => runToEnd(SMALL, FIXTURE, { start }),
    /: the loss is (?:Infinity|NaN) at step 1, before any update: the initial weights already give a target a probability that rounds to 0 in float32 .*; use a smaller --hidden$/,
  );
});

Deno.test("the same seed gives the same run; another seed another", async () => {
  const config = { ...SMALL, steps: 10 };
  const a = await runToEnd(config), b = await runToEnd(config);
  const c = await runToEnd({ ...config, seed: 8 });
  assert.deepEqual(a.losses, b.losses);
  assert.notDeepEqual(a.losses, c.losses);
});

Deno.test("periodic evaluations come every --eval-every steps, on a training subset", async () => {
  const { events } = await runToEnd({ ...SMALL, steps: 60, evalEvery: 20, evalExamples: 100 });
  const evals = events.filter((e) => e.type === "eval");
  assert.deepEqual(evals.map((e) => e.step), [20, 40]);
  assert.ok(evals.every((e) => e.type === "eval" && e.trainExamples === 100));
});

Deno.test("--rng torch starts where the lecture starts: first minibatch and initial loss", async () => {
  const golden = JSON.parse(await Deno.readTextFile(GOLDEN));
  const data = prepareData(await loadNames(NAMES), 3, "names.txt");
  assert.equal(data.train.n, 182_625);
  const config: TrainConfig = { ...DEFAULT_CONFIG, rng: "torch", hidden: golden.n_hidden };
  const { weights, random } = initialState(config, data);
  assert.ok(Math.abs(weights.C[0] - golden.C_first_row[0]) < 1e-6);
  const model = buildEx4(new Graph(), weights, sizesOf(config, data), config.batch);
  const xb = model.Xb.value, yb = model.Yb.value;
  drawBatch(random, data.train, xb.data as Int32Array, yb.data as Int32Array);
  assert.deepEqual([...yb.data], golden.batch_ix.map((r: number) => data.train.Y[r]));
  model.graph.run({ Xb: xb, Yb: yb });
  const loss = model.loss.value.item();
  assert.ok(Math.abs(loss - golden.initial_loss) < 1e-4, `${loss} vs ${golden.initial_loss}`);
});

/** Runs the train CLI; its exit code and stderr lines. */
async function cli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  return { code: out.code, lines: stderr.split("\n").filter((l) => l !== "") };
}

Deno.test("bad flags are one-line usage errors with exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--steps", "abc"], /--steps must be a number/],
    [["--batch", "0"], /--batch must be at least 2/],
    [["--batch", "1"], /n − 1/],
    [["--lr", "-1"], /--lr/], // node:util's parseArgs refuses a value that starts with "-"
    [["--lr=-1"], /--lr must be a positive number/],
    [["--lr", "0"], /--lr must be a positive number/],
    [["--backward", "magic"], /--backward must be one of manual, auto/],
    [["--stesp", "5"], /stesp/],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(args)));
  results.forEach(({ code, lines }, i) => {
    const [args, want] = cases[i];
    assert.equal(code, 2, `${args.join(" ")}: exit ${code}, ${lines.join(" / ")}`);
    assert.equal(lines.length, 1, `${args.join(" ")} printed ${lines.length} lines`);
    assert.match(lines[0], want);
  });
});

Deno.test("the train CLI's --json ends with the results, the samples and the rule counts", async () => {
  const data = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(data, (await loadNames(NAMES)).slice(0, 200).join("\n"));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      CLI,
      "--data",
      data,
      "--steps",
      "50",
      "--hidden",
      "16",
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(data);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const last = JSON.parse(lines.at(-1)!);
  assert.equal(last.step, 50);
  assert.equal(last.samples.length, 20);
  assert.deepEqual(last.ruleCounts, { auto: 0, override: 13 * 50 });
  assert.ok(last.train > 0 && last.val > 0 && last.msPerStep > 0);
});
