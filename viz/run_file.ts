/**
 * run.json: a training run's trace as plain JSON, written beside its charts (`deno task train
 * --charts DIR`, `writeTrainingCharts`), so that runs can be compared later (`deno task chart
 * compare DIR_A DIR_B`). Format "ninjagrad-run", version 1:
 *
 * ```json
 * { "format": "ninjagrad-run", "version": 1, "name": "lr 0.1", "title": "...",
 *   "facts": [{ "label": "run", "value": "..." }],
 *   "trace": { "every": 100, "firstStep": 1, "steps": 20000, "totalSteps": 20000,
 *     "loss": [3.31, ...],                         // every step's minibatch loss
 *     "evals": [{ "step": 20000, "train": 2.19, "val": 2.2 }],
 *     "lrChanges": [{ "step": 1, "lr": 0.1 }, { "step": 10001, "lr": 0.01 }],
 *     "samples": [{ "step": 1, "name": "W1", "lr": 0.1, "gradStd": 0.01, "dataStd": 0.2,
 *                   "updateStd": 0.001, "updateRatio": -2.3 }, ...],   // null for NaN
 *     "shapes": { "W1": [30, 200] }, "distributions": [...], "lastParams": [...],
 *     "histograms": { "step": 20000, "activations": [...], "gradients": [...] } } }
 * ```
 *
 * The fields of `trace` are `TrainingTrace`'s (viz/trace.ts) without the graph snapshot; a number
 * that is not finite is written as null.
 */
import { join } from "node:path";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { writeChartFile } from "./files.ts";
import type { ReportFact } from "./report.ts";
import type { TrainingTrace } from "./trace.ts";

/** The format's name and version, as run.json states them. */
export const RUN_FORMAT = { format: "ninjagrad-run", version: 1 } as const;

/** A run as run.json holds it. */
export interface RunFile {
  /** Always "ninjagrad-run". */
  format: "ninjagrad-run";
  /** The format's version: 1. */
  version: 1;
  /** The run's name in comparisons (default: its folder's name). */
  name: string;
  /** The report's heading. */
  title: string;
  /** The report's header: data, run, learning rate, final losses, time. */
  facts: ReportFact[];
  /** The run's trace (no graph snapshot). */
  trace: TrainingTrace;
}

/** run.json's text for a trace. */
export function runJson(
  trace: TrainingTrace,
  meta: { name: string; title?: string; facts?: readonly ReportFact[] },
): string {
  const { snapshot: _, ...rest } = trace;
  const file = {
    ...RUN_FORMAT,
    name: meta.name,
    title: meta.title ?? meta.name,
    facts: meta.facts ?? [],
    trace: { ...rest, loss: Array.from(trace.loss, shortestFloat32) },
  };
  // JSON writes NaN and ±Infinity as null already; the reader turns them back into NaN.
  return JSON.stringify(file) + "\n";
}

/** The fewest digits that read back as the same float32 (at most 9): 3.3, not 3.2999999523. */
function shortestFloat32(x: number): number {
  for (let p = 5; p < 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return Number.isFinite(x) ? Number(x.toPrecision(9)) : x;
}

/** Writes `dir/run.json`; returns its path. */
export async function writeRunFile(
  dir: string,
  trace: TrainingTrace,
  meta: { name: string; title?: string; facts?: readonly ReportFact[] },
): Promise<string> {
  const path = join(dir, "run.json");
  await writeChartFile(path, runJson(trace, meta));
  return path;
}

/**
 * Reads a run: `path` is a run.json or the chart folder holding one. Throws a one-line error
 * naming the file and what is wrong (missing, not JSON, another format, a field missing).
 */
export async function readRunFile(path: string): Promise<RunFile> {
  let file = path, text: string;
  try {
    if ((await Deno.stat(path)).isDirectory) file = join(path, "run.json");
    text = await Deno.readTextFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Error
      ? e.message.split("\n")[0]
      : String(e);
    throw new NinjagradError(
      `cannot read the run ${file}: ${why}; give a folder written by deno task train --charts ` +
        "DIR (it holds run.json)",
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new NinjagradError(
      `${file} is not JSON (${e instanceof Error ? e.message : e}): write it again with ` +
        "deno task train --charts DIR",
    );
  }
  const run = data as Partial<RunFile> | null;
  if (run?.format !== RUN_FORMAT.format || run.version !== RUN_FORMAT.version) {
    throw new NinjagradError(
      `${file} is not a ninjagrad run (version ${RUN_FORMAT.version}): it says format ` +
        `${JSON.stringify(run?.format)}, version ${JSON.stringify(run?.version)}`,
    );
  }
  const t = run.trace as unknown as Record<string, unknown> | undefined;
  for (
    const [field, ok] of [
      ["loss", Array.isArray(t?.loss)],
      ["steps", typeof t?.steps === "number"],
      ["firstStep", typeof t?.firstStep === "number"],
      ["every", typeof t?.every === "number"],
      ["evals", Array.isArray(t?.evals)],
      ["lrChanges", Array.isArray(t?.lrChanges)],
      ["samples", Array.isArray(t?.samples)],
      ["shapes", typeof t?.shapes === "object" && t?.shapes !== null],
    ] as const
  ) {
    if (!ok) throw new NinjagradError(`${file}: trace.${field} is missing or of the wrong type`);
  }
  const trace = t as unknown as TrainingTrace & { loss: (number | null)[] };
  return {
    ...(run as RunFile),
    name: typeof run.name === "string" ? run.name : file,
    facts: Array.isArray(run.facts) ? run.facts : [],
    trace: {
      ...trace,
      loss: Float32Array.from(trace.loss, (x) => x ?? NaN),
      samples: trace.samples.map((s) => ({
        ...s,
        gradStd: s.gradStd ?? NaN,
        dataStd: s.dataStd ?? NaN,
        updateStd: s.updateStd ?? NaN,
      })),
      lastParams: trace.lastParams ?? [],
      histograms: trace.histograms ?? undefined,
      snapshot: undefined,
    },
  };
}
