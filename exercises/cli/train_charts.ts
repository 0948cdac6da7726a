/**
 * `deno task train --charts DIR`: a trace collector subscribed to the training Observable, and,
 * after the run, every training chart that applies (the gradient-flow graph of the last step's
 * backward pass, loss, update:data ratio, gradient per parameter, histograms) written to DIR as
 * NAME.vl.json, NAME.svg, NAME.png and report.html, whose header sums the run up.
 * `deno task train --live [--port N]`: the same charts on a page served on 127.0.0.1 while the
 * run goes on (viz/live.ts).
 */
import type { Observable, Subscription } from "../../graph/deps.ts";
import { UsageError } from "../../ops/kernels/errors.ts";
import { numberFlag } from "./main.ts";
import { TraceCollector } from "../../viz/trace.ts";
import { writeTrainingCharts } from "../../viz/chart_sets.ts";
import { makeChartFolder, type WrittenCharts } from "../../viz/export.ts";
import { type LiveView, openLive } from "../../viz/live.ts";
import type { ReportFact } from "../../viz/report.ts";
import type { TrainEvent } from "../train/events.ts";
import { decayStep, type TrainConfig } from "../train/config.ts";
import type { TrainData } from "../train/data.ts";

/** About this many samples of the per-parameter statistics over a run, whatever its length. */
const SAMPLES_PER_RUN = 200;

/** Creates the chart folder now, so that a bad path fails before training rather than after. */
export function prepareChartDir(dir: string): Promise<void> {
  return makeChartFolder(dir, "give --charts DIR for another folder, or --no-charts");
}

/** A trace of the run: subscribe it beside the reporters; its collector holds what it saw. */
export function traceRun(
  run$: Observable<TrainEvent>,
  steps: number,
): { collector: TraceCollector; subscription: Subscription } {
  const collector = new TraceCollector({ every: Math.max(1, Math.round(steps / SAMPLES_PER_RUN)) });
  // The collector reads the live model, so it must run inside the step event, synchronously.
  return { collector, subscription: run$.subscribe((e) => collector.next(e)) };
}

/** Writes the trace's charts and report.html (its header: `facts`) into `dir`. */
export function writeRunCharts(
  dir: string,
  collector: TraceCollector,
  facts: ReportFact[] = [],
): Promise<WrittenCharts> {
  return writeTrainingCharts(dir, collector.trace(), {
    title: "ninjagrad: deno task train",
    facts,
  });
}

/** Where the charts went, in one line. */
export function chartsLine(dir: string, written: WrittenCharts): string {
  const names = written.files.map((f) => f.name).join(", ");
  return `${written.files.length} charts (${names}) written to ${dir} as .vl.json, .svg and ` +
    `.png, the run's data as run.json (for deno task chart compare); open ${written.report}`;
}

/** `--live`: the live view, its address printed; `follow` the run once it is made. */
export async function startLive(
  config: TrainConfig,
  facts: ReportFact[],
  port: number,
  say: (line: string) => void,
): Promise<LiveView> {
  const view = await openLive({
    port,
    title: "ninjagrad: deno task train --live",
    facts,
    every: Math.max(1, Math.round(config.steps / SAMPLES_PER_RUN)),
  });
  say(`live view: ${view.url} (Ctrl-C stops the run and the view)`);
  return view;
}

/**
 * After a run the live view keeps showing its final state until Ctrl-C, then closes (a
 * command-line user opens the page when they like; nothing is lost by waiting).
 */
export async function holdLive(view: LiveView, say: (line: string) => void): Promise<void> {
  await view.finished;
  say(`the run is over; ${view.url} shows its final state. Ctrl-C to quit`);
  const { promise, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  try {
    await promise;
  } finally {
    Deno.removeSignalListener("SIGINT", resolve);
  }
  await view.close();
}

/** The header of the run's report and live page: data, steps, learning rates, results, time. */
export function runFacts(
  config: TrainConfig,
  data: TrainData,
  done?: { step: number; train: number; val: number; msPerStep: number },
): ReportFact[] {
  const names = data.fingerprint?.names;
  const facts: ReportFact[] = [
    {
      label: "data",
      value:
        `${data.source}${names === undefined ? "" : ` (${names.toLocaleString("en")} names)`}` +
        `, ${data.train.n.toLocaleString("en")} training examples`,
    },
    {
      label: "run",
      value: `${config.steps.toLocaleString("en")} steps, batch ${config.batch}, hidden ` +
        `${config.hidden}, ${config.dtype}, backward ${config.backward}, rng ${config.rng}, ` +
        `seed ${config.seed}`,
    },
    {
      label: "learning rate",
      value: `${config.lr} for steps 0–${decayStep(config) - 1}, then ${config.lr / 10}`,
    },
  ];
  if (done) {
    facts.push(
      {
        label: "final losses",
        value: `train ${done.train.toFixed(4)}, val ${done.val.toFixed(4)} after ` +
          `${done.step.toLocaleString("en")} steps (BatchNorm statistics re-estimated)`,
      },
      {
        label: "time",
        value: `${done.msPerStep.toFixed(3)} ms per step, ` +
          `${((done.msPerStep * done.step) / 1000).toFixed(1)} s of training steps`,
      },
    );
  }
  return facts;
}

/**
 * `--live [--port N]` from the parsed flags: the live view, open before the run starts
 * (undefined without `--live`; `--port` alone is a usage error).
 */
export async function liveFromFlags(
  values: Record<string, string | boolean | undefined>,
  config: TrainConfig,
  data: TrainData,
  say: (line: string) => void,
): Promise<LiveView | undefined> {
  const port = values.port === undefined
    ? 0
    : numberFlag("port", values.port as string, 0, { min: 0, max: 65535, integer: true });
  if (values.live !== true) {
    if (values.port !== undefined) throw new UsageError("--port goes with --live");
    return undefined;
  }
  return await startLive(config, runFacts(config, data), port, say);
}
