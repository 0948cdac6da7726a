/**
 * Runs compared: two or more training runs' traces on the same axes, each run a colour and named
 * in the legend: their losses (smoothed, over each run's faint every-step line, evaluations as
 * points), their update:data ratios (a panel per parameter, a line per run) and their final
 * statistics (the last evaluation on each split and the smoothed minibatch loss at the end).
 */
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { type Chart, CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import type { TrainingTrace } from "../trace.ts";
import { lossBucket, lossRows, lossTicks, lossWindow } from "./loss.ts";
import { LINE_COLOURS, noiseParams, ratioRows } from "./training.ts";

/** A run to compare: its name in the legend and its trace. */
export interface NamedRun {
  /** The run's name, as the legend writes it (names must differ). */
  name: string;
  /** The run's trace (a `TrainingTrace`, or a run.json's `trace`). */
  trace: TrainingTrace;
}

function colour(runs: readonly NamedRun[]) {
  const names = runs.map((r) => r.name);
  return {
    field: "run",
    type: "nominal" as const,
    title: null,
    scale: { domain: names, range: names.map((_, i) => LINE_COLOURS[i % LINE_COLOURS.length]) },
    // Full-strength swatches, although the first layer drawn is the faint one.
    legend: { orient: "top" as const, labelLimit: 500, symbolOpacity: 1, symbolStrokeWidth: 3 },
  };
}

/** The runs' losses on one log axis: smoothed lines over faint every-step lines. */
export function compareLossSpec(
  runs: readonly NamedRun[],
  title = "Loss, runs compared",
): VegaLiteSpec {
  const raw: object[] = [], smooth: object[] = [], evals: object[] = [];
  for (const { name, trace } of runs) {
    const b = lossBucket(trace.steps), tau = lossWindow(trace.steps);
    const rows = lossRows(trace.loss, trace.steps, trace.firstStep, b, tau, 0, true);
    raw.push(...rows.raw.map((r) => ({ ...r, run: name })));
    smooth.push(...rows.smooth.map((r) => ({ ...r, run: name })));
    for (const e of trace.evals) {
      evals.push({ run: name, step: e.step, split: "train", loss: e.train });
      evals.push({ run: name, step: e.step, split: "val", loss: e.val });
    }
  }
  const values = [...raw, ...smooth, ...evals].map((r) => (r as { loss: number }).loss)
    .filter((x) => x > 0);
  const ticks = values.length ? lossTicks(Math.min(...values), Math.max(...values)) : [];
  const x = { field: "step", type: "quantitative" as const, title: "step" };
  const y = {
    field: "loss",
    type: "quantitative" as const,
    title: "loss (log scale)",
    scale: { type: "log" as const, nice: false, padding: 14 },
    axis: { values: ticks, format: ".3~g" },
  };
  const c = colour(runs);
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: "faint: each run's minibatch loss, every step; dark: smoothed; " +
        (evals.length ? "circles: train split, squares: val split" : "no evaluations recorded"),
    },
    config: CONFIG,
    width: 680,
    height: 320,
    layer: [
      {
        data: { values: raw },
        mark: { type: "line", strokeWidth: 0.7, opacity: 0.25 },
        encoding: { x, y, color: c, detail: { field: "run" } },
      },
      {
        data: { values: smooth },
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: c,
          tooltip: [{ field: "run" }, { field: "step" }, { field: "loss", format: ".4f" }],
        },
      },
      ...(evals.length
        ? [{
          data: { values: evals },
          mark: { type: "point", filled: true, size: 60, opacity: 1 },
          encoding: {
            x,
            y,
            color: c,
            shape: {
              field: "split",
              type: "nominal" as const,
              scale: { domain: ["train", "val"], range: ["circle", "square"] },
              legend: { orient: "top" as const, title: null },
            },
            tooltip: [{ field: "run" }, { field: "split" }, { field: "step" }, {
              field: "loss",
              format: ".4f",
            }],
          },
        }]
        : []),
    ],
  } as VegaLiteSpec;
}

