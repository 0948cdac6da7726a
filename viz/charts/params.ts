/**
 * Charts 2 and 4, per parameter: how much gradient reaches each one (mean and max |grad|, log
 * scale) and how large the gradient is against the data it updates (std(grad) / std(data)).
 * A parameter that no gradient reaches is drawn as such, never as a zero bar.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import type { GraphSnapshot } from "../snapshot.ts";
import { CONFIG, fmt, log10OrNull, rowsInOrder, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import type { TensorStats } from "../stats.ts";

/** One parameter's statistics: of its value, and of its gradient (null when none reached it). */
export interface ParamStat {
  name: string;
  shape: readonly number[];
  value: TensorStats;
  grad: TensorStats | null;
}

/** The parameters of a snapshot (leaves of kind `param`), in creation order. */
export function paramStatsOf(snap: GraphSnapshot): ParamStat[] {
  return snap.nodes
    .filter((n) => n.kind === "param")
    .map((n) => ({ name: n.name, shape: n.shape, value: n.value, grad: n.grad }));
}

/** Why a parameter has no bar: no gradient at all, or one that is exactly zero everywhere. */
function missing(p: ParamStat): string | null {
  if (!p.grad) return "no gradient";
  return p.grad.maxAbs === 0 ? "gradient is all zeros" : null;
}

/** Chart 2: mean and max |grad| per parameter, as bars on a log scale. */
export function layerFlowSpec(
  params: readonly ParamStat[],
  title = "Gradient per parameter",
): VegaLiteSpec {
  const names = params.map((p) => p.name);
  const bars = params.flatMap((p) =>
    missing(p) ? [] : [
      { param: p.name, measure: "mean |grad|", value: p.grad!.meanAbs, text: fmt(p.grad!.meanAbs) },
      { param: p.name, measure: "max |grad|", value: p.grad!.maxAbs, text: fmt(p.grad!.maxAbs) },
    ].map((b) => ({ ...b, shape: formatShape(p.shape) }))
  );
  const notes = params.flatMap((p) => (missing(p) ? [{ param: p.name, note: missing(p)! }] : []));
  const y = rowsInOrder("param", names);
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: notes.length
        ? `${notes.length} parameter${
          notes.length > 1 ? "s" : ""
        } without a gradient: marked in red`
        : "log scale: a parameter orders of magnitude below the rest barely learns",
    },
    width: 520,
    height: Math.max(120, params.length * 34),
    config: CONFIG,
    layer: [
      {
        data: { values: bars },
        mark: { type: "bar", height: { band: 0.4 } },
        encoding: {
          y,
          yOffset: { field: "measure", type: "nominal", sort: ["mean |grad|", "max |grad|"] },
          x: {
            field: "value",
            type: "quantitative",
            scale: logScale(bars.map((b) => b.value)),
            title: "|grad|",
            axis: { format: "~e" },
          },
          // A log scale has no zero: bars start at the domain's lower end.
          x2: { datum: logScale(bars.map((b) => b.value)).domain[0] },
          color: {
            field: "measure",
            type: "nominal",
            title: null,
            sort: ["mean |grad|", "max |grad|"],
            legend: { orient: "top" },
          },
          tooltip: [
            { field: "param" },
            { field: "shape" },
            { field: "measure" },
            { field: "text", title: "value" },
          ],
        },
      },
      {
        data: { values: notes },
        mark: { type: "text", align: "left", color: "#c0392b", fontWeight: "bold", x: 6 },
        encoding: { y, text: { field: "note" } },
      },
    ],
  };
}

/** Chart 4: std(grad) / std(data) per parameter, with each parameter's shape in the legend. */
export function gradDataRatioSpec(
  params: readonly ParamStat[],
  title = "grad:data ratio",
): VegaLiteSpec {
  const legend = (p: ParamStat) => `${p.name} ${formatShape(p.shape)}`;
  const names = params.map(legend);
  const rows = params.map((p) => {
    const ratio = p.grad && p.value.std > 0 ? p.grad.std / p.value.std : null;
    return {
      param: legend(p),
      ratio: log10OrNull(ratio) === null ? null : ratio,
      text: ratio === null ? "" : fmt(ratio),
      note: missing(p) ?? (ratio === null ? "data std is 0" : ""),
      gradStd: fmt(p.grad?.std),
      dataStd: fmt(p.value.std),
    };
  });
  const ratios = rows.flatMap((r) => (r.ratio === null ? [] : [r.ratio]));
  const y = rowsInOrder("param", names);
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: "std(grad) / std(data) per parameter; log scale",
    },
    width: 480,
    height: Math.max(120, params.length * 26),
    config: CONFIG,
    layer: [
      {
        data: { values: rows.filter((r) => r.ratio !== null) },
        mark: { type: "bar", height: { band: 0.7 } },
        encoding: {
          y: { ...y, axis: null },
          x2: { datum: logScale(ratios).domain[0] },
          x: {
            field: "ratio",
            type: "quantitative",
            scale: logScale(ratios),
            title: "std(grad) / std(data)",
            axis: { format: "~e" },
          },
          color: {
            field: "param",
            type: "nominal",
            title: "parameter (shape)",
            sort: names,
            scale: { domain: names },
          },
          tooltip: [
            { field: "param", title: "parameter" },
            { field: "text", title: "ratio" },
            { field: "gradStd", title: "std(grad)" },
            { field: "dataStd", title: "std(data)" },
          ],
        },
      },
      {
        data: { values: rows.filter((r) => r.ratio !== null) },
        mark: { type: "text", align: "left", dx: 4 },
        encoding: {
          y: { ...y, axis: null },
          x: { field: "ratio", type: "quantitative" },
          text: { field: "text" },
        },
      },
      {
        data: { values: rows.filter((r) => r.ratio === null) },
        mark: { type: "text", align: "left", color: "#c0392b", fontWeight: "bold", x: 6 },
        encoding: { y: { ...y, axis: null }, text: { field: "note" } },
      },
    ],
  };
}

/** A log scale over whole decades around positive values (1e-3..1 when there are none). */
export function logScale(
  values: readonly number[],
): { type: "log"; domain: [number, number]; nice: false } {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  const lo = pos.length ? Math.floor(Math.log10(Math.min(...pos))) : -3;
  const hi = pos.length ? Math.ceil(Math.log10(Math.max(...pos))) : 0;
  return { type: "log", domain: [10 ** lo, 10 ** Math.max(hi, lo + 1)], nice: false };
}
