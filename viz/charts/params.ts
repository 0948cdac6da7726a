/**
 * Chart 2, per parameter, one dot per measure on log axes that share the parameters' rows: how
 * much gradient reaches it (mean |grad|), how large the gradient is against the data
 * (std(grad) / std(data)), and, given the learning rate, how large an SGD step is against the
 * data (lr · std(grad) / std(data), about 1e-3 is healthy). Dots rather than bars: a bar on a log
 * axis starts at an arbitrary floor, so its length means nothing. A parameter no gradient reaches,
 * or whose gradient is exactly zero, is written as such at the floor; one whose gradient is
 * rounding noise (b1 under batchnorm) is drawn hollow and named in the subtitle.
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import type { GraphSnapshot } from "../snapshot.ts";
import { CONFIG, fmt, rowsInOrder, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import type { TensorStats } from "../stats.ts";

/** One parameter's statistics: of its value, and of its gradient (null when none reached it). */
export interface ParamStat {
  /** The parameter's name (`W1`, `bngain`), written on its row with its shape. */
  name: string;
  /** The parameter's shape. */
  shape: readonly number[];
  /** Statistics of the parameter's value. */
  value: TensorStats;
  /** Statistics of its gradient; null when no gradient reached it. */
  grad: TensorStats | null;
  /** The gradient is rounding noise of a true zero (see SnapshotNode.roundingNoise). */
  roundingNoise?: boolean;
}

/** Options of `paramStatsSpec`. */
export interface ParamStatsOptions {
  /** Chart title (default "Gradient per parameter"). */
  title?: string;
  /** The learning rate of the step these gradients feed: adds the update:data panel. */
  lr?: number;
}

/** The parameters of a snapshot (leaves of kind `param`), in creation order. */
export function paramStatsOf(snap: GraphSnapshot): ParamStat[] {
  return snap.nodes
    .filter((n) => n.kind === "param")
    .map((n) => ({
      name: n.name,
      shape: n.shape,
      value: n.value,
      grad: n.grad,
      roundingNoise: n.roundingNoise,
    }));
}

/** Each panel's axis title. */
const AXIS_TITLES = {
  "mean |grad|": "mean |grad|",
  "grad:data": "std(grad) / std(data)",
  "update:data": "lr · std(grad) / std(data), lr LR",
} as const;

/** The three measures, in panel order. */
export const PARAM_MEASURES = ["mean |grad|", "grad:data", "update:data"] as const;

/** The chart (see the module comment). */
export function paramStatsSpec(
  params: readonly ParamStat[],
  options: ParamStatsOptions = {},
): VegaLiteSpec {
  const label = (p: ParamStat) => `${p.name} ${formatShape(p.shape)}`;
  const names = params.map(label);
  const measures = PARAM_MEASURES.filter((m) => m !== "update:data" || options.lr !== undefined);
  const value = (p: ParamStat, m: typeof PARAM_MEASURES[number]): number | null => {
    if (!p.grad) return null;
    if (m === "mean |grad|") return p.grad.meanAbs;
    const ratio = p.value.std > 0 ? p.grad.std / p.value.std : null;
    return ratio === null ? null : m === "grad:data" ? ratio : options.lr! * ratio;
  };
  const panels = measures.map((m) => {
    const rows = params.map((p) => {
      const v = value(p, m);
      const note = !p.grad
        ? "no gradient"
        : v === null
        ? "data std 0"
        : v === 0
        ? "0"
        : p.roundingNoise
        ? `≈ 0 (noise, ${fmt(v)})`
        : "";
      const hollow = !!p.roundingNoise || v === 0;
      return { param: label(p), value: v, text: v === null ? "—" : fmt(v), note, hollow };
    });
    // Noise and zeros sit at the floor, outside the range they would otherwise stretch.
    const real = (r: typeof rows[number]) => r.value !== null && r.value > 0 && !r.hollow;
    // update:data's axis takes in the band around 1e-3, so that a dot reads against it.
    const band = m === "update:data" ? [10 ** -3.5, 10 ** -2.5] : [];
    const scale = logScale([...rows.flatMap((r) => (real(r) ? [r.value!] : [])), ...band]);
    const at = (r: typeof rows[number]) => (real(r) ? r.value! : scale.domain[0]);
    const values = rows.map((r) => ({ ...r, plotted: at(r) }));
    const first = measures.indexOf(m) === 0;
    const y = { ...rowsInOrder("param", names), axis: first ? { title: null } : null };
    const x = {
      field: "plotted",
      type: "quantitative" as const,
      title: AXIS_TITLES[m].replace("LR", fmt(options.lr)),
      scale,
      // Labels on the decades only (a log axis crowds 2e-3, 3e-3… together), grid lines on all.
      axis: {
        format: "~e",
        grid: true,
        labelFlush: false,
        labelExpr: "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 " +
          "? datum.label : ''",
      },
    };
    const layers: object[] = [];
    if (m === "update:data") {
      layers.push({
        data: { values: [{ lo: 10 ** -3.5, hi: 10 ** -2.5 }] },
        mark: { type: "rect", color: "#009E73", opacity: 0.12 },
        encoding: { x: { field: "lo", type: "quantitative", scale }, x2: { field: "hi" } },
      });
    }
    layers.push(
      {
        // Named datasets: the live view replaces their rows while the axes stay.
        data: { name: `param_rows_${measures.indexOf(m)}`, values },
        mark: { type: "rule", color: "#ddd" },
        encoding: { y, x, x2: { datum: scale.domain[0] } },
      },
      {
        name: `dots_${measures.indexOf(m)}`,
        data: {
          name: `param_dots_${measures.indexOf(m)}`,
          values: values.filter((r) => r.value !== null),
        },
        mark: { type: "point", size: 80, opacity: 1, strokeWidth: 1.6, color: "#0072B2" },
        encoding: {
          y,
          x,
          fill: { condition: { test: "datum.hollow", value: "white" }, value: "#0072B2" },
          tooltip: [{ field: "param" }, { field: "text", title: m }, { field: "note" }],
        },
      },
      {
        data: {
          name: `param_notes_${measures.indexOf(m)}`,
          values: values.filter((r) => r.note !== ""),
        },
        mark: { type: "text", align: "left", dx: 7, fontSize: 10, color: "#555" },
        encoding: { y, x, text: { field: "note" } },
      },
    );
    return {
      width: 200,
      height: Math.max(90, params.length * 24),
      title: { text: m, fontSize: 12, fontWeight: "bold" as const, anchor: "start" as const },
      layer: layers,
    };
  });
  const noise = params.filter((p) => p.roundingNoise).map((p) => p.name);
  return {
    $schema: SCHEMA,
    title: {
      text: options.title ?? "Gradient per parameter",
      subtitle: [
        "dots on log axes; each row a parameter with its shape" +
        (options.lr !== undefined ? "; shaded: update:data within half a decade of 1e-3" : ""),
        ...(noise.length
          ? [`hollow: ${noise.join(", ")} — gradient zero in exact arithmetic (rounding noise)`]
          : []),
      ],
    },
    config: CONFIG,
    spacing: 16,
    hconcat: panels,
  } as VegaLiteSpec;
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
