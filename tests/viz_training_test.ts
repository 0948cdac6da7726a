/**
 * The training charts and the trace they are drawn from: the loss in loss units on a log axis,
 * the update:data ratio with the weight matrices apart and rounding noise named, the
 * per-parameter dots, the histograms. Each test reads the data a chart drew, not only its shape.
 */
import assert from "node:assert/strict";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { Tensor } from "../ops/kernels/tensor.ts";
import { fit, Graph, mseLoss, nn, optim, seededRandom } from "../mod.ts";
import type { TrainEvent } from "../exercises/train/events.ts";
import { demoTraining, lectureDemoGraph } from "./fixtures/viz_demo.ts";
import { markItems, visibleTickLabels } from "./fixtures/viz_scene.ts";
import { lossCaption, updateRatioCaption } from "../viz/captions.ts";
import { quantilesOf } from "../viz/stats.ts";
import {
  histogram,
  histogramsSpec,
  LOSS_DATA,
  lossBucket,
  lossSpec,
  lossTicks,
  lossWindow,
  overlaySpec,
  paramStatsOf,
  paramStatsSpec,
  snapshotGraph,
  toSVG,
  TraceCollector,
  traceInto,
  trainingCharts,
  type TrainingTrace,
  updateRatioSpec,
  type VegaLiteSpec,
} from "../viz/mod.ts";

/** Runs the demo training through a collector and, beside it, records what the events said. */
function traced(steps: number, every: number) {
  const collector = new TraceCollector({ every });
  const seen: { step: number; loss: number; ratios: Record<string, number> }[] = [];
  demoTraining({ steps }).pipe(traceInto(collector)).subscribe((e: TrainEvent) => {
    if (e.type !== "step") return;
    const ratios: Record<string, number> = {};
    if (e.step % every === 0) {
      for (const [name, p] of Object.entries(e.model.params)) {
        const g = e.model.grads.get(p)!;
        ratios[name] = Math.log10(e.lr * sd(g.data) / sd(p.value.data));
      }
    }
    seen.push({ step: e.step, loss: e.loss, ratios });
  });
  return { trace: collector.trace(), seen };
}
function sd(d: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < d.length; i++) m += d[i];
  m /= d.length;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += (d[i] - m) ** 2;
  return Math.sqrt(s / d.length);
}

/** The inline rows of the dataset named `name` anywhere in a spec. */
function dataset(spec: VegaLiteSpec, name: string): Record<string, unknown>[] {
  let found: Record<string, unknown>[] | undefined;
  const walk = (x: unknown) => {
    if (!x || typeof x !== "object") return;
    const d = (x as { data?: { name?: string; values?: Record<string, unknown>[] } }).data;
    if (d?.name === name) found = d.values;
    for (const v of Object.values(x)) walk(v);
  };
  walk(spec);
  assert.ok(found, `no dataset ${name}`);
  return found;
}

Deno.test("trace: the loss of every step, statistics every K steps, histograms at the end", () => {
  const { trace, seen } = traced(230, 50);
  assert.equal(trace.steps, 230);
  assert.deepEqual(Array.from(trace.loss), seen.map((s) => Math.fround(s.loss)));
  const sampledSteps = [...new Set(trace.samples.map((s) => s.step))];
  assert.deepEqual(sampledSteps, [0, 50, 100, 150, 200, 229]); // every 50, and the last step
  // Under plain SGD the measured change is lr · grad: the ratio is lr · std(grad) / std(data),
  // to the rounding of float32 parameters' differences.
  for (const s of trace.samples.filter((x) => x.step === 100)) {
    const want = seen[100].ratios[s.name];
    if (s.name === "b1") {
      // b1's true gradient is 0 (batchnorm); its rounding-noise step is below float32's
      // resolution, so the parameter does not change at all: nothing to draw.
      assert.equal(s.updateRatio, null);
      continue;
    }
    assert.ok(Math.abs(s.updateRatio! - want) < 2e-3, `${s.name}: ${s.updateRatio} vs ${want}`);
  }
  // The last step's update is never applied in the demo (no done event): not measured.
  assert.ok(trace.samples.filter((x) => x.step === 229).every((s) => s.updateRatio === null));
  // Quantiles of each activation and its gradient every 100 steps and at the last.
  const dist = trace.distributions!.filter((d) => d.name === "h" && d.of === "activation");
  assert.deepEqual(dist.map((d) => d.step), [0, 100, 200, 229]);
  assert.ok(dist.every((d) => d.q.length === 9 && d.q[0] >= -1 && d.q[8] <= 1));
  assert.ok(dist.every((d) => d.saturation! >= 0 && d.saturation! <= 1));
  assert.equal(trace.totalSteps, 230);
  assert.equal(trace.histograms?.step, 229);
  assert.deepEqual(trace.histograms!.activations.map((h) => h.name), ["hpreact", "h", "logits"]);
  assert.equal(trace.evals.length, 10);
  assert.deepEqual(trace.lrChanges, [{ step: 0, lr: 0.1 }]);
  assert.ok(trace.snapshot?.hasGradients);
  assert.throws(() => new TraceCollector({ every: 0 }), NinjagradError);
});

