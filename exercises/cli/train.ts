/**
 * `deno task train`: the lecture's exercise 4. Trains the n_hidden-200 MLP with SGD, by default
 * with the hand-written backward on every node (and proves no automatic rule ran), re-estimates
 * the BatchNorm statistics over the training set, prints the split losses and 20 sampled names,
 * and can save a checkpoint for `deno task sample` and for `--resume`, every `--checkpoint-every`
 * too. Ctrl-C, SIGTERM and SIGHUP stop after the step in progress, save (with `--save`) and exit
 * 130, 143 and 129 (exercises/train/session.ts, exercises/train/interrupt.ts).
 */
import type { Observable, Subscription } from "../../graph/deps.ts";
import type { TrainEvent } from "../train/events.ts";
import { UsageError } from "../../ops/kernels/errors.ts";
import { parseFlags, runMain, userPath } from "./main.ts";
import { countParams } from "../model/ex4.ts";
import type * as TrainCharts from "./train_charts.ts";
import { checkpointEveryFlag, configFromFlags, FLAGS, USAGE } from "./train_flags.ts";

import { loadTrainData, type TrainData } from "../train/data.ts";
import { StopSignals } from "../train/interrupt.ts";
import { checkRunSize } from "../train/limits.ts";
import {
  jsonLog,
  plainLog,
  progressBar,
  resultLines,
  startJson,
  startLine,
  stoppedLine,
} from "../train/report.ts";
import { resume } from "../train/resume.ts";
import { sizesOf, type TrainStart } from "../train/run.ts";
import { sampleNames, samplingRandom } from "../train/sample.ts";
import { checkpointBytes, SaveTarget } from "../train/save.ts";
import { trainAndSave } from "../train/session.ts";

