/**
 * The page's Worker: it loads the learner's file and runs `ninja check`'s own judging on it
 * (`checkOn`), telling the page which rule runs (so that the page, which ends a Worker stuck in
 * a rule, can name that rule), then sends the verdict, its table's text and the verdict graph.
 * @module
 */
import { checkOn, type CheckSession, completeRules, prepareCheck } from "../../ninja/check.ts";
import { type ExerciseNumber, EXERCISES } from "../../ninja/exercises.ts";
import { formatCheck, reportData } from "../../ninja/report.ts";
import { LearnerFileError } from "../../ninja/source.ts";
import { NinjagradError } from "../../../ops/kernels/errors.ts";
import { ruleIn } from "../../model/lines.ts";
import { snapshotGraph } from "../../../viz/snapshot.ts";
import { gradientFlowGraphSpec } from "../../../viz/charts/graph_flow.ts";
import { verdictsFromCheck } from "../check_verdicts.ts";
import { loadLearner } from "./learner.ts";
import { checkBeforeTraining, doneOf, trainWithLearnerRules } from "../../ninja/train.ts";
import { DEFAULT_CONFIG, type TrainConfig } from "../../train/config.ts";
import { prepareData, type TrainData } from "../../train/data.ts";
import { LECTURE_NAMES_SOURCE, lectureNames } from "../../data.ts";
import { sampleNames, samplingRandom } from "../../train/sample.ts";
import { share } from "../../../graph/deps.ts";
import { TraceCollector } from "../../../viz/trace.ts";
import { lossSpec } from "../../../viz/charts/loss.ts";
import { noiseParams, updateRatioSpec } from "../../../viz/charts/training.ts";
import { histogramsSpec } from "../../../viz/charts/histograms.ts";
import { ex4Workload } from "../../bench/workloads.ts";
import type { Reply, Request } from "./protocol.ts";
import type { VegaLiteSpec } from "../../../viz/spec.ts";

const post = (reply: Reply) => (globalThis as unknown as Worker).postMessage(reply);
const sessions = new Map<ExerciseNumber, Promise<CheckSession>>();

/** The learner's rules, each telling the page when it starts and when it returns. */
function marked(n: ExerciseNumber, rules: unknown): object {
  const spec = EXERCISES[n];
  const table = completeRules(spec, rules);
  const out: Record<string, Record<string, unknown>> = {};
  for (const [line, { inputs }] of Object.entries(spec.lines)) {
    out[line] = {};
    for (const input of inputs) {
      const rule = ruleIn(table, line, input)!;
      const name = `${line}.${input}`;
      out[line][input] = function (this: unknown, ctx: unknown) {
        post({ t: "rule", rule: name });
        try {
          return rule.call(this, ctx as never);
        } finally {
          post({ t: "rule", rule: null });
        }
      };
    }
  }
  return out;
}

/** Checks the file as `ninja check` does; the report, which the page has been sent. */
async function check(n: ExerciseNumber, source: string): Promise<boolean> {
  const file = loadLearner(source, n);
  if (file.exercise !== n) {
    throw new LearnerFileError(
      `the file says exercise = ${file.exercise}, but this is exercise ${n}'s page: ` +
        `set it back to ${n}`,
      "rules",
    );
  }
  if (!sessions.has(n)) sessions.set(n, prepareCheck(n));
  const session = await sessions.get(n)!;
  const report = checkOn(session, marked(n, file.rules), { file: file.url });
  const { graph, loss } = session.net;
  const grads = session.correct ?? graph.backward(loss, { overrides: false, notify: false });
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, grads), {
    title: `exercise ${n}: gradient flow`,
    verdicts: verdictsFromCheck(report),
  });
  post({ t: "report", text: formatCheck(report), data: reportData(report), graph: spec });
  return report.counts.ok === report.nodes.length;
}

/** How often the page gets the charts of a run (drawn anew each time: once a second is live enough, and costs the run little). */
const CHART_EVERY_MS = 1000;

/** The training charts of the trace so far: loss, update:data, activations' histograms. */
function chartsOf(collector: TraceCollector): { name: string; spec: VegaLiteSpec }[] {
  const trace = collector.trace();
  const charts = [{ name: "loss", spec: lossSpec(trace) }];
  if (trace.samples.length) {
    charts.push({
      name: "update_ratio",
      spec: updateRatioSpec(trace, { noise: noiseParams(trace) }),
    });
  }
  const h = trace.histograms;
  if (h) {
    charts.push({
      name: "activations",
      spec: histogramsSpec(h.activations, `activations at step ${h.step}`),
    });
  }
  return charts;
}

