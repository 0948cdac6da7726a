/**
 * The lecture's `cmp`, for a whole graph at once: run the automatic rules and the overridden
 * (hand-written) ones on the same forward values and compare every gradient, with a shape check
 * that the lecture's cmp lacked, and name the first node in backward order that diverges.
 */
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { Graph } from "./graph.ts";
import type { Node } from "./node.ts";
import { formatShape, sameShape, type Shape, Tensor } from "../ops/kernels/tensor.ts";

/** Options of `graph.compare`. */
export interface CompareOptions {
  /** Relative tolerance of "approximate" (default 1e-5, as torch.allclose). */
  rtol?: number;
  /** Absolute tolerance of "approximate" (default 1e-8). */
  atol?: number;
  /**
   * Which nodes get a row, in this order (default: every labelled node but the loss, in backward
   * order). A node fed by a hand-written rule that failed gets a row in any case, after these.
   */
  labels?: readonly string[];
  /** The upstream gradient of the loss (default ones of its shape). */
  seed?: Tensor;
}

/** One row of the comparison: one node's hand-written gradient against the automatic one. */
export interface ComparisonRow {
  /** The node's name (its label). */
  name: string;
  /** The node compared. */
  node: Node;
  /** The node's shape, which the automatic gradient has. */
  shape: Shape;
  /** Every element equal. */
  exact: boolean;
  /** |mine − auto| ≤ atol + rtol·|auto| everywhere, and the shapes match. */
  approximate: boolean;
  /** The largest absolute difference (NaN when the shapes differ). */
  maxdiff: number;
  /** Whether the hand-written gradient has the node's shape. */
  shapeMatch: boolean;
  /** The shape the hand-written side produced. */
  shapeGot: Shape;
  /** Whether this node's own rule is hand-written. */
  overridden: boolean;
  /** What went wrong in the rule feeding this gradient (threw, wrong shape, not finite). */
  error?: string;
}

/** The whole comparison. */
export interface Comparison {
  /** One row per compared node, in backward order. */
  rows: ComparisonRow[];
  /** The relative tolerance used. */
  rtol: number;
  /** The absolute tolerance used. */
  atol: number;
  /** The first row in backward order that is not approximate (or failed), if any. */
  firstDivergent: ComparisonRow | undefined;
}

/** See the module comment. */
export function compare(graph: Graph, loss: Node, options: CompareOptions = {}): Comparison {
  const rtol = options.rtol ?? 1e-5, atol = options.atol ?? 1e-8;
  // Every element of a non-scalar output counts once, as the lecture's cmp of a sum would.
  const seed = options.seed ?? Tensor.full(loss.shape, 1, graph.dtype);
  const auto = graph.backward(loss, { overrides: false, notify: false, seed });
  const failures = new Map<number, { message: string; shape?: Shape }>();
  const mine = graph.backward(loss, {
    overrides: true,
    notify: false,
    seed,
    // A failed rule is recorded against the input it feeds; the automatic gradient stands in
    // so that the rest of the comparison still runs.
    onRuleError: (f) => {
      const input = f.node.inputs[f.node.op!.inputs.indexOf(f.input)];
      failures.set(input.id, { message: f.message, shape: f.returnedShape });
      return f.automatic();
    },
  });
  const nodes = options.labels
    ? options.labels.map((l) => graph.node(l))
    : auto.nodes().filter((n) => n.label !== undefined && n !== loss); // the loss's own gradient is the seed
  // A failed rule always gets a row, even where it feeds a node left out (one without a label,
  // or not among `labels`): it is named by its op and position (`mul#3`).
  for (const id of failures.keys()) {
    if (!nodes.some((n) => n.id === id)) nodes.push(graph.nodes[id]);
  }
  if (!options.labels) nodes.sort((x, y) => y.id - x.id);
  const rows = nodes.map((node): ComparisonRow => {
    const a = auto.get(node), m = mine.get(node);
    if (!a || !m) {
      throw new NinjagradError(
        `${node.name} receives no gradient from ${loss.name}; leave it out of the comparison`,
      );
    }
    const failure = failures.get(node.id);
    const shapeGot = failure?.shape ?? m.shape;
    const shapeMatch = sameShape(shapeGot, node.shape) && sameShape(m.shape, a.shape);
    const { exact, approximate, maxdiff } = failure?.shape
      ? { exact: false, approximate: false, maxdiff: NaN }
      : diff(
        m,
        a,
        rtol,
        atol,
      );
    return {
      name: node.name,
      node,
      shape: node.shape,
      exact: exact && !failure,
      approximate: approximate && !failure,
      maxdiff,
      shapeMatch,
      shapeGot,
      overridden: node.override !== undefined,
      error: failure?.message,
    };
  });
  const backwardOrder = [...rows].sort((x, y) => y.node.id - x.node.id);
  const firstDivergent = backwardOrder.find((r) => !r.approximate || !r.shapeMatch);
  return { rows, rtol, atol, firstDivergent };
}

function diff(m: Tensor, a: Tensor, rtol: number, atol: number) {
  let exact = true, approximate = true, maxdiff = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = m.data[i], y = a.data[i];
    const d = Math.abs(x - y);
    if (x !== y) exact = false;
    if (!(d <= atol + rtol * Math.abs(y))) approximate = false;
    if (d > maxdiff || d !== d) maxdiff = d;
  }
  return { exact, approximate, maxdiff };
}

/**
 * The comparison as the lecture prints it, one line per node, with a shape column:
 * `logprobs        | exact: True  | approximate: True  | maxdiff: 0 | shape: ok`.
 */
export function formatComparison(cmp: Comparison): string {
  const width = Math.max(...cmp.rows.map((r) => r.name.length), 4);
  const bool = (b: boolean) => (b ? "True " : "False");
  const lines = cmp.rows.map((r) => {
    const shape = r.shapeMatch
      ? `ok ${formatShape(r.shape)}`
      : `got ${formatShape(r.shapeGot)}, want ${formatShape(r.shape)}`;
    return `${r.name.padEnd(width)} | exact: ${bool(r.exact)} | approximate: ${
      bool(r.approximate)
    } | maxdiff: ${formatDiff(r.maxdiff)} | shape: ${shape}`;
  });
  lines.push(
    `(approximate: allclose with rtol ${formatTolerance(cmp.rtol)}, atol ${
      formatTolerance(cmp.atol)
    })`,
  );
  lines.push(
    cmp.firstDivergent
      ? `first divergent node in backward order: ${cmp.firstDivergent.name}${
        cmp.firstDivergent.error ? ` (${cmp.firstDivergent.error})` : ""
      }`
      : "every node agrees",
  );
  return lines.join("\n");
}

function formatDiff(d: number): string {
  return d === 0 ? "0" : Number.isNaN(d) ? "n/a" : d.toExponential(2);
}

/** 1e-5 rather than 0.00001: tolerances read as the lecture writes them. */
export function formatTolerance(x: number): string {
  return x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential().replace(/\.0+e/, "e") : String(x);
}
