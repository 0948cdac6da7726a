/**
 * Where a wrong gradient differs: yours − reference for one node, as a heatmap, the way the
 * lecture looks at dlogits with imshow. A factor shows as every cell tinted, a sign as the
 * picture inverted, a wrong row or column (a missing sum, the wrong axis, the target index) as a
 * stripe. The node's values are drawn as a matrix: rows are the first dimension, columns every
 * other dimension flattened (emb's (32, 3, 10) as 32 × 30); a vector is one row. A big tensor is
 * pooled into blocks, each drawn as its entry of largest |difference|, so no difference hides.
 */
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";

/** A tensor as the heatmap reads it: its entries, row-major, and its shape (a Tensor fits). */
export interface Values {
  /** The entries in row-major order. */
  data: ArrayLike<number>;
  /** The shape, outermost dimension first. */
  shape: readonly number[];
}

/** What `differenceHeatmapSpec` draws: one node's gradient, yours and the reference. */
export interface GradientDifference {
  /** The node's name (the heatmap is titled d<name>). */
  name: string;
  /** The gradient being judged (the hand-written rules'). */
  yours: Values;
  /** The gradient it is judged against (the engine's automatic one). */
  reference: Values;
  /** Who "yours" is, for the title (default "yours"). */
  yoursLabel?: string;
}

/** The most rows and columns of cells drawn before blocks are pooled. */
const MAX_ROWS = 64, MAX_COLS = 128;

/** The heatmap of `yours − reference` (see the module comment). */
export function differenceHeatmapSpec(d: GradientDifference, title?: string): VegaLiteSpec {
  const { yours, reference } = d;
  if (yours.data.length !== reference.data.length) {
    throw new NinjagradError(
      `d${d.name}: yours has shape ${formatShape(yours.shape)} and the reference ` +
        `${formatShape(reference.shape)}; a heatmap of the difference needs one shape`,
    );
  }
  const shape = reference.shape;
  const rows = shape.length >= 2 ? shape[0] : 1;
  const cols = Math.max(1, reference.data.length / Math.max(1, rows));
  const pr = Math.ceil(rows / MAX_ROWS), pc = Math.ceil(cols / MAX_COLS);
  const R = Math.ceil(rows / pr), C = Math.ceil(cols / pc);
  const cells: { row: number; col: number; diff: number; text: string; at: string }[] = [];
  let worst = 0, worstAt = "", differing = 0, scale = 0;
  for (let i = 0; i < reference.data.length; i++) {
    scale = Math.max(scale, Math.abs(reference.data[i]));
  }
  const tiny = 1e-6 * scale;
  const best = new Map<number, { diff: number; at: string }>();
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c;
      const diff = yours.data[k] - reference.data[k];
      const at = shape.length >= 2 ? `[${r}, ${c}]` : `[${c}]`;
      if (Math.abs(diff) > tiny) differing++;
      if (Math.abs(diff) > Math.abs(worst) || worstAt === "") [worst, worstAt] = [diff, at];
      const cell = Math.floor(r / pr) * C + Math.floor(c / pc);
      const had = best.get(cell);
      if (!had || Math.abs(diff) > Math.abs(had.diff)) best.set(cell, { diff, at });
    }
  }
  for (const [cell, b] of best) {
    cells.push({
      row: Math.floor(cell / C),
      col: cell % C,
      diff: b.diff,
      text: fmt(b.diff),
      at: b.at,
    });
  }
  // Small, as the lecture's imshow: about 480 px at most across.
  const size = Math.max(3, Math.min(14, Math.floor(480 / C), Math.floor(320 / R)));
  const m = Math.abs(worst) || 1;
  const pooled = pr > 1 || pc > 1
    ? [`each cell a block of ${pr} × ${pc} entries, drawn as its largest |difference|`]
    : [];
  const who = d.yoursLabel ?? "yours";
  return {
    $schema: SCHEMA,
    title: {
      text: title ?? `d${d.name}: ${who} − reference`,
      subtitle: [
        `${differing} of ${reference.data.length} entries differ; the largest, ` +
        `${fmt(worst)}, at d${d.name}${worstAt} (shape ${formatShape(shape)})`,
        "red: yours too low, blue: too high, white: equal; one colour scale, symmetric about 0",
        ...pooled,
      ],
    },
    config: CONFIG,
    name: "difference_cells",
    width: C * size,
    height: R * size,
    data: { values: cells },
    mark: { type: "rect" },
    encoding: {
      x: {
        field: "col",
        type: "ordinal",
        title: shape.length > 2 ? `dimensions ${shape.slice(1).join(" × ")}, flattened` : "column",
        axis: { labelAngle: 0, labelFontSize: 8, values: ticks(C) },
      },
      y: {
        field: "row",
        type: "ordinal",
        title: shape.length >= 2 ? "row" : null,
        axis: { labelFontSize: 8, values: ticks(R) },
      },
      color: {
        field: "diff",
        type: "quantitative",
        title: "yours − ref",
        scale: { scheme: "redblue", domain: [-m, m], domainMid: 0 },
      },
      tooltip: [
        { field: "at", title: "entry" },
        { field: "text", title: "yours − reference" },
      ],
    },
  } as VegaLiteSpec;
}

/** About ten axis labels over `n` rows or columns: 0, 5, 10, … */
function ticks(n: number): number[] {
  const step = [1, 2, 5, 10, 20, 50, 100].find((s) => n / s <= 12) ?? Math.ceil(n / 10);
  return Array.from({ length: Math.ceil(n / step) }, (_, i) => i * step);
}
