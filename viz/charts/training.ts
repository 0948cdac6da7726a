/**
 * Charts 5 and 6, over a training run, as the lecture draws them and a little clearer:
 * - the update:data ratio, lr · std(grad) / std(param), per parameter on a log axis (Karpathy's
 *   rule of thumb: about 1e-3, shaded), the weight matrices in one panel and the vectors (biases,
 *   batchnorm gain and bias) in another, each line named at its end, the learning-rate drop
 *   marked; a parameter whose update is rounding noise (b1 under batchnorm) is named, not drawn;
 * - the loss on a log axis in loss units: window means of the minibatch loss (geometric, as the
 *   lecture averages log10 loss), the evaluations on the splits, the final ones labelled.
 * Their datasets are named (`RATIO_DATA`, `LOSS_DATA`), so that the live view streams rows into
 * the same specs (Vega changesets) and the end labels, computed by transforms, follow.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import type { ParamSample, TrainingTrace } from "../trace.ts";

/** The guideline of the update:data ratio: updates about 1/1000 of the data, log10 = −3. */
export const UPDATE_RATIO_GUIDE: number = -3;

/** Line colours (Okabe–Ito, leaving out yellow, which vanishes on white). */
const LINE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

/**
 * The named datasets of the update:data chart: its weight matrices' panel, its vectors' panel and
 * its learning-rate changes.
 */
export const RATIO_DATA = {
  matrices: "ratio_matrices",
  vectors: "ratio_vectors",
  lr: "lr_changes",
} as const;
/** The named datasets of the loss chart: its windowed loss line, evaluations and lr changes. */
export const LOSS_DATA = { line: "loss_line", evals: "loss_evals", lr: "loss_lr_changes" } as const;

/** A learning-rate change: from `step` on, `lr` (the first entry is the starting rate). */
export interface LrChange {
  /** The number of the first step that used it (`TraceStep.step`). */
  step: number;
  /** The learning rate from that step on. */
  lr: number;
}

/** One row of the update:data chart. */
export interface RatioRow {
  step: number;
  param: string;
  ratio: number;
  lr: number;
}

/** Whether a parameter of this shape is a weight matrix (two or more dimensions above 1). */
export function isMatrix(shape: readonly number[]): boolean {
  return shape.filter((d) => d > 1).length >= 2;
}

/**
 * The parameters whose update is rounding noise: those the last snapshot says so of, and any whose
 * median ratio lies more than three decades below the median of the others.
 */
export function noiseParams(trace: TrainingTrace): string[] {
  const names = Object.keys(trace.shapes);
  const flagged = new Set(
    trace.snapshot?.nodes.filter((n) => n.kind === "param" && n.roundingNoise).map((n) => n.name),
  );
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  const med = new Map(names.map((n) => [
    n,
    median(
      trace.samples.flatMap((s) => (s.name === n && s.updateRatio !== null ? [s.updateRatio] : [])),
    ),
  ]));
  for (const n of names) {
    const others = median(
      names.filter((o) => o !== n).map((o) => med.get(o)!).filter(Number.isFinite),
    );
    if (med.get(n)! < others - 3) flagged.add(n);
  }
  return names.filter((n) => flagged.has(n));
}

/** The rows of a sample (null ratios left out). */
export function ratioRows(samples: readonly ParamSample[]): RatioRow[] {
  return samples.flatMap((s) =>
    s.updateRatio === null
      ? []
      : [{ step: s.step, param: s.name, ratio: 10 ** s.updateRatio, lr: s.lr }]
  );
}

/**
 * Each line's name at its last point, moved apart where two would overlap: at least 13 px, on a
 * log axis whose range the panel's height and the data (with the 1e-3 band) fix.
 */