/** The runs' update:data ratios: a panel per parameter, a line per run, the 1e-3 band shaded. */
export function compareRatioSpec(
  runs: readonly NamedRun[],
  title = "update:data, runs compared",
): VegaLiteSpec {
  // A parameter whose update is rounding noise in every run (b1 under batchnorm) is named, not
  // drawn: its 1e-10 would stretch the shared axis over seven empty decades.
  const noise = runs.map((r) => new Set(noiseParams(r.trace)));
  const params: string[] = [], skipped: string[] = [];
  for (const { trace } of runs) {
    for (const n of Object.keys(trace.shapes)) {
      if (params.includes(n) || skipped.includes(n)) continue;
      (noise.every((s) => s.has(n)) ? skipped : params).push(n);
    }
  }
  const rows = runs.flatMap(({ name, trace }) =>
    ratioRows(trace.samples).filter((r) => params.includes(r.param)).map((r) => ({
      ...r,
      run: name,
    }))
  );
  // A parameter no run measured a change of (it never changed) gets no empty panel.
  for (const p of [...params]) {
    if (!rows.some((r) => r.param === p)) {
      params.splice(params.indexOf(p), 1);
      skipped.push(p);
    }
  }
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: [
        "std(Δparam) / std(param) of each sampled update, a panel per parameter; " +
        "shaded: half a decade either side of 1e-3",
        ...(skipped.length
          ? [`not drawn: ${skipped.join(", ")} — rounding noise or no change in every run`]
          : []),
      ],
    },
    config: CONFIG,
    data: { values: rows },
    facet: { field: "param", type: "nominal", title: null, sort: params },
    columns: Math.min(3, Math.max(1, params.length)),
    spec: {
      width: 260,
      height: 150,
      layer: [
        {
          // One band per panel: a row per panel, not one per data row (their opacity adds up).
          transform: [
            { window: [{ op: "row_number", as: "k" }], groupby: ["param"] },
            { filter: "datum.k === 1" },
          ],
          mark: { type: "rect", color: "#009E73", opacity: 0.12 },
          encoding: { y: { datum: 10 ** -3.5 }, y2: { datum: 10 ** -2.5 } },
        },
        {
          mark: { type: "line", strokeWidth: 1.3, clip: true },
          encoding: {
            x: { field: "step", type: "quantitative", title: "step" },
            y: {
              field: "ratio",
              type: "quantitative",
              title: "update:data",
              scale: { type: "log", domain: { unionWith: [10 ** -3.6, 10 ** -2.4] }, nice: false },
              axis: { format: "~e" },
            },
            color: colour(runs),
            tooltip: [{ field: "run" }, { field: "param" }, { field: "step" }, {
              field: "ratio",
              format: ".2e",
            }],
          },
        },
      ],
    },
  } as VegaLiteSpec;
}

/** One final figure of one run. */
export interface FinalRow {
  /** The run's name. */
  run: string;
  /** What was measured: "train split", "val split" or the smoothed minibatch loss at the end. */
  measure: string;
  /** The loss. */
  value: number;
  /** The loss to 4 decimals. */
  text: string;
  /** The run's steps. */
  steps: number;
}

/** Each run's final figures: the last evaluation on each split, and the smoothed loss at the end. */
export function finalRows(runs: readonly NamedRun[]): FinalRow[] {
  return runs.flatMap(({ name, trace }) => {
    const b = lossBucket(trace.steps), tau = lossWindow(trace.steps);
    const end = lossRows(trace.loss, trace.steps, trace.firstStep, b, tau, 0, true).smooth.at(-1);
    const last = trace.evals.at(-1);
    return [
      ...(end ? [{ run: name, measure: "minibatch, smoothed, at the end", value: end.loss }] : []),
      ...(last
        ? [
          { run: name, measure: "train split", value: last.train },
          { run: name, measure: "val split", value: last.val },
        ]
        : []),
    ].map((r) => ({ ...r, text: r.value.toFixed(4), steps: trace.steps }));
  });
}

