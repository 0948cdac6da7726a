/**
 * Histograms over time and on one axis:
 * - a layer's distribution over the run, as TensorBoard's distributions draw it: nested bands
 *   between percentiles (0–100, 7–93, 16–84, 31–69) around the median, per sampled step; drawn
 *   beside the last step's histogram of the same layer (histograms.ts puts them in one row);
 * - the lecture's overlay: every layer's histogram on one axis, as a density line each, the
 *   legend giving each its mean, std and, for a tanh layer, its saturation.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import { type Histogram, SATURATION_THRESHOLD } from "../stats.ts";
import { DISTRIBUTION_PERCENTILES, type DistributionSample } from "../trace.ts";
import { LINE_COLOURS } from "./training.ts";
import { distinctLayers, histogramName } from "./histograms.ts";

/** The bands drawn, outermost first: pairs of indices into `DISTRIBUTION_PERCENTILES`. */
const BANDS = [[0, 8, 0.12], [1, 7, 0.2], [2, 6, 0.3], [3, 5, 0.45]] as const;

/** One layer's rows over time: a row per sampled step, its quantiles as q0 … q8. */
export function distributionRows(
  samples: readonly DistributionSample[],
  name: string,
  of: DistributionSample["of"],
): Record<string, number>[] {
  return samples.filter((s) => s.name === name && s.of === of).map((s) => ({
    step: s.step,
    ...Object.fromEntries(s.q.map((v, i) => [`q${i}`, v])),
    ...(s.saturation === undefined ? {} : { saturation: s.saturation }),
  }));
}

/** A panel's title, as a text layer above its top-left corner (`name`s its data, if given). */
export function panelTitle(text: string, name?: string) {
  return {
    data: { ...(name ? { name } : {}), values: [{ text }] },
    mark: {
      type: "text" as const,
      align: "left" as const,
      baseline: "bottom" as const,
      x: 0,
      y: -6,
      fontSize: 11.5,
    },
    encoding: { text: { field: "text" } },
  };
}

/**
 * One layer's panel over time (the dataset `dist_<k>`), `width` × `height`, in `colour`; its
 * x axis spans `planned` steps from `firstStep` when given (the live view's stable axis).
 */
export function distributionPanel(
  rows: readonly Record<string, number>[],
  k: number,
  label: string,
  colour: string,
  size: { width: number; height: number },
  planned?: { firstStep: number; steps: number },
): object {
  const p = DISTRIBUTION_PERCENTILES;
  const x = {
    field: "step",
    type: "quantitative" as const,
    title: "step",
    ...(planned
      ? { scale: { domain: [planned.firstStep, planned.firstStep + planned.steps - 1] } }
      : {}),
  };
  return {
    ...size,
    layer: [
      panelTitle(`${label} over the run: median, ${p[2]}–${p[6]}% band`),
      {
        data: { name: `dist_${k}`, values: rows },
        layer: [
          ...BANDS.map(([lo, hi, opacity]) => ({
            mark: { type: "area" as const, color: colour, opacity },
            encoding: {
              x,
              y: {
                field: `q${lo}`,
                type: "quantitative" as const,
                title: label,
                scale: { zero: false },
              },
              y2: { field: `q${hi}` },
            },
          })),
          {
            mark: { type: "line" as const, color: colour, strokeWidth: 1.5 },
            encoding: {
              x,
              y: { field: "q4", type: "quantitative" as const },
              tooltip: [
                { field: "step" },
                ...[0, 2, 4, 6, 8].map((i) => ({
                  field: `q${i}`,
                  title: `${p[i]}%`,
                  format: ".3g",
                })),
              ],
            },
          },
        ],
      },
    ],
  };
}

/** The legend's label of one layer: name, shape, mean, std and saturation. */
export function overlayLabel(h: Histogram): string {
  const sat = h.saturation === undefined ? "" : `, ${(100 * h.saturation).toFixed(1)}% saturated`;
  return `${histogramName(h)} ${formatShape(h.shape)}: mean ${fmt(h.stats.mean)}, ` +
    `std ${fmt(h.stats.std)}${sat}`;
}

/** The overlay's rows: per layer, its density at each bin's middle. */
export function overlayRows(
  layers: readonly Histogram[],
): { layer: string; x: number; density: number }[] {
  return layers.flatMap((h) =>
    h.bins.map((b) => ({
      layer: overlayLabel(h),
      x: (b.x0 + b.x1) / 2,
      density: h.stats.count ? b.count / h.stats.count / (b.x1 - b.x0) : 0,
    }))
  );
}

/** The lecture's overlay: every distinct layer's histogram on one axis (see the module comment). */
export function overlaySpec(
  layers: readonly Histogram[],
  title: string,
  options: { live?: boolean } = {},
): VegaLiteSpec {
  const distinct = distinctLayers(layers).map((d) => d.h);
  const labels = distinct.map(overlayLabel);
  const of = distinct[0]?.of ?? "activation";
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: "each layer's histogram as a density line on one x axis" +
        (of === "activation"
          ? `; saturated: |h| > ${SATURATION_THRESHOLD}, where tanh passes little gradient back`
          : ""),
    },
    config: CONFIG,
    width: 620,
    height: 260,
    data: { name: "overlay", values: overlayRows(distinct) },
    mark: { type: "line", interpolate: "step", strokeWidth: 1.6 },
    encoding: {
      x: { field: "x", type: "quantitative", title: of === "activation" ? "value" : "gradient" },
      y: { field: "density", type: "quantitative", title: "density" },
      // One legend entry per layer drawn, nothing else.
      color: {
        field: "layer",
        type: "nominal",
        title: null,
        // Live, the labels (with their statistics) come with the data: the domain follows them,
        // in name order, as the labels start with the layers' names.
        scale: options.live
          ? { range: [...LINE_COLOURS] }
          : { domain: labels, range: labels.map((_, i) => LINE_COLOURS[i % 12]) },
        legend: { orient: "top", direction: "vertical", labelLimit: 600 },
      },
      tooltip: [{ field: "layer" }, { field: "x", format: ".3g" }, {
        field: "density",
        format: ".3g",
      }],
    },
  } as VegaLiteSpec;
}