export function endLabels(rows: readonly RatioRow[], group: readonly string[], height: number) {
  const last = new Map<string, RatioRow>();
  for (const r of rows) if (group.includes(r.param)) last.set(r.param, r);
  const logs = rows.filter((r) => group.includes(r.param)).map((r) => Math.log10(r.ratio));
  const lo = Math.min(-3.6, ...logs), hi = Math.max(-2.4, ...logs);
  const gap = (13 / height) * (hi - lo);
  const labels = [...last.values()]
    .map((r) => ({ param: r.param, step: r.step, log: Math.log10(r.ratio) }))
    .sort((a, b) => a.log - b.log);
  for (let i = 1; i < labels.length; i++) {
    labels[i].log = Math.max(labels[i].log, labels[i - 1].log + gap);
  }
  return labels.map((l) => ({ param: l.param, step: l.step, at: 10 ** l.log }));
}

/** "lr 0.1 → 0.01" rows, one per change after the start. */
export function lrChangeRows(changes: readonly LrChange[]) {
  return changes.slice(1).map((c, i) => ({
    step: c.step,
    label: `lr ${fmt(changes[i].lr)} → ${fmt(c.lr)}`,
  }));
}

/** The panels of the update:data chart: the weight matrices', then the vectors', noise left out. */
export function ratioPanels(
  shapes: Readonly<Record<string, readonly number[]>>,
  noise: ReadonlySet<string>,
): { data: string; group: string[]; height: number }[] {
  const names = Object.keys(shapes).filter((n) => !noise.has(n));
  const matrices = names.filter((n) => isMatrix(shapes[n]));
  const vectors = names.filter((n) => !isMatrix(shapes[n]));
  return [
    ...(matrices.length ? [{ data: RATIO_DATA.matrices, group: matrices, height: 230 }] : []),
    ...(vectors.length ? [{ data: RATIO_DATA.vectors, group: vectors, height: 150 }] : []),
  ];
}

/** Options of `updateRatioSpec`. */
export interface UpdateRatioOptions {
  /** Chart title (default "update:data ratio"); a string given as the options is the title. */
  title?: string;
  /** The parameters to name rather than draw (default: `noiseParams(trace)`). */
  noise?: readonly string[];
  /** For the live view: keep the learning-rate layer even while it has no rows. */
  live?: boolean;
}

/** Chart 5 (see the module comment). */
export function updateRatioSpec(
  trace: TrainingTrace,
  options: UpdateRatioOptions | string = {},
): VegaLiteSpec {
  const opts = typeof options === "string" ? { title: options } : options;
  const title = opts.title ?? "update:data ratio";
  const noise = new Set(opts.noise ?? noiseParams(trace));
  const rows = ratioRows(trace.samples).filter((r) => !noise.has(r.param));
  const lr = lrChangeRows(trace.lrChanges ?? []);
  const noted = [...noise].map((n) => {
    const last = trace.samples.filter((s) => s.name === n && s.updateRatio !== null).at(-1);
    const size = last ? ` (≈ ${fmt(10 ** last.updateRatio!)})` : "";
    return `${n} ${formatShape(trace.shapes[n])}${size}`;
  });
  const panel = (group: string[], data: string, heading: string, height: number) => ({
    title: { text: heading, fontSize: 12, anchor: "start" as const },
    width: 600,
    height,
    layer: [
      {
        data: { values: [{ lo: 10 ** -3.5, hi: 10 ** -2.5, mid: 1e-3 }] },
        layer: [
          {
            mark: { type: "rect" as const, color: "#009E73", opacity: 0.12 },
            encoding: { y: { field: "lo", type: "quantitative" as const }, y2: { field: "hi" } },
          },
          {
            mark: { type: "rule" as const, strokeDash: [6, 4], color: "#009E73" },
            encoding: { y: { field: "mid", type: "quantitative" as const } },
          },
        ],
      },
      ...lrLayer(RATIO_DATA.lr, lr, opts.live),
      {
        layer: [
          {
            data: { name: data, values: rows.filter((r) => group.includes(r.param)) },
            mark: { type: "line" as const, strokeWidth: 1.4, clip: true },
            encoding: {
              x: { field: "step", type: "quantitative" as const, title: "step" },
              y: {
                field: "ratio",
                type: "quantitative" as const,
                title: "update:data (log scale)",
                scale: ratioScale,
                axis: { format: "~e" },
              },
              color: colourOf(group),
              tooltip: [
                { field: "param" },
                { field: "step" },
                { field: "ratio", format: ".2e", title: "update:data" },
                { field: "lr" },
              ],
            },
          },
          {
            data: { name: `${data}_labels`, values: endLabels(rows, group, height) },
            mark: {
              type: "text" as const,
              align: "left" as const,
              dx: 5,
              fontSize: 11,
              fontWeight: "bold" as const,
            },
            encoding: {
              x: { field: "step", type: "quantitative" as const },
              y: { field: "at", type: "quantitative" as const },
              text: { field: "param" },
              color: colourOf(group),
            },
          },
        ],
      },
    ],
  });
  const panels = ratioPanels(trace.shapes, noise).map((p) =>
    panel(
      p.group,
      p.data,
      `${p.data === RATIO_DATA.matrices ? "weight matrices" : "vectors"}: ${p.group.join(", ")}`,
      p.height,
    )
  );
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: [
        `lr · std(grad) / std(param) every ${trace.every} steps; shaded: half a decade either ` +
        "side of 1e-3 (dashed), the rule of thumb for a healthy step",
        ...(noted.length
          ? [`not drawn: ${noted.join(", ")} — rounding noise, its true gradient is zero`]
          : []),
      ],
    },
    config: CONFIG,
    spacing: 20,
    resolve: { scale: { color: "independent" } },
    vconcat: panels,
  } as VegaLiteSpec;
}

