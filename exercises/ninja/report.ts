/**
 * `ninja check`'s report as a person reads it (a table of the nodes, the counts, the first wrong
 * node, what to write next) and as plain data (`--json`, the charts).
 */
import type { CheckReport } from "./check.ts";
import { formatLocation, type SourceLocation } from "./source.ts";

/** Options of {@link formatCheck}. */
export interface FormatOptions {
  /** Only the nodes whose rules are written (the notebook's table after each part). */
  writtenOnly?: boolean;
  /** Shows the lines of the learner's file where a rule threw. */
  excerpt?: (loc: SourceLocation) => string;
}

/** The counts in a line: `26 gradients: 25 ok, 1 wrong, 0 not written (30 of 30 rules written)`. */
export function formatCounts(report: CheckReport): string {
  const { ok, wrong } = report.counts, missing = report.counts["not written"];
  const n = report.nodes.length;
  return `${n} gradient${n > 1 ? "s" : ""}: ${ok} ok, ${wrong} wrong, ${missing} not written ` +
    `(${report.rules.written} of ${report.rules.total} rule${
      report.rules.total > 1 ? "s" : ""
    } written)`;
}

/** The report as a table, with the first wrong node and what to write next. */
export function formatCheck(report: CheckReport, options: FormatOptions = {}): string {
  const shown = options.writtenOnly
    ? report.nodes.filter((v) => v.status !== "not written")
    : report.nodes;
  const nw = Math.max(...report.nodes.map((v) => v.name.length), 4);
  const lines = shown.length === 0 ? [] : [
    `${"node".padEnd(nw)}  ${"status".padEnd(11)}  detail`,
    ...shown.map((v) => `${v.name.padEnd(nw)}  ${v.status.padEnd(11)}  ${v.detail}`),
    "",
  ];
  lines.push(formatCounts(report) + ".");
  const first = report.firstWrong;
  if (first) {
    lines.push(`first wrong node in backward order: ${first.name} (${first.forward})`);
    if (first.location) {
      lines.push(`  your rule threw at ${formatLocation(first.location)}:`);
      const text = options.excerpt?.(first.location);
      if (text) lines.push(text);
    }
  }
  if (report.nextToWrite) {
    lines.push(`next to write: ${report.nextToWrite.name} (${report.nextToWrite.forward})`);
  }
  if (!first && !report.nextToWrite) {
    lines.push("every gradient agrees with the engine's: you are a backprop ninja.");
  }
  return lines.join("\n");
}

/** The report as plain data: what `ninja check --json` prints, and what charts can read. */
export function reportData(report: CheckReport) {
  return {
    exercise: report.exercise,
    title: report.title,
    ok: report.counts.ok === report.nodes.length,
    counts: report.counts,
    rules: report.rules,
    firstWrong: report.firstWrong?.name ?? null,
    nextToWrite: report.nextToWrite?.name ?? null,
    nodes: report.nodes.map((v) => ({
      name: v.name,
      status: v.status,
      shape: [...v.shape],
      exact: v.exact,
      maxdiff: Number.isFinite(v.maxdiff) ? v.maxdiff : null,
      relerr: Number.isFinite(v.relerr) ? v.relerr : null,
      detail: v.detail,
      first: v === report.firstWrong,
      mistake: v.mistake ?? null,
      mutant: v.mutant ?? null,
      location: v.location ?? null,
      zeroInTruth: v.zeroInTruth === true,
    })),
  };
}
