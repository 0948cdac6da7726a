/**
 * fit: a training loop for any graph, as an Observable of the events `deno task train` emits.
 * It trains (the loss falls), emits step, eval and done events in order, runs one forward pass
 * per step, stops on unsubscribe or abort, names the step where a run broke, and its events are
 * what the charts' trace collector and the lecture's progress log read.
 */
import assert from "node:assert/strict";
import { filter, lastValueFrom, share, toArray } from "rxjs";
import {
  type EvalEvent,
  fit,
  type FitEvent,
  Graph,
  mseLoss,
  NinjagradError,
  nn,
  optim,
  seededRandom,
  type StepEvent,
  Tensor,
} from "../mod.ts";
import { collectTrace, type TraceEval, type TraceStep, trainingCharts } from "../viz/mod.ts";
import type {
  EvalEvent as LectureEvalEvent,
  StepEvent as LectureStepEvent,
} from "../exercises/train/events.ts";
import { RecentRate } from "../ops/fit.ts";
import { plainLog } from "../exercises/train/report.ts";
import { rng, uniform } from "./helpers.ts";

// The events are the lecture's and the trace's, as types: these lines compile only if so.
const _asTrace = (e: StepEvent | EvalEvent): TraceStep | TraceEval => e;
const _asLecture = (e: StepEvent | EvalEvent): LectureStepEvent | LectureEvalEvent => e;
void _asTrace, void _asLecture;

/** y = 3x − 1 with noise, fitted by a Linear(1, 1) on minibatches of 8 drawn from 64 points. */
function regression(steps: number, evalEvery = 0) {
  const rand = rng("regression");
  const xs = uniform(rand, [64, 1]);
  const ys = Tensor.zeros([64, 1], "float64");
  for (let i = 0; i < 64; i++) ys.data[i] = 3 * xs.data[i] - 1 + 0.01 * (rand() - 0.5);
  const g = new Graph({ dtype: "float64" });
  const xb = g.input("xb", Tensor.zeros([8, 1], "float64"));
  const yb = g.input("yb", Tensor.zeros([8, 1], "float64"));
  const model = new nn.Sequential([new nn.Linear(1, 1, { random: seededRandom(1) })]);
  const loss = mseLoss(model.forward(xb), yb).named("loss");
  const optimizer = new optim.SGD(model.parameters(), { lr: (i) => (i < 150 ? 0.3 : 0.03) });
  const rows = seededRandom(2);
  const batch = () => {
    for (let i = 0; i < 8; i++) {
      const r = Math.floor(rows() * 64);
      xb.value.data[i] = xs.data[r];
      yb.value.data[i] = ys.data[r];
    }
    g.changed(xb);
    g.changed(yb);
  };
  // The whole set, through the same graph: its inputs take another batch size.
  const evaluate = () => {
    const [x0, y0] = [xb.value, yb.value];
    g.run({ xb: xs, yb: ys });
    const train = loss.value.item();
    g.run({ xb: x0, yb: y0 });
    return { train, val: train };
  };
  return { g, loss, model, fit$: fit({ loss, optimizer, steps, batch, evaluate, evalEvery }) };
}

Deno.test("fit trains: step events 1..N, evals every k steps, a done event with the rule counts", async () => {
  const { fit$, model } = regression(200, 50);
  const events = await lastValueFrom(fit$.pipe(toArray()));
  const steps = events.filter((e): e is StepEvent => e.type === "step");
  assert.deepEqual(steps.map((e) => e.step), [...Array(200).keys()].map((i) => i + 1));
  assert.ok(steps.every((e) => e.totalSteps === 200));
  assert.deepEqual([steps[0].lr, steps[149].lr, steps[150].lr], [0.3, 0.3, 0.03]);
  assert.deepEqual(events.filter((e) => e.type === "eval").map((e) => e.step), [50, 100, 150]);
  const done = events.at(-1)!;
  assert.equal(done.type, "done");
  if (done.type !== "done") return;
  assert.equal(done.step, 200);
  assert.ok(done.train < 1e-3 && steps[0].loss > 1, `loss ${steps[0].loss} → ${done.train}`);
  assert.ok(done.ruleCounts.auto > 0);
  const [W, b] = model.parameters();
  assert.ok(Math.abs(W.value.item() - 3) < 0.02 && Math.abs(b.value.item() + 1) < 0.02);
});

Deno.test("one forward pass per step: the update and the next minibatch land in one propagation", async () => {
  const { g, loss, fit$ } = regression(20);
  let forwards = 0;
  const sub = g.events$.subscribe((e) => {
    if (e.type === "forward" && e.node === loss) forwards++;
  });
  await lastValueFrom(fit$);
  sub.unsubscribe();
  // 20 steps, and the last update applied at the end (then the final evaluation's two runs).
  assert.equal(forwards, 20 + 1 + 2);
});

