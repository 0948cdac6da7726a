/**
 * A check report as the charts' verdicts, apart from the files that `ninja check --charts`
 * writes, so that the page (exercises/site) draws the same verdicts without a file system.
 * @module
 */
import type { CheckReport } from "../ninja/check.ts";
import type { GraphVerdicts, NodeVerdict, VerdictStatus } from "../../viz/verdicts.ts";

/** A check report as the charts' verdicts: ok → exact or approximate, wrong → differs. */
export function verdictsFromCheck(report: CheckReport): GraphVerdicts {
  const nodes: Record<string, NodeVerdict> = {};
  for (const n of report.nodes) {
    const status: VerdictStatus = n.status === "wrong"
      ? "differs"
      : n.status === "not written"
      ? "not written"
      : n.exact
      ? "exact"
      : "approximate";
    nodes[n.name] = {
      status,
      ...(Number.isFinite(n.maxdiff) ? { maxdiff: n.maxdiff } : {}),
      detail: n.detail,
    };
  }
  return {
    nodes,
    firstDivergent: report.firstWrong?.name,
    against: "your rules vs the engine's",
  };
}
