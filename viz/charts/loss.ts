/**
 * Chart 6, the loss, as TensorBoard and the lecture draw it: every step's minibatch loss from the
 * first (the lecture's ≈ 3.3 before training, then the hockey stick), faint, and over it the
 * loss smoothed (an exponential moving average of log10 loss, debiased as TensorBoard's, so that
 * it starts at the first step's loss too); the evaluations on the splits as points, the last ones
 * labelled; the learning-rate drops marked. A log y axis with a tick in every decade the run
 * spans. A long run's raw line keeps each bucket's lowest and highest loss (about 1,000 buckets),
 * so the noise's envelope survives the thinning. Its datasets are named (`LOSS_DATA`), so that
 * the live view appends rows to the same spec (Vega changesets).
 */
import { CONFIG, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import type { TrainingTrace } from "../trace.ts";
import { lrChangeRows, lrLayer } from "./training.ts";

/** The named datasets of the loss chart: its raw and smoothed lines, evaluations, lr changes. */
export const LOSS_DATA = {
  raw: "loss_raw",
  line: "loss_line",
  evals: "loss_evals",
  lr: "loss_lr_changes",
} as const;

/** The series names, as the legend writes them. */
export const LOSS_SERIES = {
  raw: "minibatch loss, every step",
  smooth: "smoothed",
  train: "train split",
  val: "val split",
} as const;

/**
 * The smoothing: an EMA whose time constant is 1/200 of the run (1 step for runs of up to 200
 * steps, 1,000 for the lecture's 200,000).
 */
export function lossWindow(steps: number): number {
  return Math.max(1, Math.min(1000, Math.round(steps / 200)));
}

/** How many steps each raw bucket holds: 1 up to 2,000 steps, else about 1,000 buckets. */
export function lossBucket(steps: number): number {
  return steps <= 2000 ? 1 : Math.ceil(steps / 1000);
}

/** A row of the loss chart's lines. */
export interface LossRow {
  /** The step's number. */
  step: number;
  /** The loss, in loss units. */
  loss: number;
  /** Its series (`LOSS_SERIES`). */
  split: string;
}

/**
 * The rows of whole buckets `from` on (bucket k holds steps k·b … k·b + b − 1): raw, each bucket's
 * lowest and highest loss in step order (every step when b = 1), and smoothed, the EMA at each
 * bucket's last step. The first step always starts both lines. `count` steps are known; with
 * `partial`, a last bucket that is not whole is drawn too (a finished run's last steps).
 */
export function lossRows(
  loss: ArrayLike<number>,
  count: number,
  firstStep: number,
  b: number,
  tau: number,
  from = 0,
  partial = false,
): { raw: LossRow[]; smooth: LossRow[] } {
  const raw: LossRow[] = [], smooth: LossRow[] = [];
  const alpha = 1 - 1 / tau;
  // EMA of log10 loss from the first step, debiased (TensorBoard): weight 1 − alphaᵏ so far.
  let ema = 0, weight = 0;
  const buckets = partial ? Math.ceil(count / b) : Math.floor(count / b);
  for (let k = 0; k < buckets; k++) {
    let lo = 0, hi = 0;
    const end = Math.min(count, (k + 1) * b);
    for (let i = k * b; i < end; i++) {
      const x = loss[i];
      ema = alpha * ema + (1 - alpha) * Math.log10(x);
      weight = alpha * weight + (1 - alpha);
      if (k < from) continue;
      if (i === k * b || x < loss[lo]) lo = i;
      if (i === k * b || x > loss[hi]) hi = i;
    }
    if (k < from) continue;
    const row = (i: number, split: string, value = loss[i]) => ({
      step: firstStep + i,
      loss: value,
      split,
    });
    if (k === 0 && b > 1) raw.push(row(0, LOSS_SERIES.raw)); // the first step's loss, as it was
    for (const i of lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo]) {
      if (!(k === 0 && b > 1 && i === 0)) raw.push(row(i, LOSS_SERIES.raw));
    }
    if (k === 0 && b > 1) smooth.push(row(0, LOSS_SERIES.smooth));
    smooth.push(row(end - 1, LOSS_SERIES.smooth, 10 ** (ema / weight)));
  }
  return { raw, smooth };
}

/** The evaluation points: a train and a val row per evaluation, the last ones labelled. */
export function evalRows(evals: readonly { step: number; train: number; val: number }[]) {
  const last = evals.at(-1);
  return evals.flatMap((e) => {
    const label = (split: string, x: number) => (e === last ? `${split} ${x.toFixed(4)}` : "");
    return [
      { step: e.step, split: LOSS_SERIES.train, loss: e.train, label: label("train", e.train) },
      { step: e.step, split: LOSS_SERIES.val, loss: e.val, label: label("val", e.val) },
    ];
  });
}

/**
 * Tick values for a log loss axis from `lo` to `hi`: within one decade, about six round values
 * (2.0, 2.2, 2.4 …); across decades, the densest of 1-2-3-5, 1-2-5, 1-3, 1 per decade that gives
 * at most ten ticks, so that every decade the run spans is labelled (0.05, 0.1, 0.2, 0.5, 1, 2).
 */
export function lossTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) return [];
  if (hi / lo < 3) {
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
  const within = (m: readonly number[]) => {
    const ticks: number[] = [];
    for (let k = Math.floor(Math.log10(lo)); 10 ** k <= hi; k++) {
      for (const x of m) {
        const t = Number((x * 10 ** k).toPrecision(6));
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
      }
    }
    return ticks;
  };
  const sets = [[1, 2, 3, 5], [1, 2, 5], [1, 3], [1]];
  return sets.map(within).find((t) => t.length <= 10) ?? within([1]);
}

