/**
 * Charts 5 and 6, over a training run: the update:data ratio per parameter (how big each SGD
 * step is against the parameter it changes, Karpathy's guideline being about 1e-3), and the loss
 * on a log10 scale, smoothed by window means as in the lecture.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import type { TrainingTrace } from "../trace.ts";

/** The guideline of the update:data ratio: updates about 1/1000 of the data, log10 = −3. */
export const UPDATE_RATIO_GUIDE = -3;

/** Chart 5: log10(lr · std(grad) / std(param)) per parameter per sampled step. */
export function updateRatioSpec(trace: TrainingTrace, title = "update:data ratio"): VegaLiteSpec {
  const legend = (name: string) => `${name} ${formatShape(trace.shapes[name] ?? [])}`;
  const names = [...new Set(trace.samples.map((s) => s.name))];
  const rows = trace.samples
    .filter((s) => s.updateRatio !== null)
    .map((s) => ({
      step: s.step,
      param: legend(s.name),
      ratio: s.updateRatio,
      lr: s.lr,
      gradStd: fmt(s.gradStd),
      dataStd: fmt(s.dataStd),
    }));
  const dropped = names.filter((n) => !rows.some((r) => r.param === legend(n)));
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: [
        `log10(lr · std(grad) / std(param)) every ${trace.every} steps; dashed: the 1e-3 guideline`,
        ...(dropped.length ? [`no gradient, not drawn: ${dropped.join(", ")}`] : []),
      ],
    },
    width: 640,
    height: 300,
    config: CONFIG,
    layer: [
      {
        data: { values: rows },
        mark: { type: "line", strokeWidth: 1.3, clip: true },
        encoding: {
          x: { field: "step", type: "quantitative", title: "step" },
          y: {
            field: "ratio",
            type: "quantitative",
            title: "log10 update:data",
            scale: { zero: false },
          },
          color: {
            field: "param",
            type: "nominal",
            title: "parameter (shape)",
            sort: names.map(legend),
          },
          tooltip: [
            { field: "param" },
            { field: "step" },
            { field: "ratio", format: ".2f", title: "log10 ratio" },
            { field: "lr" },
            { field: "gradStd", title: "std(grad)" },
            { field: "dataStd", title: "std(param)" },
          ],
        },
      },
      {
        data: { values: [{ y: UPDATE_RATIO_GUIDE, label: "1e-3 guideline" }] },
        layer: [
          {
            mark: { type: "rule", strokeDash: [6, 4], color: "#333" },
            encoding: { y: { field: "y", type: "quantitative" } },
          },
          {
            mark: { type: "text", align: "left", dy: -7, x: 4, color: "#333" },
            encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
          },
        ],
      },
    ],
  };
}

/**
 * The smoothing window: 1,000 steps as in the lecture once the run has at least 50 windows of
 * it, else a smaller one that still gives about 50 points (1 for very short runs).
 */
export function lossWindow(steps: number): number {
  return Math.max(1, Math.min(1000, Math.floor(steps / 50)));
}

/** Chart 6: log10 loss over training, window means of the minibatch loss, and the evaluations. */
export function lossSpec(trace: TrainingTrace, title = "Loss"): VegaLiteSpec {
  const w = lossWindow(trace.steps);
  const points: { step: number; series: string; log10loss: number; loss: string }[] = [];
  const series = w > 1 ? `minibatch (mean of ${w}-step windows)` : "minibatch";
  // Means of log10 loss, as the lecture does (lossi holds log10 values, then .view(-1, 1000).mean(1)).
  for (let start = 0; start + w <= trace.steps; start += w) {
    let s = 0;
    for (let i = start; i < start + w; i++) s += Math.log10(trace.loss[i]);
    const m = s / w;
    points.push({
      step: trace.firstStep + start + (w - 1) / 2,
      series,
      log10loss: m,
      loss: fmt(10 ** m),
    });
  }
  for (const e of trace.evals) {
    points.push({
      step: e.step,
      series: "train split",
      log10loss: Math.log10(e.train),
      loss: fmt(e.train),
    });
    points.push({
      step: e.step,
      series: "val split",
      log10loss: Math.log10(e.val),
      loss: fmt(e.val),
    });
  }
  const order = [series, "train split", "val split"];
  const x = { field: "step", type: "quantitative" as const, title: "step" };
  const y = {
    field: "log10loss",
    type: "quantitative" as const,
    title: "log10 loss",
    scale: { zero: false },
  };
  const color = {
    field: "series",
    type: "nominal" as const,
    title: null,
    sort: order,
    scale: { domain: order, range: ["#4c78a8", "#f58518", "#e45756"] },
    legend: { orient: "top" as const, labelLimit: 400 },
  };
  const tooltip = [{ field: "series" }, { field: "step" }, { field: "loss" }];
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: `${trace.steps} steps; line: minibatch loss${
        w > 1 ? ` averaged over ${w}-step windows` : ""
      }; points: evaluations on the splits`,
    },
    width: 640,
    height: 300,
    config: CONFIG,
    layer: [
      {
        data: { values: points.filter((p) => p.series === series) },
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: { x, y, color, tooltip },
      },
      {
        data: { values: points.filter((p) => p.series !== series) },
        mark: { type: "point", filled: true, size: 60, opacity: 1 },
        encoding: { x, y, color, tooltip },
      },
    ],
  };
}