const ratioScale = {
  type: "log" as const,
  domain: { unionWith: [10 ** -3.6, 10 ** -2.4] },
  nice: false,
};

function colourOf(group: string[]) {
  return {
    field: "param",
    type: "nominal" as const,
    legend: null,
    scale: { domain: group, range: LINE_COLOURS.slice(0, Math.max(1, group.length)) },
  };
}

/** Vertical rules where the learning rate changes, labelled at the top. */
function lrLayer(name: string, rows: { step: number; label: string }[], live = false) {
  // Left out when empty (Vega would warn of an empty extent), except live, where rows come later.
  if (rows.length === 0 && !live) return [];
  return [{
    data: { name, values: rows },
    layer: [
      {
        mark: { type: "rule" as const, color: "#555", strokeDash: [2, 3] },
        encoding: { x: { field: "step", type: "quantitative" as const } },
      },
      {
        mark: {
          type: "text" as const,
          align: "left" as const,
          baseline: "top" as const,
          dx: 4,
          y: 2,
          fontSize: 10,
          color: "#333",
        },
        encoding: { x: { field: "step", type: "quantitative" as const }, text: { field: "label" } },
      },
    ],
  }];
}

/**
 * The smoothing window: 1,000 steps as in the lecture once the run has at least 50 windows of
 * it, else a smaller one that still gives about 50 points (1 for very short runs).
 */
export function lossWindow(steps: number): number {
  return Math.max(1, Math.min(1000, Math.floor(steps / 50)));
}

/** One point of the loss line: the geometric mean of a window of minibatch losses. */
export interface LossPoint {
  step: number;
  loss: number;
}

/** The loss line: geometric means of whole windows of `w` steps from index `from` on. */
export function lossWindows(
  loss: ArrayLike<number>,
  count: number,
  firstStep: number,
  w: number,
  from = 0,
): LossPoint[] {
  const points: LossPoint[] = [];
  for (let start = from; start + w <= count; start += w) {
    let s = 0;
    for (let i = start; i < start + w; i++) s += Math.log10(loss[i]);
    points.push({ step: firstStep + start + (w - 1) / 2, loss: 10 ** (s / w) });
  }
  return points;
}

/** The loss line's rows, in the colour of its series. */
export function lossLineRows(points: readonly LossPoint[], w: number) {
  return points.map((p) => ({ ...p, split: lossSeries(w) }));
}

function lossSeries(w: number): string {
  return w > 1 ? `minibatch, mean of ${w}-step windows` : "minibatch";
}

