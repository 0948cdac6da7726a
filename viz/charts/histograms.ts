/**
 * Chart 3: histograms per layer, of activations (a tanh layer's title gives the share of
 * saturated units, |h| > 0.97, where tanh's derivative 1 − h² all but stops the gradient) or of
 * gradients. One small panel per layer, stacked, each with its own x range.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import { type Histogram, SATURATION_THRESHOLD } from "../stats.ts";

/** The title of one layer's panel: name, shape, mean/std, and saturation for tanh layers. */
export function histogramTitle(h: Histogram): string {
  const sat = h.saturation === undefined
    ? ""
    : `, ${(100 * h.saturation).toFixed(1)}% saturated (|${h.name}| > ${SATURATION_THRESHOLD})`;
  return `${h.name} ${formatShape(h.shape)}: mean ${fmt(h.stats.mean)}, std ${
    fmt(h.stats.std)
  }${sat}`;
}

/** Stacked histograms, one panel per layer. */
export function histogramsSpec(layers: readonly Histogram[], title: string): VegaLiteSpec {
  const of = layers[0]?.of ?? "activation";
  const colour = of === "gradient" ? "#e45756" : "#4c78a8";
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
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: of === "activation"
        ? `share of elements per bin; tanh layers count |h| > ${SATURATION_THRESHOLD} as saturated`
        : "share of elements per bin",
    },
    config: CONFIG,
    spacing: 18,
    vconcat: layers.map((h) => ({
      title: { text: histogramTitle(h), fontSize: 12, fontWeight: "normal" as const },
      width: 520,
      height: 90,
      data: {
        values: h.bins.map((b) => ({
          x0: b.x0,
          x1: b.x1,
          share: h.stats.count ? b.count / h.stats.count : 0,
          count: b.count,
        })),
      },
      mark: { type: "bar" as const, color: colour },
      encoding: {
        x: {
          field: "x0",
          type: "quantitative" as const,
          title: of === "gradient" ? `d${h.name}` : h.name,
          scale: { zero: false, nice: false },
        },
        x2: { field: "x1" },
        y: { field: "share", type: "quantitative" as const, title: "share", axis: { format: "%" } },
        y2: { datum: 0 },
        tooltip: [
          { field: "x0", title: "from", format: ".3g" },
          { field: "x1", title: "to", format: ".3g" },
          { field: "count", title: "elements" },
        ],
      },
    })),
  };
}