let data: TrainData | undefined;

/**
 * Exercise 4's rules, each storing its number (from 1) in `state[0]` while it runs and counting
 * its calls in `state[1]`, memory the page reads: training calls thousands of rules a second, too
 * many for a message each (`ninja train`'s sandbox watches its rules the same way).
 */
function watched(rules: unknown, state: Int32Array): { rules: object; names: string[] } {
  const spec = EXERCISES[4];
  const table = completeRules(spec, rules);
  const names: string[] = [];
  const out: Record<string, Record<string, unknown>> = {};
  for (const [line, { inputs }] of Object.entries(spec.lines)) {
    out[line] = {};
    for (const input of inputs) {
      const rule = ruleIn(table, line, input)!;
      const index = names.push(`${line}.${input}`);
      out[line][input] = function (this: unknown, ctx: unknown) {
        Atomics.store(state, 0, index);
        Atomics.add(state, 1, 1);
        try {
          return rule.call(this, ctx as never);
        } finally {
          Atomics.store(state, 0, 0);
        }
      };
    }
  }
  return { rules: out, names };
}

/**
 * `ninja train` in the page: the check first (the page's, with each rule named as it runs, then
 * the run's own on its first minibatches), then the lecture's net trained with the learner's
 * rules on every node, the charts sent as it goes, and names sampled at the end.
 */
async function trainOn(
  source: string,
  steps: number,
  shared: SharedArrayBuffer | undefined,
): Promise<void> {
  if (!(await check(4, source))) return;
  const learners = loadLearner(source, 4).rules;
  let rules = learners;
  if (shared) {
    const w = watched(learners, new Int32Array(shared));
    post({ t: "watch", names: w.names });
    rules = w.rules;
  }
  const config: TrainConfig = { ...DEFAULT_CONFIG, steps, evalEvery: Math.max(1, steps / 4) };
  data ??= prepareData(lectureNames(), config.block, LECTURE_NAMES_SOURCE);
  const first = checkBeforeTraining(rules, config, data, "file:///exercise4.ts");
  if (first.firstWrong || first.nextToWrite) {
    throw new LearnerFileError(formatCheck(first), "rules");
  }
  const collector = new TraceCollector({ every: 10, histogramsEvery: Math.max(1, steps / 8) });
  const run$ = trainWithLearnerRules(rules, config, data, { file: "file:///exercise4.ts" })
    .pipe(share());
  let sent = -Infinity; // the first step's charts at once, then once a second
  const seen = run$.subscribe((e) => {
    if (e.type === "done") return;
    collector.next(e);
    if (e.type !== "step" || performance.now() - sent < CHART_EVERY_MS) return;
    post({
      t: "progress",
      step: e.step,
      totalSteps: e.totalSteps,
      loss: e.loss,
      charts: chartsOf(collector),
    });
    sent = performance.now();
  });
  const done = await doneOf(run$);
  seen.unsubscribe();
  post({
    t: "trained",
    step: done.step,
    train: done.train,
    val: done.val,
    msPerStep: done.msPerStep,
    samples: sampleNames(done.model, 20, samplingRandom(config.seed)),
    charts: chartsOf(collector),
  });
}

/**
 * `deno task bench`'s exercise-4 training step (exercises/bench/workloads.ts), timed in the page
 * by the wall clock (a page has no CPU clock), to compare with the command line's.
 */
function bench(steps: number, repeats: number, warmup: number): void {
  data ??= prepareData(lectureNames(), 3, LECTURE_NAMES_SOURCE);
  const work = ex4Workload(data);
  for (let i = 0; i < warmup; i++) work.step();
  const wall: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) work.step();
    wall.push((performance.now() - t0) / steps);
  }
  post({ t: "bench", wallMsPerStep: wall });
}

globalThis.addEventListener("message", async (e: Event) => {
  const request = (e as MessageEvent<Request>).data;
  try {
    if (request.t === "check") await check(request.exercise as ExerciseNumber, request.source);
    else if (request.t === "train") await trainOn(request.source, request.steps, request.shared);
    else bench(request.steps, request.repeats, request.warmup);
  } catch (err) {
    const known = err instanceof LearnerFileError ? err : new LearnerFileError(
      err instanceof NinjagradError || err instanceof Error ? err.message : String(err),
      "rules",
    );
    post({
      t: "fail",
      kind: known.failure,
      message: known.message,
      diagnostics: [...known.diagnostics],
    });
  }
});
