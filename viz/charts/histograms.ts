/**
 * Chart 3: histograms per layer, of activations (a tanh layer's title gives the share of
 * saturated units, |h| > 0.97, where tanh's derivative 1 − h² all but stops the gradient) or of
 * their gradients (titled `dh`, as the lecture names them). One panel per layer, stacked, each
 * with its own x range (or one shared range: `sharedX`), 0 always on the axis. A layer whose
 * values repeat an earlier one's (embcat is emb viewed as (32, 30)) gets no panel of its own: the
 * earlier panel's title names it. Each panel's bins and title line are named datasets
 * (`hist_<k>`, `hist_<k>_title`), so that the live view replaces them as training goes on.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import { type Histogram, SATURATION_THRESHOLD } from "../stats.ts";
import type { DistributionSample } from "../trace.ts";
import { distributionPanel, distributionRows, panelTitle } from "./distributions.ts";

/** Options of `histogramsSpec`. */
export interface HistogramsOptions {
  /** One x range for every panel, so that their spreads compare at a glance (default false). */
  sharedX?: boolean;
  /**
   * Count elements on a log axis (default false: share on a linear one), so that a tail of a few
   * elements shows beside a spike (dlogits' −1/n entries beside its many near-zero ones).
   */
  logCount?: boolean;
  /**
   * The layers' quantiles over the run (a trace's `distributions`): each layer's panel gets its
   * distribution over time beside it (`dist_<k>` datasets).
   */
  over?: readonly DistributionSample[];
  /** The x axis of the panels over time spans these steps (the live view's stable axis). */
  planned?: { firstStep: number; steps: number };
}

/** The name a layer is shown under: `h`, or `dh` for its gradient. */
export function histogramName(h: Histogram): string {
  return h.of === "gradient" ? `d${h.name}` : h.name;
}

/** The title of one layer's panel: name, shape, mean/std, and saturation for tanh layers. */
export function histogramTitle(h: Histogram, same: readonly Histogram[] = []): string {
  const sat = h.saturation === undefined
    ? ""
    : `, ${(100 * h.saturation).toFixed(1)}% saturated (|${h.name}| > ${SATURATION_THRESHOLD})`;
  const alias = same.map((o) => ` = ${histogramName(o)} ${formatShape(o.shape)}`).join("");
  return `${histogramName(h)} ${formatShape(h.shape)}${alias}: mean ${fmt(h.stats.mean)}, ` +
    `std ${fmt(h.stats.std)}${sat}`;
}

/** Whether two histograms count the same values (same bins, counts and statistics). */
function sameValues(a: Histogram, b: Histogram): boolean {
  return a.stats.count === b.stats.count && a.stats.mean === b.stats.mean &&
    a.stats.std === b.stats.std && a.bins.length === b.bins.length &&
    a.bins.every((x, i) => x.x0 === b.bins[i].x0 && x.count === b.bins[i].count);
}

/** The layers that get a panel, each with the later layers whose values repeat it. */
export function distinctLayers(
  layers: readonly Histogram[],
): { h: Histogram; same: Histogram[] }[] {
  const out: { h: Histogram; same: Histogram[] }[] = [];
  for (const h of layers) {
    const twin = out.find((o) => sameValues(o.h, h));
    if (twin) twin.same.push(h);
    else out.push({ h, same: [] });
  }
  return out;
}

/** A panel's bars: share of elements per bin. */
export function histogramBins(h: Histogram) {
  return h.bins.map((b) => ({
    x0: b.x0,
    x1: b.x1,
    share: h.stats.count ? b.count / h.stats.count : 0,
    count: b.count,
  }));
}

/** Stacked histograms, one panel per distinct layer. */
export function histogramsSpec(
  layers: readonly Histogram[],
  title: string,
  options: HistogramsOptions = {},
): VegaLiteSpec {
  const of = layers[0]?.of ?? "activation";
  const colour = of === "gradient" ? "#D55E00" : "#0072B2";
  if (layers.length === 0) {
    return {
      $schema: SCHEMA,
      title: { text: title, subtitle: "nothing to show: no layers were given" },
      config: CONFIG,
      data: { values: [{ note: "no layers" }] },
      mark: { type: "text", size: 14 },
      encoding: { text: { field: "note" } },
    };
  }
  const panels = distinctLayers(layers);
  const repeated = panels.flatMap((p) =>
    p.same.map((s) => `${histogramName(s)} = ${histogramName(p.h)}`)
  );
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: [
        (of === "activation"
          ? "share of elements per bin; tanh layers count " +
            `|h| > ${SATURATION_THRESHOLD} as saturated`
          : "share of elements per bin of each layer's gradient") +
        (options.logCount ? ", on a log axis of element counts (every non-empty bin shows)" : "") +
        (options.sharedX ? "; one x axis for all" : "; each panel its own x range") +
        (options.over ? "; right: the same layer over the run" : ""),
        ...(repeated.length ? [`same values, one panel: ${repeated.join(", ")}`] : []),
      ],
    },
    config: CONFIG,
    spacing: 14,
    ...(options.sharedX ? { resolve: { scale: { x: "shared" as const } } } : {}),
    vconcat: panels.map(({ h, same }, k) => {
      const panel = layerPanel(h, same, k);
      const rows = options.over ? distributionRows(options.over, h.name, h.of) : [];
      if (!options.over || (rows.length === 0 && !options.planned)) return panel;
      const size = { width: 360, height: 80 };
      return {
        hconcat: [
          panel,
          distributionPanel(rows, k, histogramName(h), colour, size, options.planned),
        ],
      };
    }),
  } as VegaLiteSpec;

  function layerPanel(h: Histogram, same: readonly Histogram[], k: number) {
    return {
      width: 520,
      height: 80,
      layer: [
        panelTitle(histogramTitle(h, same), `hist_${k}_title`),
        {
          name: `hist_panel_${k}`,
          data: { name: `hist_${k}`, values: histogramBins(h) },
          ...(options.logCount
            ? { transform: [{ filter: "datum.count > 0" }, { calculate: "0.7", as: "floor" }] }
            : {}),
          mark: { type: "bar" as const, color: colour },
          encoding: {
            x: {
              field: "x0",
              type: "quantitative" as const,
              title: histogramName(h),
              scale: { zero: true, nice: false },
              axis: { tickCount: 8 },
            },
            x2: { field: "x1" },
            ...(options.logCount
              ? {
                // Bars from just below 1 element: a bin of one element still shows.
                y: {
                  field: "count",
                  type: "quantitative" as const,
                  title: "elements",
                  scale: { type: "log" as const, nice: false },
                  axis: { format: "~s", tickCount: 3 },
                },
                y2: { field: "floor" },
              }
              : {
                y: {
                  field: "share",
                  type: "quantitative" as const,
                  title: "share",
                  axis: { format: "%", tickCount: 3 },
                },
                y2: { datum: 0 },
              }),
            tooltip: [
              { field: "x0", title: "from", format: ".3g" },
              { field: "x1", title: "to", format: ".3g" },
              { field: "count", title: "elements" },
            ],
          },
        },
        {
          // A line at 0, so that a distribution's centre reads against it.
          data: { values: [{ zero: 0 }] },
          mark: { type: "rule" as const, color: "#333", strokeDash: [3, 2] },
          encoding: { x: { field: "zero", type: "quantitative" as const } },
        },
      ],
    };
  }
}
