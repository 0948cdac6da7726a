/**
 * Chart 8, the lecture's cmp table as a chart: per node, the largest difference between the
 * hand-written gradient and the reference, on a log scale, the verdict as a glyph (✓ ≈ ✗ ○, the
 * shape says it, the Okabe–Ito colour repeats it). A bit-exact zero has no place on a log scale,
 * so it is drawn at a floor that the subtitle names; wrong shapes and failed rules at the right
 * edge. A dashed line marks allclose's atol (any difference below it passes), another the
 * exercise's own threshold where it has one; the rows the exercise tests are marked, and so is
 * the first node that diverges in backward order. Rows follow `order` (graphCharts gives the
 * order backward completes the gradients, viz/backward_order.ts), whatever order the checker
 * lists them in. A rule not written yet has no difference to plot: it sits at the right edge
 * with the failed ones, marked "not written", never at the floor of bit-exact rows.
 */
import type { Comparison } from "../../graph/compare.ts";
import { CONFIG, fmt, rowsInOrder, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import {
  type GraphVerdicts,
  VERDICT_STATUSES,
  verdictCounts,
  verdictsFromComparison,
} from "../verdicts.ts";
import { OKABE_ITO, STATUS_GLYPHS } from "../glyphs.ts";

/** Options of `comparisonSpec`. */
export interface ComparisonOptions {
  /** Chart title (default "Hand-written vs automatic gradients"). */
  title?: string;
  /** The rows the exercise tests (exercise 2: logits; 3: hprebn), marked as such. */
  focus?: readonly string[];
  /** Who tests them, for the mark ("exercise 2"). */
  focusLabel?: string;
  /** The exercise's own limit on maxdiff, drawn as a second line (exercises 2 and 3: 1e-7). */
  threshold?: number;
  /**
   * The rows' order, by name (default: the checker's). Rows it leaves out follow, in the
   * checker's order.
   */
  order?: readonly string[];
}

/** The floor exact zeros are drawn at: a decade below the smallest difference, at most 1e-12. */
export function comparisonFloor(maxdiffs: readonly number[]): number {
  const finite = maxdiffs.filter((d) => Number.isFinite(d) && d > 0);
  const smallest = finite.length ? Math.min(...finite) : 1e-9;
  return 10 ** Math.min(-12, Math.floor(Math.log10(smallest)) - 1);
}

/** The comparison chart (see the module comment), of the engine's comparison or any verdicts. */
export function comparisonSpec(
  input: Comparison | GraphVerdicts,
  options: ComparisonOptions | string = {},
): VegaLiteSpec {
  const opts = typeof options === "string" ? { title: options } : options;
  const v = "rows" in input ? verdictsFromComparison(input) : input;
  const entries = inOrder(
    Object.entries(v.nodes).filter(([, n]) => n.status !== "not compared"),
    opts.order,
  );
  const diffs = entries.map(([, n]) => (n.status === "not written" ? NaN : n.maxdiff ?? NaN));
  const finite = diffs.filter((d) => Number.isFinite(d) && d > 0);
  const floor = comparisonFloor(diffs);
  const largest = Math.max(finite.length ? Math.max(...finite) : 1e-9, opts.threshold ?? 0);
  const ceiling = 10 ** Math.max(0, Math.ceil(Math.log10(largest)) + 1);
  const focus = new Set(opts.focus ?? []);
  const names = entries.map(([name]) => name);
  const rows = entries.map(([name, n]) => {
    const d = n.maxdiff;
    // A rule not written yet: whatever the engine's own rule gave is not the learner's result.
    const blank = n.status === "not written";
    const measured = !blank && d !== undefined && Number.isFinite(d);
    return {
      name,
      status: n.status,
      plotted: !measured ? ceiling : d === 0 ? floor : d,
      maxdiff: blank ? "n/a (not written)" : !measured ? "n/a" : d === 0 ? "0 (bit-exact)" : fmt(d),
      blank,
      detail: n.detail ?? "",
      first: name === v.firstDivergent,
      focus: focus.has(name),
    };
  });
  const y = rowsInOrder("name", names);
  const x = {
    field: "plotted",
    type: "quantitative" as const,
    title: "max |hand-written − reference| (log scale)",
    // Not flush: a last label flush with the end was hidden as overlapping its neighbour.
    axis: { format: "~e", grid: true, labelFlush: false },
    scale: { type: "log" as const, domain: [floor / 3, ceiling], nice: false },
  };
  const tooltip = [
    { field: "name", title: "node" },
    { field: "status" },
    { field: "maxdiff" },
    { field: "detail" },
  ];
  const lines: { at: number; label: string }[] = [];
  if (v.tolerance) lines.push({ at: v.tolerance.atol, label: "atol" });
  if (opts.threshold !== undefined) lines.push({ at: opts.threshold, label: "limit" });
  const tol = v.tolerance;
  const subtitle = [
    `${verdictCounts(v)}${
      tol ? `; approximate = allclose(rtol ${fmt(tol.rtol)}, atol ${fmt(tol.atol)})` : ""
    }`,
    `0 (bit-exact) is drawn at the floor ${fmt(floor)}; no measure (not written, wrong shape, ` +
    "failed rule) at the right edge",
    v.firstDivergent
      ? `first divergent node in backward order: ${v.firstDivergent} (◀)`
      : "every node agrees",
  ];
  if (lines.length) {
    subtitle.push(
      "dashed: " + [
        ...(tol ? [`atol ${fmt(tol.atol)}, below which any difference is approximate`] : []),
        ...(opts.threshold !== undefined
          ? [`the limit ${opts.focusLabel ?? "the exercise"} sets, ${fmt(opts.threshold)}`]
          : []),
      ].join("; "),
    );
  }
  if (focus.size) {
    const rows = focus.size > 1 ? "rows" : "row";
    subtitle.push(`shaded: the ${rows} ${opts.focusLabel ?? "the exercise"} tests`);
  }
  const statuses = VERDICT_STATUSES.filter((s) => s !== "not compared");
  return {
    $schema: SCHEMA,
    title: { text: opts.title ?? "Hand-written vs automatic gradients", subtitle },
    width: 520,
    height: Math.max(120, rows.length * 20),
    config: CONFIG,
    layer: [
      {
        name: "focus_rows",
        data: { values: rows.filter((r) => r.focus) },
        mark: { type: "rect", color: "#F0E442", opacity: 0.35 },
        encoding: { y },
      },
      {
        // No line for a rule not written: it has no difference to run out to.
        data: { values: rows.filter((r) => !r.blank) },
        mark: { type: "rule", color: "#ccc" },
        encoding: { y, x, x2: { datum: floor / 3 } },
      },
      {
        data: { values: lines },
        layer: [
          {
            mark: { type: "rule", strokeDash: [5, 3], color: "#444" },
            encoding: { x: { field: "at", type: "quantitative" } },
          },
          {
            mark: {
              type: "text",
              align: "left",
              baseline: "bottom",
              dx: -2,
              dy: -4,
              y: 0,
              angle: 0,
              fontSize: 10,
              color: "#444",
            },
            encoding: { x: { field: "at", type: "quantitative" }, text: { field: "label" } },
          },
        ],
      },
      {
        name: "verdicts",
        data: { values: rows },
        mark: { type: "point", filled: true, size: 110, opacity: 1, strokeWidth: 0 },
        encoding: {
          y,
          x,
          tooltip,
          shape: {
            field: "status",
            type: "nominal",
            title: "verdict",
            scale: { domain: statuses, range: statuses.map((s) => STATUS_GLYPHS[s]) },
            legend: { orient: "bottom" },
          },
          color: {
            field: "status",
            type: "nominal",
            title: "verdict",
            scale: { domain: statuses, range: statuses.map((s) => OKABE_ITO[s]) },
            legend: { orient: "bottom" },
          },
        },
      },
      {
        name: "first_divergent",
        data: { values: rows.filter((r) => r.first) },
        mark: {
          type: "text",
          text: "◀ first divergent",
          align: "left",
          dx: 10,
          fontWeight: "bold",
          color: OKABE_ITO.differs,
        },
        encoding: { y, x },
      },
      {
        name: "not_written",
        data: { values: rows.filter((r) => r.blank && !r.first) },
        mark: { type: "text", text: "not written", align: "right", dx: -10, color: "#555" },
        encoding: { y, x },
      },
      {
        name: "focus_mark",
        data: { values: rows.filter((r) => r.focus && !r.first && !r.blank) },
        mark: {
          type: "text",
          text: `◀ ${opts.focusLabel ?? "tested here"}`,
          align: "left",
          dx: 10,
          color: "#333",
        },
        encoding: { y, x },
      },
    ],
  } as VegaLiteSpec;
}

/** Entries sorted by `order` (those it leaves out after, as they came). */
function inOrder<T>(entries: [string, T][], order: readonly string[] | undefined): [string, T][] {
  if (!order) return entries;
  const at = new Map(order.map((name, i) => [name, i]));
  const key = (name: string, i: number) => at.get(name) ?? order.length + i;
  return entries.map((e, i) => ({ e, k: key(e[0], i) })).sort((a, b) => a.k - b.k).map((x) => x.e);
}