Deno.test("the charts' trace collector and the lecture's progress log read fit's events", async () => {
  // One run, two subscribers, as `deno task train` shares its run between reporters.
  const run$ = regression(100, 25).fit$.pipe(share());
  const lines: string[] = [];
  // The lecture's log takes fit's events as they are.
  plainLog(run$, (l) => lines.push(l));
  const trace = await collectTrace(run$, { every: 10 });
  assert.equal(trace.steps, 100);
  assert.deepEqual(trace.evals.map((e) => e.step), [25, 50, 75, 100]);
  assert.deepEqual(Object.keys(trace.shapes), ["0.weight", "0.bias"]);
  const names = trainingCharts(trace).map((c) => c.name);
  assert.deepEqual(names, [
    "gradient_flow_graph",
    "loss",
    "update_ratio",
    "gradient_per_parameter",
  ]);
  assert.ok(lines.some((l) => /^step 5\/100 {2}loss \d/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /^step 25: train \d/.test(l)), lines.join("\n"));
});

Deno.test("unsubscribing stops a run; an aborted run ends with a done event that says so", async () => {
  const { fit$: long } = regression(1_000_000);
  let seen = 0;
  await new Promise<void>((resolve) => {
    const sub = long.subscribe((e) => {
      if (e.type === "step" && ++seen === 30) {
        sub.unsubscribe();
        resolve();
      }
    });
  });
  assert.equal(seen, 30);
  const stop = new AbortController();
  const g = new Graph({ dtype: "float64" });
  const p = g.param("p", Tensor.from([1], "float64"));
  const loss = mseLoss(p, 0);
  const events: FitEvent[] = [];
  const run$ = fit({
    loss,
    optimizer: new optim.SGD([p]),
    steps: 1_000_000,
    evaluate: () => ({ train: loss.value.item(), val: NaN }),
    signal: stop.signal,
  });
  await lastValueFrom(run$.pipe(filter((e) => {
    events.push(e);
    if (e.type === "step" && e.step === 10) stop.abort();
    return true;
  })));
  const done = events.at(-1)!;
  assert.equal(done.type, "done");
  assert.ok(done.type === "done" && done.interrupted && done.step >= 10 && done.step < 1000);
});

Deno.test("a run that diverges, and a bad loss, are one-line errors naming the step", async () => {
  const g = new Graph({ dtype: "float64" });
  const p = g.param("p", Tensor.from([1], "float64"));
  const loss = mseLoss(p, 0);
  const diverging = fit({ loss, optimizer: new optim.SGD([p], { lr: 1e10 }), steps: 100 });
  await assert.rejects(
    lastValueFrom(diverging),
    (e) =>
      e instanceof NinjagradError &&
      /the loss is Infinity at step \d+: the run diverged/.test(e.message),
  );
  assert.throws(
    () => fit({ loss: p, optimizer: new optim.SGD([p]), steps: 0 }),
    (e) => e instanceof NinjagradError && /steps must be a whole number ≥ 1/.test(e.message),
  );
  const q = g.param("q", Tensor.from([1, 2], "float64"));
  assert.throws(
    () => fit({ loss: q, optimizer: new optim.SGD([q]), steps: 5 }),
    (e) => e instanceof NinjagradError && /reduce it to one with mean or sum/.test(e.message),
  );
});

Deno.test("the progress rate weighs steps, not chunks: one slow first step does not make the ETA an hour", () => {
  const rate = new RecentRate();
  assert.equal(rate.msPerStep, 0);
  // A chart's first sample: one step of 100 ms in a chunk of its own; then chunks of 500 steps of
  // 0.1 ms. A mean per chunk would still say ~49 ms/step after two fast chunks.
  rate.add(100, 1);
  assert.equal(rate.msPerStep, 100);
  rate.add(50, 500);
  rate.add(50, 500);
  assert.ok(rate.msPerStep < 0.2, `${rate.msPerStep} ms/step after two fast chunks`);
  for (let i = 0; i < 20; i++) rate.add(50, 500);
  assert.ok(Math.abs(rate.msPerStep - 0.1) < 1e-3, `${rate.msPerStep} ms/step once steady`);
  // It follows a change of pace: twice as slow from here on.
  for (let i = 0; i < 20; i++) rate.add(50, 250);
  assert.ok(Math.abs(rate.msPerStep - 0.2) < 1e-3, `${rate.msPerStep} ms/step after slowing`);
});