/** A trace of `steps` steps of constant loss pieces, for the loss chart. */
function lossTrace(loss: Float32Array, lrChanges = [{ step: 0, lr: 0.1 }]): TrainingTrace {
  return {
    every: 100,
    firstStep: 0,
    steps: loss.length,
    loss,
    evals: [{ step: loss.length - 1, train: 2.07, val: 2.11 }],
    lrChanges,
    samples: [],
    shapes: {},
    lastParams: [],
    histograms: undefined,
    snapshot: undefined,
  };
}

Deno.test("loss: every step from the first, faint, and smoothed from the first step; the final losses labelled, the lr drop marked", async () => {
  assert.equal(lossWindow(200_000), 1000);
  assert.equal(lossWindow(20_000), 100);
  assert.equal(lossWindow(30), 1);
  // A hockey stick: 3.3 at the first step, then noise around 10 and 100 with an lr drop.
  const loss = new Float32Array(100_000).map((_, i) =>
    i === 0 ? 3.3 : (i < 50_000 ? 10 : 100) * (i % 2 ? 1.2 : 1 / 1.2)
  );
  const spec = lossSpec(lossTrace(loss, [{ step: 0, lr: 0.1 }, { step: 50_000, lr: 0.01 }]));
  const raw = dataset(spec, LOSS_DATA.raw);
  const line = dataset(spec, LOSS_DATA.line);
  // The first step's loss starts both lines, as it was.
  assert.deepEqual([raw[0].step, raw[0].loss], [0, Math.fround(3.3)]);
  assert.deepEqual([line[0].step, line[0].loss], [0, Math.fround(3.3)]);
  // The raw line keeps each 100-step bucket's lowest and highest: the noise's envelope.
  assert.equal(lossBucket(100_000), 100);
  const mid = raw.filter((r) => (r.step as number) > 20_000 && (r.step as number) < 30_000);
  assert.ok(mid.some((r) => Math.abs((r.loss as number) - 12) < 1e-4));
  assert.ok(mid.some((r) => Math.abs((r.loss as number) - 10 / 1.2) < 1e-4));
  assert.ok(raw.length <= 2002, `${raw.length} raw rows`);
  // Smoothed: an EMA of log loss, the geometric mean of the noise (10, 100) once settled.
  const at = (s: number) => line.find((r) => r.step === s)!.loss as number;
  assert.ok(Math.abs(at(49_999) - 10) < 0.05, `smoothed ${at(49_999)}`);
  assert.ok(Math.abs(at(99_999) - 100) < 0.5, `smoothed ${at(99_999)}`);
  const svg = await toSVG(spec);
  assert.match(svg, /train 2\.0700/);
  assert.match(svg, /val 2\.1100/);
  assert.match(svg, /lr 0\.1 → 0\.01/);
  assert.match(JSON.stringify(spec), /"type":"log"/);
});

