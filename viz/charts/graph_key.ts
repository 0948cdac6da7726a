/**
 * The gradient-flow graph's key, drawn inside the chart above the graph (so that it stays in view
 * with it) in the chart's own coordinates: the colour bar of mean |grad| with a tick per decade,
 * the fills (below the floor, rounding noise, no gradient), the node shapes, and with verdicts the
 * status glyphs and the ring of the first divergent node.
 */
import { fmt } from "../spec.ts";
import { VERDICT_STATUSES } from "../verdicts.ts";
import { OKABE_ITO, STATUS_GLYPHS } from "../glyphs.ts";

/** The colour range of the graph's node fills: [lo, hi] in log10 mean |grad|. */
export interface GradientRange {
  /** The floor, in log10 mean |grad|: a gradient below it is filled grey ("below the floor"). */
  lo: number;
  /** The top, in log10 mean |grad|: a gradient above it takes the top colour (the scale clamps). */
  hi: number;
}

/** The fill of a node whose gradient lies below the range's floor. */
export const FLOOR_FILL = "#bdbdbd";

/** The key's height without the verdicts' line. */
export const KEY_HEIGHT_BASE = 58;

/** The key's layers, drawn above the graph in the chart's own coordinates. */
export function keyLayers(
  x: object,
  y: object,
  colour: object,
  range: GradientRange,
  keyHeight: number,
  withVerdicts: boolean,
  withFirst: boolean,
  width: number,
) {
  const top = -keyHeight + 6;
  const bar = Array.from({ length: 48 }, (_, i) => ({
    x: 84 + i * 3.2,
    y: top + 4,
    logGrad: range.lo + ((range.hi - range.lo) * (i + 0.5)) / 48,
  }));
  const decades: { x: number; y: number; label: string }[] = [];
  for (let d = Math.ceil(range.lo); d <= Math.floor(range.hi); d++) {
    const at = 84 + ((d - range.lo) / (range.hi - range.lo)) * 153.6;
    decades.push({ x: at, y: top + 12, label: `1e${d}` });
  }
  // The key's entries, on three lines: fills, node shapes, verdicts.
  type Entry = { x: number; y: number; shape: string; fill: string; stroke: string; label: string };
  const entry = (
    x: number,
    line: number,
    shape: string,
    fill: string,
    stroke: string,
    label: string,
  ): Entry => ({ x, y: top + 4 + 25 * line, shape, fill, stroke, label });
  const grey = "#d9d9d9";
  const floorLabel = `below ${round(10 ** range.lo)}`;
  const noGradient = entry(512, 0, "circle", "white", "#777", "no gradient");
  const noise = { ...entry(372, 0, "circle", "white", "#777", "≈ 0: rounding noise"), text: "0" };
  const symbols: (Entry & { text?: string })[] = [
    entry(262, 0, "circle", FLOOR_FILL, "#777", floorLabel),
    noise,
    entry(14, 1, "circle", grey, "#777", "op, its own rule"),
    entry(142, 1, "diamond", grey, "#222", "op, hand-written rule"),
    entry(300, 1, "square", grey, "#777", "leaf: parameter, input, constant"),
  ];
  if (withVerdicts) {
    const xs = [14, 86, 186, 266, 372];
    VERDICT_STATUSES.forEach((s, i) =>
      symbols.push(entry(xs[i], 2, STATUS_GLYPHS[s], OKABE_ITO[s], OKABE_ITO[s], s))
    );
    if (withFirst) {
      symbols.push(entry(482, 2, "circle", "transparent", OKABE_ITO.differs, "first divergent"));
    }
  }
  const direct = (field: string) => ({
    field,
    type: "nominal" as const,
    scale: null,
    legend: null,
  });
  return [
    {
      data: { values: [{ x: 6, y: top + 4, label: "mean |grad|" }] },
      mark: {
        type: "text" as const,
        align: "left" as const,
        fontSize: 10,
        fontWeight: "bold" as const,
      },
      encoding: { x, y, text: { field: "label" } },
    },
    {
      data: { values: bar },
      mark: { type: "square" as const, size: 14, opacity: 1 },
      encoding: { x, y, color: colour },
    },
    {
      data: { values: decades },
      mark: { type: "text" as const, fontSize: 8.5, baseline: "top" as const, color: "#444" },
      encoding: { x, y, text: { field: "label" } },
    },
    {
      data: { values: symbols },
      mark: { type: "point" as const, filled: true, opacity: 1, size: 90 },
      encoding: {
        x,
        y,
        shape: direct("shape"),
        color: direct("fill"),
        stroke: direct("stroke"),
        strokeWidth: { value: 1 },
      },
    },
    {
      data: { values: [noGradient] },
      mark: { type: "point" as const, filled: true, opacity: 1, size: 90, strokeDash: [2, 2] },
      encoding: { x, y, shape: direct("shape"), color: direct("fill"), stroke: direct("stroke") },
    },
    {
      data: { values: [noise] },
      mark: { type: "text" as const, fontSize: 8, fontWeight: "bold" as const },
      encoding: { x, y, text: { field: "text" } },
    },
    {
      data: { values: [...symbols, noGradient] },
      mark: { type: "text" as const, align: "left" as const, dx: 10, fontSize: 10 },
      encoding: { x, y, text: { field: "label" } },
    },
    {
      data: { values: [{ x: width, y: top + 30, label: "dashed edge: carries no gradient" }] },
      mark: { type: "text" as const, align: "right" as const, fontSize: 10, color: "#555" },
      encoding: { x, y, text: { field: "label" } },
    },
  ];
}

/** A number to two significant digits, as the subtitle and key write a bound: 3.2e-5, 0.032. */
export function round(x: number): string {
  return fmt(Number(x.toPrecision(2)));
}
