/**
 * `deno task train --charts DIR`: a trace collector subscribed to the training Observable, and,
 * after the run, every training chart that applies (loss, update:data ratio, gradient per layer,
 * grad:data ratio, histograms, and the gradient-flow graph of the last step's backward pass with
 * its hand-written nodes marked) written to DIR as NAME.vl.json, NAME.svg, NAME.png and report.html.
 */
import type { Observable, Subscription } from "../../graph/deps.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { TraceCollector } from "../../viz/trace.ts";
import { writeTrainingCharts } from "../../viz/chart_sets.ts";
import type { WrittenCharts } from "../../viz/export.ts";
import type { TrainEvent } from "../train/events.ts";

/** About this many samples of the per-parameter statistics over a run, whatever its length. */
const SAMPLES_PER_RUN = 200;

/** Creates the chart folder now, so that a bad path fails before training rather than after. */
export async function prepareChartDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new NinjagradError(
      `cannot write charts to ${dir}: ${e instanceof Error ? e.message.split("\n")[0] : e}`,
    );
  }
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

/** Writes the trace's charts and report.html into `dir`. */
export function writeRunCharts(dir: string, collector: TraceCollector): Promise<WrittenCharts> {
  return writeTrainingCharts(dir, collector.trace(), { title: "ninjagrad: deno task train" });
}

/** Where the charts went, in one line. */
export function chartsLine(dir: string, written: WrittenCharts): string {
  const names = written.files.map((f) => f.name).join(", ");
  return `${written.files.length} charts (${names}) written to ${dir} as .vl.json, .svg and ` +
    `.png; open ${written.report}`;
}