Deno.test("loss axis: a run falling to 0.021 has a tick in every decade; a narrow one round ticks", async () => {
  const loss = new Float32Array(5_000).map((_, i) => 3.3 * Math.exp(-i / 400) + 0.021);
  const trace = { ...lossTrace(loss), evals: [] };
  const spec = lossSpec(trace);
  const ticks = (JSON.stringify(spec).match(/"values":\[([0-9.,e-]+)\]/) ?? [])[1]
    .split(",").map(Number);
  const lo = Math.min(...loss), hi = Math.max(...loss);
  for (let k = Math.floor(Math.log10(lo)); k <= Math.floor(Math.log10(hi)); k++) {
    const from = Math.max(lo, 10 ** k), to = Math.min(hi, 10 ** (k + 1));
    assert.ok(ticks.some((t) => t >= from && t <= to), `no tick in [${from}, ${to}]: ${ticks}`);
  }
  assert.deepEqual(lossTicks(0.021, 3.3), [0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3]);
  assert.deepEqual(lossTicks(2.0, 2.6), [2, 2.2, 2.4, 2.6]);
  // The ticks are drawn, and no train/val entry is in the legend of a run without evaluations.
  const labels = visibleTickLabels(await toSVG(spec)).flat();
  for (const t of ["0.03", "0.1", "1", "3"]) assert.ok(labels.includes(t), `${t} in ${labels}`);
  const svg = await toSVG(spec);
  assert.doesNotMatch(svg, /train split|val split/);
  assert.match(svg, /minibatch loss, every step/);
});

Deno.test("update:data: weight matrices apart from vectors, rounding noise named not drawn, lines labelled", async () => {
  const { trace } = traced(120, 20);
  const spec = updateRatioSpec(trace);
  // b1's gradient is rounding noise (batchnorm removes it): named in the subtitle, not drawn.
  assert.match(JSON.stringify(spec.title), /not drawn: b1 \(64,\)/);
  const matrices = dataset(spec, "ratio_matrices");
  const vectors = dataset(spec, "ratio_vectors");
  assert.deepEqual([...new Set(matrices.map((r) => r.param))], ["C", "W1", "W2"]);
  assert.deepEqual([...new Set(vectors.map((r) => r.param))], ["b2", "bngain", "bnbias"]);
  // Each row is lr · std(grad) / std(data) itself, on a log axis.
  const sample = trace.samples.find((s) => s.name === "W1" && s.step === 40)!;
  const w1 = matrices.find((r) => r.param === "W1" && r.step === 40)!;
  assert.ok(Math.abs((w1.ratio as number) - 10 ** sample.updateRatio!) < 1e-12);
  // One colour per parameter across both panels: no colour names two parameters.
  const colours = new Map<string, string>();
  JSON.stringify(spec, (_, v) => {
    if (v?.field === "param" && v.scale?.domain) {
      v.scale.domain.forEach((p: string, i: number) => colours.set(p, v.scale.range[i]));
    }
    return v;
  });
  assert.deepEqual([...colours.keys()].sort(), ["C", "W1", "W2", "b2", "bnbias", "bngain"]);
  assert.equal(new Set(colours.values()).size, 6, `colours ${[...colours.values()]}`);
  const labels = dataset(spec, "ratio_matrices_labels");
  assert.deepEqual(labels.map((l) => l.param).sort(), ["C", "W1", "W2"]);
  const svg = await toSVG(spec);
  assert.match(svg, />W1</);
});

Deno.test("per-parameter dots: mean |grad|, grad:data and update:data read off the data", async () => {
  const { graph, loss, params } = lectureDemoGraph();
  graph.param("unused", Tensor.from([1, 2, 3]));
  const grads = graph.backward(loss);
  const stats = paramStatsOf(snapshotGraph(graph, grads));
  const spec = paramStatsSpec(stats, { lr: 0.1 });
  const std = (d: ArrayLike<number>) => sd(d);
  const w1 = { grad: grads.get(params.W1)!.data, data: params.W1.value.data };
  const dots = [0, 1, 2].map(async (k) => await markItems(spec, `dots_${k}`));
  const [mean, gd, ud] = await Promise.all(dots);
  const at = (items: typeof mean, name: string) =>
    items.find((i) => String(i.datum!.param).startsWith(`${name} `))!.datum!.value as number;
  const meanAbs = Array.from(w1.grad).reduce((s, x) => s + Math.abs(x), 0) / w1.grad.length;
  assert.ok(Math.abs(at(mean, "W1") - meanAbs) < 1e-9 * meanAbs);
  const ratio = std(w1.grad) / std(w1.data);
  assert.ok(Math.abs(at(gd, "W1") - ratio) < 1e-9 * ratio);
  assert.ok(Math.abs(at(ud, "W1") - 0.1 * ratio) < 1e-9 * ratio);
  // b1: rounding noise, hollow at the floor; unused: no gradient, written, no dot.
  const b1 = mean.find((i) => String(i.datum!.param).startsWith("b1 "))!;
  assert.equal(b1.datum!.hollow, true);
  assert.equal(b1.fill, "white");
  assert.ok(!mean.some((i) => String(i.datum!.param).startsWith("unused")));
  assert.match(await toSVG(spec), /no gradient/);
});

