/**
 * Runs compared: run.json written beside a run's charts reads back as the same trace, and
 * `deno task chart compare DIR_A DIR_B` overlays the runs (each named) in its loss, update:data
 * and final-loss charts; bad folders are one-line errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NinjagradError, UsageError } from "../ops/kernels/errors.ts";
import { demoTraining } from "./fixtures/viz_demo.ts";
import {
  compareRunsCharts,
  readRunFile,
  toSVG,
  TraceCollector,
  traceInto,
  type TrainingTrace,
  type VegaLiteSpec,
  writeTrainingCharts,
} from "../viz/mod.ts";
import { main as chartMain } from "../exercises/cli/chart.ts";

function run(steps: number, lr: number): TrainingTrace {
  const collector = new TraceCollector({ every: 10 });
  demoTraining({ steps, lr }).pipe(traceInto(collector)).subscribe();
  return collector.trace();
}

/** The inline rows of a spec's data (top level or any layer's), flattened. */
function rowsOf(spec: VegaLiteSpec): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (x: unknown) => {
    if (!x || typeof x !== "object") return;
    const d = (x as { data?: { values?: Record<string, unknown>[] } }).data;
    if (Array.isArray(d?.values)) out.push(...d.values);
    for (const v of Object.values(x)) walk(v);
  };
  walk(spec);
  return out;
}

Deno.test("run.json beside the charts reads back as the run's trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-run-" });
  try {
    const trace = run(120, 0.1);
    const written = await writeTrainingCharts(dir, trace, {
      title: "a run",
      facts: [{ label: "run", value: "120 steps" }],
    });
    assert.equal(written.run, join(dir, "run.json"));
    const back = await readRunFile(dir);
    assert.equal(back.format, "ninjagrad-run");
    assert.equal(back.version, 1);
    assert.deepEqual(back.facts, [{ label: "run", value: "120 steps" }]);
    assert.deepEqual(Array.from(back.trace.loss), Array.from(trace.loss));
    assert.deepEqual(back.trace.evals, trace.evals);
    assert.deepEqual(back.trace.lrChanges, trace.lrChanges);
    assert.equal(back.trace.samples.length, trace.samples.length);
    for (const [i, s] of trace.samples.entries()) {
      const b = back.trace.samples[i];
      assert.equal(b.updateRatio, s.updateRatio);
      assert.ok(Object.is(b.updateStd, s.updateStd) || b.updateStd === s.updateStd);
    }
    assert.deepEqual(back.trace.distributions, trace.distributions);
    // Bad input: a folder without run.json, a file of another kind.
    await assert.rejects(
      readRunFile(join(dir, "nothing")),
      (e: Error) =>
        e instanceof NinjagradError && /no such file.*deno task train --charts/.test(e.message),
    );
    await Deno.writeTextFile(join(dir, "other.json"), '{"format": "vega"}');
    await assert.rejects(
      readRunFile(join(dir, "other.json")),
      /is not a ninjagrad run \(version 1\): it says format "vega"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task chart compare overlays two runs, each named, in loss, update:data and final losses", async () => {
  const root = await Deno.makeTempDir({ prefix: "ninjagrad-compare-" });
  try {
    const [a, b] = [join(root, "fast"), join(root, "slow")];
    const fast = run(150, 0.1), slow = run(150, 0.01);
    await writeTrainingCharts(a, fast);
    await writeTrainingCharts(b, slow);
    const out = join(root, "cmp");
    const written = await chartMain(["compare", a, b, "--names", "lr 0.1,lr 0.01", "--out", out]);
    assert.deepEqual(written.files.map((f) => f.name), [
      "compare_loss",
      "compare_update_ratio",
      "compare_final",
    ]);
    const spec = (name: string) =>
      JSON.parse(Deno.readTextFileSync(join(out, `${name}.vl.json`))) as VegaLiteSpec;
    // The loss: both runs' every step, from the first, under their names.
    const loss = rowsOf(spec("compare_loss"));
    for (const [name, trace] of [["lr 0.1", fast], ["lr 0.01", slow]] as const) {
      const first = loss.find((r) => r.run === name && r.step === 0)!;
      assert.equal(first.loss, trace.loss[0]);
      assert.ok(loss.filter((r) => r.run === name).length >= 2 * trace.steps - 2);
    }
    // update:data: the runs' measured ratios, a tenth of the learning rate a tenth of the size.
    const ratios = rowsOf(spec("compare_update_ratio")).filter((r) => r.param === "W1");
    const mean = (run: string) => {
      const xs = ratios.filter((r) => r.run === run).map((r) => Math.log10(r.ratio as number));
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    assert.ok(Math.abs(mean("lr 0.1") - mean("lr 0.01") - 1) < 0.3, "ratios a decade apart");
    // The final losses, per run and split.
    const finals = rowsOf(spec("compare_final"));
    assert.equal(
      finals.find((r) => r.run === "lr 0.1" && r.measure === "val split")!.value,
      fast.evals.at(-1)!.val,
    );
    const svg = await toSVG(spec("compare_loss"));
    assert.match(svg, /lr 0\.1/);
    assert.match(svg, /lr 0\.01/);
    assert.ok((await Deno.stat(join(out, "compare_loss.png"))).size > 10_000);
    // Without --names, each run is named by its folder as given.
    const charts = compareRunsCharts([{ name: a, trace: fast }, { name: b, trace: slow }]);
    assert.match(JSON.stringify(charts[0].spec), /fast/);
    assert.match(charts[0].caption!, /Lowest final val loss: .*fast/);
    // Usage errors: one run, names that do not fit, a folder that holds no run.
    await assert.rejects(chartMain(["compare", a]), UsageError);
    await assert.rejects(chartMain(["compare", a, b, "--names", "x"]), UsageError);
    await assert.rejects(chartMain(["compare", a, root]), /cannot read the run .*run\.json/);
    assert.throws(
      () => compareRunsCharts([{ name: "x", trace: fast }, { name: "x", trace: slow }]),
      /two runs are named "x"/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