/** The evaluation points: a train and a val row per evaluation, the last ones labelled. */
export function evalRows(evals: readonly { step: number; train: number; val: number }[]) {
  const last = evals.at(-1);
  return evals.flatMap((e) => {
    const label = (split: string, x: number) => (e === last ? `${split} ${x.toFixed(4)}` : "");
    return [
      { step: e.step, split: "train split", loss: e.train, label: label("train", e.train) },
      { step: e.step, split: "val split", loss: e.val, label: label("val", e.val) },
    ];
  });
}

/** Options of `lossSpec`. */
export interface LossOptions {
  /** Chart title (default "Loss"); a string given as the options is the title. */
  title?: string;
  /** The smoothing window (default `lossWindow(trace.steps)`; live, that of the whole run). */
  window?: number;
  /** Round tick values fitted to the data (default true); the live view's axis follows the data. */
  fixedTicks?: boolean;
  /** For the live view: keep the learning-rate layer even while it has no rows. */
  live?: boolean;
}

/** Chart 6 (see the module comment). */
export function lossSpec(trace: TrainingTrace, options: LossOptions | string = {}): VegaLiteSpec {
  const opts = typeof options === "string" ? { title: options } : options;
  const title = opts.title ?? "Loss";
  const w = opts.window ?? lossWindow(trace.steps);
  const line = lossWindows(trace.loss, trace.steps, trace.firstStep, w);
  const evals = evalRows(trace.evals);
  const lr = lrChangeRows(trace.lrChanges ?? []);
  const lastEval = trace.evals.at(-1);
  const valAbove = !lastEval || lastEval.val >= lastEval.train;
  const all = [...line.map((p) => p.loss), ...evals.map((e) => e.loss)];
  const ticks = all.length && opts.fixedTicks !== false
    ? lossTicks(Math.min(...all), Math.max(...all))
    : undefined;
  const x = { field: "step", type: "quantitative" as const, title: "step" };
  const y = {
    field: "loss",
    type: "quantitative" as const,
    title: "loss (log scale)",
    scale: { type: "log" as const, nice: false, padding: 14 },
    axis: ticks ? { values: ticks, format: ".3~f" } : { format: ".3~f" },
  };
  const series = lossSeries(w);
  const colour = {
    field: "split",
    type: "nominal" as const,
    title: null,
    scale: {
      domain: [series, "train split", "val split"],
      range: ["#0072B2", "#E69F00", "#D55E00"],
    },
    legend: { orient: "top" as const, labelLimit: 400 },
  };
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: `${opts.live ? "" : `${trace.steps.toLocaleString("en")} steps; `}line: ` +
        "the minibatch loss" +
        (w > 1 ? ` (geometric mean of each ${w}-step window)` : "") +
        "; points: evaluations on the splits, the last ones labelled",
    },
    width: 640,
    height: 300,
    config: CONFIG,
    layer: [
      ...lrLayer(LOSS_DATA.lr, lr, opts.live),
      {
        data: { name: LOSS_DATA.line, values: lossLineRows(line, w) },
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          x,
          y,
          color: colour,
          tooltip: [{ field: "step" }, { field: "loss", format: ".4f" }],
        },
      },
      {
        data: { name: LOSS_DATA.evals, values: evals },
        layer: [
          {
            mark: { type: "point", filled: true, size: 60, opacity: 1 },
            encoding: {
              x,
              y,
              color: colour,
              tooltip: [{ field: "split" }, { field: "step" }, { field: "loss", format: ".4f" }],
            },
          },
          ...(["train split", "val split"] as const).map((split) => ({
            transform: [{ filter: `datum.split === '${split}' && datum.label !== ''` }],
            mark: {
              type: "text" as const,
              align: "left" as const,
              dx: 8,
              dy: (split === "val split") === valAbove ? -7 : 7,
              fontSize: 11,
              fontWeight: "bold" as const,
            },
            encoding: { x, y, text: { field: "label" }, color: colour },
          })),
        ],
      },
    ],
  } as VegaLiteSpec;
}

/** About six round tick values between lo and hi (loss units, for a log axis). */
export function lossTicks(lo: number, hi: number): number[] {
  const span = Math.max(hi - lo, 1e-6);
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) {
    ticks.push(Number(t.toPrecision(6)));
  }
  return ticks;
}