async function main(): Promise<void> {
  const { values, positionals } = parseFlags("train", Deno.args, FLAGS);
  if (values.help) return console.log(USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`train: unexpected argument "${positionals[0]}" (flags start with --)`);
  }
  const str = (name: string) => values[name] as string | undefined;
  const path = (name: string) => str(name) === undefined ? undefined : userPath(str(name)!);
  const flags = configFromFlags(values);
  const resumeFrom = path("resume"), source = path("data");
  // `deno task train` sets NINJAGRAD_TASK_CHARTS=charts (a flag would make the user's own
  // --charts a duplicate); --charts overrides it, --no-charts drops the charts.
  const taskCharts = Deno.env.get("NINJAGRAD_TASK_CHARTS") || undefined;
  const chartDir = values["no-charts"] === true
    ? undefined
    : path("charts") ?? (taskCharts === undefined ? undefined : userPath(taskCharts));
  const typedSave = str("save") ?? str("resume");
  const save = path("save") ?? resumeFrom;
  const checkpointEvery = checkpointEveryFlag(str("checkpoint-every"), save !== undefined);
  const json = values.json === true, quiet = values.quiet === true;
  // After SIGHUP the terminal is gone: nothing is written to it (pipes and files still are), and
  // the checkpoint says it all.
  let hungUp = false;
  const say = (line: string) => {
    try {
      if (!(hungUp && Deno.stdout.isTerminal())) console.log(line);
    } catch { /* a closed pipe or terminal */ }
  };
  const notice = (line: string) => {
    try {
      if (!(hungUp && Deno.stderr.isTerminal())) console.error(line);
    } catch { /* a closed pipe or terminal */ }
  };

  let config = flags, data: TrainData, start: TrainStart | undefined;
  if (resumeFrom === undefined) {
    // Checked before the examples' tables are built, then again with the data (below).
    const { embd, block, hidden } = config;
    data = await loadTrainData(
      source,
      config.block,
      (vocab, examples) =>
        checkRunSize(config, { vocab, embd, block, hidden }, undefined, examples),
    );
  } else ({ config, data, start } = await resume(resumeFrom, values, flags, source));
  const sizes = sizesOf(config, data);
  const examples = data.train.n + data.val.n + data.test.n;
  checkRunSize(config, sizes, undefined, examples); // before anything is built or written
  const bytes = checkpointBytes(
    countParams(sizes),
    sizes.hidden,
    config.dtype === "float32" ? 4 : 8,
  );
  const target = save === undefined ? undefined : SaveTarget.open(save, typedSave!, bytes, notice);
  // The charts pull in vega and the rasteriser, three quarters of the command's start-up: loaded
  // only when asked for.
  const viz: typeof TrainCharts | undefined =
    chartDir === undefined && values.live !== true && values.port === undefined
      ? undefined
      : await import("./train_charts.ts");
  if (chartDir !== undefined) await viz!.prepareChartDir(chartDir);
  if (json) say(startJson(config, data, start, resumeFrom));
  else if (!quiet) say(startLine(config, data, start, resumeFrom));
  const live = await viz?.liveFromFlags(values, config, data, json ? notice : say);

  let trace: ReturnType<typeof TrainCharts.traceRun> | undefined;
  let subs: Subscription[] = [];
  const hangUp = (signal: string) => {
    if (signal !== "SIGHUP") return;
    hungUp = true;
    for (const s of subs) {
      try {
        s.unsubscribe(); // the progress bar stops drawing
      } catch { /* it could not clear its line */ }
    }
  };
  const signals: StopSignals = new StopSignals(notice, () => {
    // A second signal: the training state is on the disk; what is left is skipped.
    target?.close();
    notice(stoppedLine(target?.lastStep, config.steps, save, target?.lastEstimatedOn));
    Deno.exit(signals.exitCode);
  }, hangUp);
  const observe = (run$: Observable<TrainEvent>) => {
    subs = [];
    if (json) subs.push(jsonLog(run$, say));
    else if (!quiet && Deno.stdout.isTerminal() && Deno.stderr.isTerminal()) {
      subs.push(progressBar(run$));
    } else if (!quiet) subs.push(plainLog(run$, say));
    if (viz !== undefined && chartDir !== undefined) {
      subs.push((trace = viz.traceRun(run$, config.steps)).subscription);
    }
    live?.follow(run$);
    return subs;
  };
  const { done, reporters } = await trainAndSave({
    config,
    data,
    start,
    target,
    checkpointEvery,
    signals,
    say: notice,
    observe,
  });
  target?.close();
  try {
    if (done.interrupted) {
      for (const r of reporters) r.unsubscribe();
      await live?.close();
      // The charts of the steps done are worth keeping too (a second signal skips them).
      if (viz && trace && chartDir !== undefined) {
        const written = await viz.writeRunCharts(
          chartDir,
          trace.collector,
          viz.runFacts(config, data, done),
        );
        notice(viz.chartsLine(chartDir, written));
      }
      notice(stoppedLine(done.step, config.steps, save));
      Deno.exit(signals.exitCode);
    }
    const samples = sampleNames(done.model, 20, samplingRandom(config.seed));
    const charts = viz && trace && chartDir !== undefined
      ? await viz.writeRunCharts(chartDir, trace.collector, viz.runFacts(config, data, done))
      : undefined;
    if (json) {
      const { step, train, val, msPerStep, ruleCounts } = done;
      const chartFiles = charts && { report: charts.report, files: charts.files.length };
      say(JSON.stringify({
        type: "done",
        ...{ step, train, val, msPerStep, samples, ruleCounts, backward: config.backward },
        ...(save !== undefined ? { saved: save } : {}),
        ...(chartFiles ? { charts: chartFiles } : {}),
      }));
    } else {
      for (const line of resultLines(done, data, config, samples)) say(line);
      if (save !== undefined) say(`checkpoint saved to ${save}`);
      if (viz && charts && chartDir !== undefined) say(viz.chartsLine(chartDir, charts));
    }
    // The live page keeps the final state until Ctrl-C, which is then the view's, not the run's.
    signals.dispose();
    if (viz && live) await viz.holdLive(live, json ? notice : say);
  } finally {
    signals.dispose();
  }
}

if (import.meta.main) await runMain(main);
