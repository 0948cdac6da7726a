/** What every chart shares: the spec type, a named chart, the look, and number formatting. */
import type { TopLevelSpec } from "./deps.ts";

/** A Vega-Lite v6 specification with its data inlined. */
export type VegaLiteSpec = TopLevelSpec;

/** A chart to export: `name` becomes the file name (`name.svg`, `name.png`, `name.vl.json`). */
export interface Chart {
  /** The file name without extension: letters, digits, `_`, `-`, `.` (`writeCharts` checks). */
  name: string;
  /** The chart itself, data inlined. */
  spec: VegaLiteSpec;
  /** One sentence on how to read it, printed under it in report.html. */
  caption?: string;
  /** Spans the report's whole width on a wide screen (a large graph), rather than a column. */
  wide?: boolean;
}

/** The Vega-Lite schema every spec declares. */
export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/**
 * DejaVu Sans first: it is the font the PNG rasteriser is given, so server-side text metrics and
 * the PNG agree; browsers without it fall back to their sans-serif.
 */
export const FONT = "DejaVu Sans, Verdana, sans-serif";

/** Vega-Lite's config block. */
export type Config = NonNullable<TopLevelSpec["config"]>;

/** The shared look: font, white background, padding. */
export const CONFIG: Config = {
  font: FONT,
  background: "white",
  padding: 12,
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: "#555", anchor: "start" },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: null },
};

/** A number for a label or tooltip: `0`, `1.23e-4`, `0.0312`, `—` for none. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e4) return Number(x.toPrecision(3)).toString();
  return x.toExponential(2).replace(/\.?0+e/, "e"); // 1e-5, 1.2e-4
}

/** log10, with null for zero, negative or missing inputs (a log scale cannot place them). */
export function log10OrNull(x: number | null | undefined): number | null {
  return x === null || x === undefined || !(x > 0) || !Number.isFinite(x) ? null : Math.log10(x);
}

/**
 * A y encoding with one untitled row per name, in exactly `names`' order; the fixed domain keeps
 * a row that has no data in one layer (a missing bar, a note) in its place.
 */
export function rowsInOrder(field: string, names: string[]) {
  return { field, type: "nominal" as const, title: null, sort: names, scale: { domain: names } };
}