Deno.test("histograms: a repeated layer drawn once, gradients titled d<name>, 0 on every x axis", async () => {
  const { graph, loss } = lectureDemoGraph();
  const grads = graph.backward(loss);
  const layers = ["emb", "embcat", "hpreact", "h"].map((l) => graph.node(l));
  const acts = layers.map((n) =>
    histogram(n.name, "activation", n.shape, n.value.data, { tanh: n.name === "h" })
  );
  const gs = layers.map((n) => histogram(n.name, "gradient", n.shape, grads.get(n)!.data));
  const a = histogramsSpec(acts, "activations");
  assert.match(JSON.stringify(a.title), /same values, one panel: embcat = emb/);
  const svgA = await toSVG(a);
  assert.match(svgA, /emb \(32, 3, 10\) = embcat \(32, 30\)/);
  const g = histogramsSpec(gs, "gradients");
  const svgG = await toSVG(g);
  assert.match(svgG, /demb \(32, 3, 10\) = dembcat \(32, 30\): mean/);
  assert.match(svgG, />dhpreact</);
  // Three panels each way, each x axis with a 0 tick that shows.
  const ticks = visibleTickLabels(svgA).filter((_, k) => k % 2 === 0); // x, y, x, y, ...
  assert.equal(ticks.length, 3);
  for (const axis of ticks) assert.ok(axis.includes("0") || axis.includes("0.0"), `ticks ${axis}`);
  // A shared x axis on request: one domain, so every panel's first tick is the same.
  const shared = visibleTickLabels(await toSVG(histogramsSpec(acts, "a", { sharedX: true })));
  assert.deepEqual(shared[0], shared[2]);
  // Every bin's share of the elements adds up to 1 per panel.
  const bins = await markItems(a, "hist_panel_0");
  const total = bins.reduce((s, b) => s + (b.datum!.share as number), 0);
  assert.ok(Math.abs(total - 1) < 1e-9, `shares add to ${total}`);
});

Deno.test("an unsampled step costs the collector O(1): it never reads the live model", () => {
  // Counted, not timed (the overhead in time is tests/bench/collector_bench.ts's).
  const c = new TraceCollector({ every: 1_000_000, histogramsEvery: 1_000_000 });
  const live = { graph: lectureDemoGraph().graph, params: {}, grads: undefined!, activations: {} };
  c.next({ type: "step", step: 0, totalSteps: 1e6, loss: 1, lr: 0.1, model: live });
  // The step after a sampled one measures the update (from the parameters the sample kept).
  c.next({ type: "step", step: 1, totalSteps: 1e6, loss: 1, lr: 0.1, model: live });
  let reads = 0;
  const watched = new Proxy(live, {
    get: (target, key) => (reads++, target[key as keyof typeof target]),
  });
  for (let i = 2; i <= 10_000; i++) {
    c.next({ type: "step", step: i, totalSteps: 1e6, loss: 1, lr: 0.1, model: watched });
  }
  assert.equal(reads, 0, "an unsampled step read the model");
  c.next({ type: "step", step: 1e6 - 1, totalSteps: 1e6, loss: 1, lr: 0.1, model: watched });
  assert.ok(reads > 0, "the last step is sampled, and reads it");
});