/** Options of `lossSpec`. */
export interface LossOptions {
  /** Chart title (default "Loss"); a string given as the options is the title. */
  title?: string;
  /** The run's planned steps, for the raw buckets, the smoothing and (live) the x axis. */
  planned?: number;
  /** Round tick values fitted to the data (default true); the live view's axis follows the data. */
  fixedTicks?: boolean;
  /** For the live view: keep every layer and the legend's every entry while they have no rows. */
  live?: boolean;
}

/** Chart 6 (see the module comment). */
export function lossSpec(trace: TrainingTrace, options: LossOptions | string = {}): VegaLiteSpec {
  const opts = typeof options === "string" ? { title: options } : options;
  const title = opts.title ?? "Loss";
  const planned = opts.planned ?? trace.steps;
  const b = lossBucket(planned), tau = lossWindow(planned);
  // Live, whole buckets only (the next ones are appended); else the run's last steps too.
  const { raw, smooth } = lossRows(
    trace.loss,
    trace.steps,
    trace.firstStep,
    b,
    tau,
    0,
    !opts.live,
  );
  const evals = evalRows(trace.evals);
  const lr = lrChangeRows(trace.lrChanges ?? []);
  const lastEval = trace.evals.at(-1);
  const valAbove = !lastEval || lastEval.val >= lastEval.train;
  const all = [...raw.map((p) => p.loss), ...evals.map((e) => e.loss)].filter((x) => x > 0);
  const ticks = all.length && opts.fixedTicks !== false
    ? lossTicks(Math.min(...all), Math.max(...all))
    : undefined;
  const x = {
    field: "step",
    type: "quantitative" as const,
    title: "step",
    // Live, the axis spans the planned run from the start, so that it does not rescale.
    ...(opts.live && opts.planned
      ? { scale: { domain: [trace.firstStep, trace.firstStep + planned - 1], nice: false } }
      : {}),
  };
  const y = {
    field: "loss",
    type: "quantitative" as const,
    title: "loss (log scale)",
    scale: { type: "log" as const, nice: false, padding: 14 },
    axis: ticks ? { values: ticks, format: ".3~g" } : { format: ".3~g" },
  };
  const drawn = [
    ...(raw.length || opts.live ? [LOSS_SERIES.raw] : []),
    ...(smooth.length || opts.live ? [LOSS_SERIES.smooth] : []),
    ...(evals.length || opts.live ? [LOSS_SERIES.train, LOSS_SERIES.val] : []),
  ];
  const colours: Record<string, string> = {
    [LOSS_SERIES.raw]: "#9cc3e6",
    [LOSS_SERIES.smooth]: "#0072B2",
    [LOSS_SERIES.train]: "#E69F00",
    [LOSS_SERIES.val]: "#D55E00",
  };
  // The legend lists only what is drawn: its domain is the series that have rows.
  const colour = {
    field: "split",
    type: "nominal" as const,
    title: null,
    scale: { domain: drawn, range: drawn.map((s) => colours[s]) },
    legend: { orient: "top" as const, labelLimit: 400 },
  };
  const smoothing = tau > 1 ? `EMA of log loss over ~${tau.toLocaleString("en")} steps` : "";
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: `${opts.live ? "" : `${trace.steps.toLocaleString("en")} steps; `}faint: ` +
        `the minibatch loss of every step${
          b > 1 ? ` (each ${b}-step bucket's lowest and highest)` : ""
        }` +
        `; dark: smoothed${smoothing ? ` (${smoothing})` : ""}` +
        (evals.length || opts.live ? "; points: evaluations on the splits" : ""),
    },
    width: 640,
    height: 300,
    config: CONFIG,
    layer: [
      ...lrLayer(LOSS_DATA.lr, lr, opts.live),
      {
        data: { name: LOSS_DATA.raw, values: raw },
        mark: { type: "line", strokeWidth: 0.8, opacity: 0.8 },
        encoding: {
          x,
          y,
          color: colour,
          tooltip: [{ field: "step" }, { field: "loss", format: ".4f" }],
        },
      },
      {
        data: { name: LOSS_DATA.line, values: smooth },
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: colour,
          tooltip: [{ field: "step" }, { field: "loss", format: ".4f", title: "smoothed" }],
        },
      },
      ...(evals.length || opts.live
        ? [{
          data: { name: LOSS_DATA.evals, values: evals },
          layer: [
            {
              mark: { type: "point" as const, filled: true, size: 60, opacity: 1 },
              encoding: {
                x,
                y,
                color: colour,
                tooltip: [{ field: "split" }, { field: "step" }, {
                  field: "loss",
                  format: ".4f",
                }],
              },
            },
            ...[LOSS_SERIES.train, LOSS_SERIES.val].map((split) => ({
              transform: [{ filter: `datum.split === '${split}' && datum.label !== ''` }],
              mark: {
                type: "text" as const,
                align: "left" as const,
                dx: 8,
                dy: (split === LOSS_SERIES.val) === valAbove ? -7 : 7,
                fontSize: 11,
                fontWeight: "bold" as const,
              },
              encoding: { x, y, text: { field: "label" }, color: colour },
            })),
          ],
        }]
        : []),
    ],
  } as VegaLiteSpec;
}
