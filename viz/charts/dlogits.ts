/**
 * Chart 7, exercise 2's picture: dlogits = (softmax(logits) − onehot(Yb)) / n as a heatmap, batch
 * rows by vocabulary columns. Each row holds one negative cell (the target, pulled up) and small
 * positive ones (every other letter, pushed down by its probability): the row sums to ~0.
 */
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";

/** A (batch, vocab) matrix: a Tensor fits. */
export interface Matrix {
  /** The `batch · vocab` entries in row-major order: one example's row after another. */
  data: ArrayLike<number>;
  /** `[batch, vocab]`: exactly two dimensions (`dlogitsHeatmapSpec` throws otherwise). */
  shape: readonly number[];
}

/** The heatmap, with each row's sum beside it; `vocab` names the columns (default 0..V−1). */
export function dlogitsHeatmapSpec(
  dlogits: Matrix,
  vocab?: readonly string[],
  title = "dlogits",
): VegaLiteSpec {
  if (dlogits.shape.length !== 2) {
    throw new NinjagradError(
      `dlogits must be (batch, vocab), got shape (${dlogits.shape.join(", ")})`,
    );
  }
  const [n, v] = dlogits.shape;
  const names = Array.from({ length: v }, (_, j) => vocab?.[j] ?? String(j));
  const cells = [];
  const sums = [];
  let maxAbsSum = 0, min = 0, max = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < v; j++) {
      const x = dlogits.data[i * v + j];
      s += x;
      min = Math.min(min, x);
      max = Math.max(max, x);
      cells.push({ row: i, col: names[j], value: x, text: fmt(x) });
    }
    maxAbsSum = Math.max(maxAbsSum, Math.abs(s));
    sums.push({ row: i, sum: s, text: fmt(s) });
  }
  const cell = 15;
  const y = {
    field: "row",
    type: "ordinal" as const,
    title: "example in the batch",
    axis: { labelFontSize: 9 },
  };
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: [
        "(softmax(logits) − onehot(Yb)) / n: the target's cell is negative (pulled up), the",
        "others positive (pushed down by their probability). Each side of 0 has its own colour",
        `scale, red down to ${fmt(min)}, blue up to ${fmt(max)}, as the lecture's auto-scaled ` +
        "imshow",
        `every row sums to ~0: the largest |row sum| is ${fmt(maxAbsSum)} (right column)`,
      ],
    },
    config: CONFIG,
    spacing: 6,
    hconcat: [
      {
        name: "dlogits_cells",
        width: v * cell,
        height: n * cell,
        data: { values: cells },
        mark: { type: "rect" },
        encoding: {
          x: {
            field: "col",
            type: "ordinal",
            title: "vocabulary",
            sort: names,
            axis: { labelAngle: 0 },
          },
          y,
          color: {
            field: "value",
            type: "quantitative",
            title: "dlogits",
            // Auto-scaled on each side of 0, as imshow scales to the data: with one symmetric
            // scale the small positive cells would all look white.
            scale: { scheme: "redblue", domainMid: 0, domain: [min || -1, max || 1] },
            // Swatches, not a gradient bar: a bar would give each side room by its value range,
            // and the positive side would shrink to a sliver.
            legend: {
              orient: "right",
              type: "symbol",
              values: [min, min / 2, 0, max / 2, max].map((x) => Number(x.toPrecision(2))),
              symbolType: "square",
              symbolSize: 160,
              format: "~g",
            },
          },
          tooltip: [
            { field: "row", title: "example" },
            { field: "col", title: "letter" },
            { field: "text", title: "dlogits" },
          ],
        },
      },
      {
        width: 64,
        height: n * cell,
        data: { values: sums },
        mark: { type: "text", fontSize: 9, align: "right", x: 62 },
        encoding: {
          y: { ...y, axis: null },
          text: { field: "text" },
          tooltip: [{ field: "row", title: "example" }, { field: "text", title: "row sum" }],
        },
        title: { text: "row sum", fontSize: 11, fontWeight: "normal", anchor: "end" },
      },
    ],
  };
}