for (const which of ["AdamW", "SGD with momentum 0.9"] as const) {
  Deno.test(`update:data under ${which} is the measured change of the parameters, not lr · grad`, async () => {
    const g = new Graph({ dtype: "float64" });
    const random = seededRandom(7);
    const x = g.input(
      "x",
      Tensor.from(
        Array.from({ length: 16 }, () => Array.from({ length: 4 }, () => random() * 2 - 1)),
        "float64",
      ),
    );
    const y = g.input("y", Tensor.from(Array.from({ length: 16 }, () => [random()]), "float64"));
    const model = new nn.Sequential([
      new nn.Linear(4, 8, { random }),
      new nn.Tanh(),
      new nn.Linear(8, 1, { random }),
    ]);
    const loss = mseLoss(model.forward(x), y).named("loss");
    const optimizer = which === "AdamW"
      ? new optim.AdamW(model.parameters(), { lr: 0.01, weightDecay: 0.1 })
      : new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const evaluate = () => ({ train: loss.value.item(), val: loss.value.item() });
    const collector = new TraceCollector({ every: 5 });
    // Beside the collector: every step's parameters, as the step found them (before its update).
    const seen = new Map<number, Map<string, Float64Array>>();
    const sgd = new Map<number, Map<string, number>>();
    let final: Map<string, Float64Array> | undefined;
    await new Promise<void>((resolve, reject) =>
      fit({ loss, optimizer, steps: 21, evaluate }).subscribe({
        next: (e) => {
          collector.next(e);
          if (e.type !== "step") return;
          const ps = Object.entries(e.model.params);
          seen.set(e.step, new Map(ps.map(([n, p]) => [n, Float64Array.from(p.value.data)])));
          sgd.set(
            e.step,
            new Map(ps.map(([n, p]) => [
              n,
              e.lr * sd(e.model.grads.get(p)!.data) /
              sd(p.value.data),
            ])),
          );
        },
        error: reject,
        complete: () => {
          final = new Map(model.parameters().map((p) => [p.name, Float64Array.from(p.value.data)]));
          resolve();
        },
      })
    );
    const trace = collector.trace();
    const sampled = [...new Set(trace.samples.map((s) => s.step))];
    assert.deepEqual(sampled, [1, 6, 11, 16, 21]);
    let differs = 0;
    for (const s of trace.samples) {
      const before = seen.get(s.step)!.get(s.name)!;
      // The step's update: what the next step found, or (the last) what the run ended with.
      const after = s.step === 21 ? final!.get(s.name)! : seen.get(s.step + 1)!.get(s.name)!;
      const measured = sd(after.map((v, k) => v - before[k])) / sd(before);
      if (sd(before) === 0) { // a bias that starts at zero: no ratio to a zero spread
        assert.equal(s.updateRatio, null);
        continue;
      }
      assert.ok(s.updateRatio !== null, `${s.name} at ${s.step}: not measured`);
      assert.ok(
        Math.abs(10 ** s.updateRatio - measured) < 1e-9 * measured,
        `${s.name} at ${s.step}: ${10 ** s.updateRatio} vs measured ${measured}`,
      );
      // AdamW's step is not lr · grad: the old formula would have drawn something else.
      if (Math.abs(Math.log10(sgd.get(s.step)!.get(s.name)! / measured)) > 0.3) differs++;
    }
    assert.ok(differs > trace.samples.length / 2, `only ${differs} samples differ from lr · grad`);
    // The chart draws the measured ratio.
    const rows = [
      ...dataset(updateRatioSpec(trace, { noise: [] }), "ratio_matrices"),
      ...dataset(updateRatioSpec(trace, { noise: [] }), "ratio_vectors"),
    ];
    const w = trace.samples.find((s) => s.step === 11 && s.name === trace.samples[0].name)!;
    const row = rows.find((r) => r.step === 11 && r.param === w.name)!;
    assert.equal(row.ratio, 10 ** w.updateRatio!);
  });
}

