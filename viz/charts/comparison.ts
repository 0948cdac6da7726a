/**
 * Chart 8, the lecture's cmp table as a chart: per node, the largest difference between the
 * hand-written gradient and the automatic one, on a log scale. A bit-exact zero has no place on a
 * log scale, so it is drawn at a floor that the subtitle names; the first node that diverges in
 * backward order is marked.
 */
import type { Comparison, ComparisonRow } from "../../graph/compare.ts";
import { formatShape } from "../../ops/kernels/tensor.ts";
import { CONFIG, fmt, rowsInOrder, SCHEMA, type VegaLiteSpec } from "../spec.ts";

/** How a row compared, worst last. */
export type RowStatus = "exact" | "approximate" | "differs" | "wrong shape" | "rule failed";

const STATUSES: RowStatus[] = ["exact", "approximate", "differs", "wrong shape", "rule failed"];
const COLOURS = ["#2ca02c", "#1f77b4", "#ff7f0e", "#d62728", "#7f1d1d"];

/** The status of one comparison row. */
export function rowStatus(r: ComparisonRow): RowStatus {
  if (r.error) return "rule failed";
  if (!r.shapeMatch) return "wrong shape";
  if (r.exact) return "exact";
  return r.approximate ? "approximate" : "differs";
}

/** The comparison chart (see the module comment). */
export function comparisonSpec(
  cmp: Comparison,
  title = "Hand-written vs automatic gradients",
): VegaLiteSpec {
  const finite = cmp.rows.map((r) => r.maxdiff).filter((d) => Number.isFinite(d) && d > 0);
  const smallest = finite.length ? Math.min(...finite) : 1e-9;
  const largest = finite.length ? Math.max(...finite) : 1e-9;
  // One decade below the smallest real difference, and never above 1e-12: zeros sit apart.
  const floor = 10 ** Math.min(-12, Math.floor(Math.log10(smallest)) - 1);
  const ceiling = 10 ** Math.max(0, Math.ceil(Math.log10(largest)) + 1);
  const names = cmp.rows.map((r) => r.name);
  const first = cmp.firstDivergent?.name;
  const rows = cmp.rows.map((r) => {
    const status = rowStatus(r);
    const d = r.maxdiff;
    return {
      name: r.name,
      status,
      plotted: d === 0 ? floor : Number.isFinite(d) ? d : ceiling,
      maxdiff: d === 0 ? "0 (bit-exact)" : Number.isNaN(d) ? "n/a (shapes differ)" : fmt(d),
      shape: r.shapeMatch
        ? formatShape(r.shape)
        : `got ${formatShape(r.shapeGot)}, want ${formatShape(r.shape)}`,
      rule: !r.node.op ? "leaf" : r.overridden ? "hand-written" : "auto",
      exact: r.exact ? "True" : "False",
      approximate: r.approximate ? "True" : "False",
      error: r.error ?? "",
      first: r.name === first,
    };
  });
  const counts = STATUSES.map((s) => [s, rows.filter((r) => r.status === s).length] as const)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${s}`);
  const y = rowsInOrder("name", names);
  const x = {
    field: "plotted",
    type: "quantitative" as const,
    title: "max |hand-written − automatic|",
    axis: { format: "~e" },
    scale: { type: "log" as const, domain: [floor / 3, ceiling] },
  };
  const tooltip = [
    { field: "name", title: "node" },
    { field: "status" },
    { field: "exact" },
    { field: "approximate" },
    { field: "maxdiff" },
    { field: "shape" },
    { field: "rule" },
    { field: "error" },
  ];
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: [
        `${counts.join(", ")}; approximate = allclose(rtol ${fmt(cmp.rtol)}, atol ${
          fmt(cmp.atol)
        })`,
        `0 (bit-exact) is drawn at the floor ${fmt(floor)}; wrong shapes at the right edge`,
        first ? `first divergent node in backward order: ${first} (▶)` : "every node agrees",
      ],
    },
    width: 520,
    height: Math.max(120, rows.length * 20),
    config: CONFIG,
    layer: [
      {
        data: { values: rows },
        mark: { type: "rule", color: "#bbb" },
        encoding: { y, x, x2: { datum: floor / 3 } },
      },
      {
        data: { values: rows },
        mark: { type: "point", filled: true, size: 90, opacity: 1 },
        encoding: {
          y,
          x,
          tooltip,
          color: {
            field: "status",
            type: "nominal",
            title: "compares",
            scale: { domain: STATUSES, range: COLOURS },
            legend: { orient: "top" },
          },
          shape: {
            field: "rule",
            type: "nominal",
            title: "node's rule",
            scale: {
              domain: ["auto", "hand-written", "leaf"],
              range: ["circle", "diamond", "square"],
            },
            legend: { orient: "top" },
          },
        },
      },
      {
        name: "first_divergent",
        data: { values: rows.filter((r) => r.first) },
        mark: {
          type: "text",
          text: "▶ first divergent",
          align: "left",
          dx: 9,
          fontWeight: "bold",
          color: "#d62728",
        },
        encoding: { y, x },
      },
    ],
  };
}
