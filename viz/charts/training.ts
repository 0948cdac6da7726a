/**
 * Chart 5, over a training run, as the lecture draws it and a little clearer: the update:data
 * ratio, std(Δparam) / std(param) of the update each sampled step actually applied (the
 * lecture's lr · std(grad) / std(param) under plain SGD, and right under momentum or AdamW too),
 * per parameter on a log axis (Karpathy's rule of thumb: about 1e-3, shaded), the weight matrices
 * in one panel and the vectors (biases, batchnorm gain and bias) in another, each line named at
 * its end, one colour per parameter across both panels, the learning-rate drop marked; a
 * parameter whose update is rounding noise (b1 under batchnorm) is named, not drawn. Its
 * datasets are named (`RATIO_DATA`), so that the live view streams rows into the same spec (Vega
 * changesets) and the end labels follow. The loss chart is viz/charts/loss.ts's; both share the
 * learning-rate layer here.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import type { ParamSample, TrainingTrace } from "../trace.ts";

/** The guideline of the update:data ratio: updates about 1/1000 of the data, log10 = −3. */
export const UPDATE_RATIO_GUIDE: number = -3;

/**
 * Line colours: Okabe–Ito (leaving out yellow, which vanishes on white), then darker and lighter
 * shades; a model with more parameters than these repeats them (each line is named at its end).
 */
export const LINE_COLOURS: readonly string[] = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#8C564B",
  "#7F7F7F",
  "#17BECF",
  "#9467BD",
  "#BCBD22",
];

/** Each parameter's colour, by its place among all of them: the same in every panel and chart. */
export function paramColours(names: readonly string[]): Map<string, string> {
  return new Map(names.map((n, i) => [n, LINE_COLOURS[i % LINE_COLOURS.length]]));
}

/**
 * The named datasets of the update:data chart: its weight matrices' panel, its vectors' panel and
 * its learning-rate changes.
 */
export const RATIO_DATA = {
  matrices: "ratio_matrices",
  vectors: "ratio_vectors",
  lr: "lr_changes",
} as const;

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
  /** The run's planned steps: the x axis spans them from the start (the live view's). */
  planned?: number;
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
  const colours = paramColours(Object.keys(trace.shapes));
  const colourOf = (group: string[]) => ({
    field: "param",
    type: "nominal" as const,
    legend: null,
    scale: { domain: group, range: group.map((n) => colours.get(n)!) },
  });
  const xScale = opts.planned
    ? { scale: { domain: [trace.firstStep, trace.firstStep + opts.planned - 1], nice: false } }
    : {};
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
              x: { field: "step", type: "quantitative" as const, title: "step", ...xScale },
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
        `std(Δparam) / std(param): the change each sampled step's update made (measured; lr · ` +
        `std(grad) / std(param) under plain SGD), every ${trace.every} steps`,
        "shaded: half a decade either side of 1e-3 (dashed), the rule of thumb for a healthy step",
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

/** Vertical rules where the learning rate changes, labelled at the top. */
export function lrLayer(name: string, rows: { step: number; label: string }[], live = false) {
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
