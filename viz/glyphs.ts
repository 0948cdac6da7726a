/**
 * How a verdict looks, the same in every chart: a glyph whose shape says it (✓ exact, ≈
 * approximate, ✗ differs, ○ not written, – not compared) in the Okabe–Ito palette, whose colours
 * readers with any common colour-vision deficiency tell apart; the shape alone carries the
 * meaning, the colour repeats it. Glyphs are SVG paths in the −1…1 square, as Vega's symbol
 * marks take them.
 */
import type { VerdictStatus } from "./verdicts.ts";

/** Okabe & Ito's colour-blind-safe palette, by verdict. */
export const OKABE_ITO: Readonly<Record<VerdictStatus, string>> = {
  exact: "#009E73", // bluish green
  approximate: "#0072B2", // blue
  differs: "#D55E00", // vermillion
  "not written": "#E69F00", // orange
  "not compared": "#999999", // grey
};

function wave(y: number): string {
  return `M-1,${y} Q-0.5,${y - 0.45} 0,${y} Q0.5,${y + 0.45} 1,${y} L1,${y + 0.32} ` +
    `Q0.5,${y + 0.77} 0,${y + 0.32} Q-0.5,${y - 0.13} -1,${y + 0.32} Z`;
}

/** The glyph of each verdict, as a Vega symbol path. */
export const STATUS_GLYPHS: Readonly<Record<VerdictStatus, string>> = {
  exact: "M-1,0 L-0.62,-0.38 L-0.25,0 L0.62,-0.87 L1,-0.49 L-0.25,0.76 Z",
  approximate: `${wave(-0.6)} ${wave(0.22)}`,
  differs: "M-1,-0.68 L-0.68,-1 L0,-0.32 L0.68,-1 L1,-0.68 L0.32,0 L1,0.68 L0.68,1 L0,0.32 " +
    "L-0.68,1 L-1,0.68 L-0.32,0 Z",
  "not written": "M0,-1 A1,1 0 1,1 0,1 A1,1 0 1,1 0,-1 Z M0,-0.58 A0.58,0.58 0 1,0 0,0.58 " +
    "A0.58,0.58 0 1,0 0,-0.58 Z",
  "not compared": "M-0.85,-0.2 L0.85,-0.2 L0.85,0.2 L-0.85,0.2 Z",
};
