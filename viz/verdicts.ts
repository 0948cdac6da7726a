/**
 * Verdicts: how each node's hand-written gradient compares with a reference, as plain data the
 * charts draw (the gradient-flow graph marks each node, the comparison chart plots each row).
 * Any checker can produce it: `verdictsFromComparison` adapts the engine's `graph.compare`, and a
 * learner's `ninja check` report maps onto it as ok → exact or approximate, wrong → differs,
 * not written → "not written".
 *
 * ```ts
 * const verdicts: GraphVerdicts = {
 *   nodes: { h: { status: "exact" }, hpreact: { status: "differs", maxdiff: 0.41 } },
 *   firstDivergent: "hpreact",
 * };
 * gradientFlowGraphSpec(snapshotGraph(graph, grads), { verdicts });
 * ```
 * @module
 */
import type { Comparison } from "../graph/compare.ts";
import { formatShape } from "../ops/kernels/tensor.ts";
import { fmt } from "./spec.ts";

/** How one node's gradient compares; "not compared" for nodes the checker left out. */
export type VerdictStatus = "exact" | "approximate" | "differs" | "not written" | "not compared";

/** The statuses, best first. */
export const VERDICT_STATUSES: readonly VerdictStatus[] = [
  "exact",
  "approximate",
  "differs",
  "not written",
  "not compared",
];

/** One node's verdict. */
export interface NodeVerdict {
  /** How the node's gradient compares with the reference. */
  status: VerdictStatus;
  /** The largest |hand-written − reference|, where the checker measured it. */
  maxdiff?: number;
  /** One line for the tooltip: "wrong shape: got (64), want (1, 64)", "rule threw: …". */
  detail?: string;
}

/** A checker's verdicts on a graph's nodes. */
export interface GraphVerdicts {
  /**
   * Verdicts by node name (the label, as `graph.node(name)` finds it), in the order a table
   * lists them (the lecture's: backward order). Nodes left out count as "not compared".
   */
  nodes: Readonly<Record<string, NodeVerdict>>;
  /** The first node in backward order whose gradient is wrong: the place to look first. */
  firstDivergent?: string;
  /**
   * The rules to check first: the nodes whose hand-written rules made the first divergent
   * gradient (the nodes it feeds).
   */
  blame?: readonly string[];
  /**
   * What the checker says to do about the first divergent node (a hint naming the mistake),
   * written into the charts; default: that node's `detail`.
   */
  hint?: string;
  /** The tolerance of "approximate" (allclose's), when there is one. */
  tolerance?: { rtol: number; atol: number };
  /** What was compared with what, for subtitles (default "hand-written vs automatic"). */
  against?: string;
}

/** The verdicts of the engine's `graph.compare` (wrong shapes and failed rules as "differs"). */
export function verdictsFromComparison(cmp: Comparison): GraphVerdicts {
  const nodes: Record<string, NodeVerdict> = {};
  for (const r of cmp.rows) {
    const status: VerdictStatus = r.error || !r.shapeMatch || !r.approximate
      ? "differs"
      : r.exact
      ? "exact"
      : "approximate";
    const probe = r.probe && r.maxdiff <= r.tolerance ? r.probe : undefined;
    const detail = r.error
      ? r.error
      : !r.shapeMatch
      ? `wrong shape: got ${formatShape(r.shapeGot)}, want ${formatShape(r.shape)}`
      : probe
      ? `agrees on the true gradient${r.zeroInTruth ? " (zero in truth: rounding noise)" : ""}, ` +
        `but fed a random upstream gradient, the rule of ${probe.blame.name} is ` +
        `${fmt(probe.maxdiff)} off`
      : r.exact
      ? "bit-exact"
      : `max |difference| ${fmt(r.maxdiff)} (relative ${fmt(r.relerr)}), ${
        status === "differs" ? "above" : "within"
      } ${fmt(r.tolerance)}${
        r.zeroInTruth ? "; zero in truth: its gradient is rounding noise" : ""
      }`;
    nodes[r.name] = { status, maxdiff: r.maxdiff, detail };
  }
  return {
    nodes,
    firstDivergent: cmp.firstDivergent?.name,
    ...(cmp.judged === "allclose" ? { tolerance: { rtol: cmp.rtol!, atol: cmp.atol! } } : {}),
    ...(cmp.blame.length > 0 ? { blame: cmp.blame.map((b) => b.name) } : {}),
    against: "hand-written vs automatic",
  };
}

/** Counts per status, best first, leaving out zeros: "25 exact, 1 differs". */
export function verdictCounts(v: GraphVerdicts): string {
  const all = Object.values(v.nodes);
  return VERDICT_STATUSES.map((s) => [s, all.filter((n) => n.status === s).length] as const)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${s}`)
    .join(", ");
}