/** The runs' final statistics side by side: a row per run, a dot per measure. */
export function compareFinalSpec(
  runs: readonly NamedRun[],
  title = "Final losses, runs compared",
): VegaLiteSpec {
  const rows = finalRows(runs);
  const names = runs.map((r) => r.name);
  const measures = [...new Set(rows.map((r) => r.measure))];
  const y = {
    field: "run",
    type: "nominal" as const,
    title: null,
    sort: names,
    scale: { domain: names },
  };
  const values = rows.map((r) => r.value);
  const lo = Math.min(...values), hi = Math.max(...values);
  const pad = Math.max((hi - lo) * 0.15, 0.01 * hi);
  const x = {
    field: "value",
    type: "quantitative" as const,
    title: "loss",
    scale: { domain: [lo - pad, hi + pad], zero: false, nice: false },
  };
  const colourByMeasure = {
    field: "measure",
    type: "nominal" as const,
    title: null,
    scale: { domain: measures, range: ["#0072B2", "#E69F00", "#D55E00"].slice(0, measures.length) },
    legend: { orient: "top" as const, labelLimit: 400 },
  };
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: runs.map((r) => `${r.name}: ${r.trace.steps.toLocaleString("en")} steps`)
        .join("; ") + `; spread of the val losses: ${fmt(spreadOf(rows, "val split"))}`,
    },
    config: CONFIG,
    width: 560,
    height: Math.max(60, 34 * runs.length),
    data: { values: rows },
    layer: [
      {
        mark: { type: "point", filled: true, size: 90, opacity: 1 },
        encoding: {
          x,
          y,
          color: colourByMeasure,
          tooltip: [{ field: "run" }, { field: "measure" }, { field: "text" }],
        },
      },
      {
        transform: [{ filter: "datum.measure === 'val split'" }],
        mark: { type: "text", align: "left", dx: 8, dy: -8, fontSize: 11 },
        encoding: { x, y, text: { field: "text" } },
      },
    ],
  } as VegaLiteSpec;
}

function spreadOf(rows: { measure: string; value: number }[], measure: string): number | null {
  const xs = rows.filter((r) => r.measure === measure).map((r) => r.value);
  return xs.length > 1 ? Math.max(...xs) - Math.min(...xs) : null;
}

/**
 * The charts of a comparison (loss, update:data, final losses), each with a caption computed
 * from the runs. Throws if fewer than two runs are given or two share a name.
 */
export function compareRunsCharts(runs: readonly NamedRun[]): Chart[] {
  if (runs.length < 2) {
    throw new NinjagradError(`a comparison needs two runs or more, got ${runs.length}`);
  }
  const names = runs.map((r) => r.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new NinjagradError(`two runs are named "${twice}": give each run its own name`);
  }
  const finals = finalRows(runs);
  const vals = finals.filter((r) => r.measure === "val split").sort((a, b) => a.value - b.value);
  const ends = finals.filter((r) => r.measure.startsWith("minibatch"))
    .sort((a, b) => a.value - b.value);
  const best = vals.length >= 2 ? vals : ends;
  const what = vals.length >= 2 ? "val loss" : "smoothed minibatch loss";
  const lossCaption = best.length >= 2
    ? `Lowest final ${what}: ${best[0].run} (${best[0].text}); highest: ${best.at(-1)!.run} ` +
      `(${best.at(-1)!.text}), ${(best.at(-1)!.value - best[0].value).toFixed(4)} apart.`
    : "Each run's loss, on one axis.";
  const inBand = runs.map(({ name, trace }) => {
    const last = new Map<string, number>();
    for (const s of trace.samples) if (s.updateRatio !== null) last.set(s.name, s.updateRatio);
    const ok = [...last.values()].filter((r) => r >= -3.5 && r <= -2.5).length;
    return `${name}: ${ok} of ${last.size}`;
  });
  return [
    { name: "compare_loss", spec: compareLossSpec(runs), caption: lossCaption },
    {
      name: "compare_update_ratio",
      spec: compareRatioSpec(runs),
      caption: "Parameters whose last measured update:data lies in the band around 1e-3 — " +
        `${inBand.join("; ")}.`,
    },
    {
      name: "compare_final",
      spec: compareFinalSpec(runs),
      caption: "Each run's final losses on one axis: the further left, the better; the val " +
        "split is the one that says how well a run generalises.",
    },
  ];
}