Deno.test("histograms over time beside the last step's, the lecture's overlay, a log count axis", async () => {
  const { trace } = traced(400, 20);
  const h = trace.histograms!;
  const spec = histogramsSpec(h.activations, "activations", { over: trace.distributions });
  // Each layer's row: its histogram, and beside it its quantiles at every 40th step.
  const rows = dataset(spec, "dist_1"); // h, the second layer (after hpreact)
  assert.deepEqual(rows.map((r) => r.step), [...Array(10).keys()].map((i) => 40 * i).concat(399));
  const hq = trace.distributions!.filter((d) => d.name === "h" && d.of === "activation");
  assert.deepEqual(rows.map((r) => r.q4), hq.map((d) => d.q[4]));
  assert.match(await toSVG(spec), /h over the run: median, 16–84% band/);
  // The overlay: every layer on one axis, the legend naming each with its saturation.
  const overlay = overlaySpec(h.activations, "every layer");
  const svg = await toSVG(overlay);
  const sat = (100 * h.activations.find((a) => a.name === "h")!.saturation!).toFixed(1);
  assert.match(
    svg,
    new RegExp(`h \\(32, 64\\): mean [^<]*, ${sat.replace(".", "\\.")}% saturated`),
  );
  const legend = dataset(overlay, "overlay").map((r) => r.layer);
  assert.equal(new Set(legend).size, 3);
  // A log count axis: a tail of 2 elements of 1,000 shows beside a spike of 998 at 0.
  const spike = new Float64Array(1000);
  spike[0] = -1 / 32;
  spike[1] = -1 / 32;
  const g = histogram("logits", "gradient", [1000], spike);
  const logSpec = histogramsSpec([g], "dlogits", { logCount: true });
  const bars = await markItems(logSpec, "hist_panel_0");
  assert.deepEqual(bars.map((b) => b.datum!.count), [2, 998]);
  const tail = bars.find((b) => b.datum!.count === 2)!;
  const peak = bars.find((b) => b.datum!.count === 998)!;
  // On a linear share axis the tail would be 2/998 of the spike's height; here about a tenth.
  assert.ok(tail.height! / peak.height! > 0.08, `tail ${tail.height} vs spike ${peak.height}`);
});

Deno.test("captions follow the run's numbers: a gap of 0.007 is not called overfitting", () => {
  const loss = new Float32Array(1000).map((_, i) => 3.3 - i / 1000);
  const base = lossTrace(loss);
  const small = lossCaption({ ...base, evals: [{ step: 999, train: 2.07, val: 2.077 }] });
  assert.match(small, /a gap of 0\.0070 \(0\.3%\), too small to call overfitting/);
  assert.match(small, /from 3\.300 at the first step/);
  const big = lossCaption({ ...base, evals: [{ step: 999, train: 1.5, val: 2.1 }] });
  assert.match(big, /val is 40\.0% higher: .*overfitting/);
  const { trace } = traced(120, 20);
  const ratio = updateRatioCaption(trace, ["b1"]);
  assert.match(ratio, /At the last measured step/);
  assert.doesNotMatch(ratio, /b1/);
  const params = trainingCharts(trace).find((c) => c.name === "gradient_per_parameter")!;
  const stats = trace.lastParams.filter((p) => p.name !== "b1");
  const least = stats.reduce((a, b) => (b.grad!.meanAbs < a.grad!.meanAbs ? b : a));
  assert.match(params.caption!, new RegExp(`Least gradient reaches ${least.name} `));
  assert.match(params.caption!, /b1: rounding noise of a true zero/);
});

Deno.test("quantilesOf: min and max exact, the others within 1/512 of the range of the exact ones", () => {
  const random = seededRandom(3);
  const data = new Float32Array(5000).map(() => (random() - 0.5) * 4 * random());
  const sorted = Float64Array.from(data).sort();
  const exact = (p: number) => {
    const at = (p / 100) * (sorted.length - 1), lo = Math.floor(at);
    return sorted[lo] + (at - lo) * (sorted[Math.min(sorted.length - 1, lo + 1)] - sorted[lo]);
  };
  const ps = [0, 7, 16, 31, 50, 69, 84, 93, 100];
  const q = quantilesOf(data, ps);
  const range = sorted[sorted.length - 1] - sorted[0];
  assert.equal(q[0], sorted[0]);
  assert.equal(q[8], sorted[sorted.length - 1]);
  for (const [i, p] of ps.entries()) {
    assert.ok(Math.abs(q[i] - exact(p)) <= range / 512, `p${p}: ${q[i]} vs ${exact(p)}`);
  }
  assert.deepEqual(quantilesOf(new Float32Array([2, 2, 2]), [0, 50, 100]), [2, 2, 2]);
  assert.ok(quantilesOf(new Float32Array(0), [50]).every(Number.isNaN));
});
