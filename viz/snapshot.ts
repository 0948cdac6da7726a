/**
 * A graph snapshot: plain data read off a graph (and, after a backward pass, its gradients) at
 * one moment, so that the chart builders are pure functions of data and never touch live nodes.
 */
import type { Gradients } from "../graph/backward.ts";
import { zeroInTruth } from "../graph/compare.ts";
import type { Graph } from "../graph/graph.ts";
import type { Node, NodeKind } from "../graph/node.ts";
import { formatShape } from "../ops/kernels/tensor.ts";
import { type TensorStats, tensorStats } from "./stats.ts";
import { fmt } from "./spec.ts";

/** Which rule computes a node's input gradients. */
export type RuleKind = "auto" | "hand-written" | "leaf";

/** One node of a snapshot. */
export interface SnapshotNode {
  /** The node's id: its position in the graph's creation order (a topological order). */
  id: number;
  /** The label, or `op#id` for unlabelled nodes: the key a comparison's verdicts use. */
  name: string;
  /**
   * What the chart writes as the node's name: its lecture name; for an unlabelled op the
   * expression it computes from named inputs (`embcat @ W1`), else the op; for a constant the
   * name the lecture gives it (`1/n`, `1/(n−1)`, `eps`) where it can tell, else its value.
   */
  text: string;
  /** The line under it: the shape, or a constant's value. */
  detail: string;
  /** The op's name; null for leaves. */
  op: string | null;
  /** What the node is: a parameter, input or constant leaf, or an op application. */
  kind: NodeKind;
  /** Whether the op is a composite (a subgraph, such as cross_entropy). */
  composite: boolean;
  /** The shape of the node's value (a copy), outermost dimension first. */
  shape: number[];
  /** The shape as the lecture prints it: `(32, 27)`. */
  shapeText: string;
  /** Whether a hand-written rule replaces this node's own (node.override is set). */
  overridden: boolean;
  /** Which rule computes its inputs' gradients: the op's own, a hand-written one, or none. */
  rule: RuleKind;
  /** Statistics of the node's value when the snapshot was taken (its last forward value). */
  value: TensorStats;
  /** Statistics of the gradient; null when none reached the node (or no backward ran). */
  grad: TensorStats | null;
  /**
   * The gradient is rounding noise: zero in exact arithmetic (b1, whose shift batchnorm removes;
   * logit_maxes, which softmax ignores), as the engine's probe decides it (the automatic
   * gradient does not scale with a scaled seed), never from its size.
   */
  roundingNoise: boolean;
  /** Whether nothing consumes the node (the loss): its gradient is the seed of backward. */
  sink: boolean;
  /**
   * The scopes it was made in (`graph.scope`, which nn modules' forward opens), outermost
   * first, each its full path (`["h.0", "h.0.attn"]`): big graphs are drawn grouped by them.
   */
  scope: string[];
}

/** An edge from an input to the node that consumes it: one per operand use. */
export interface SnapshotEdge {
  /** The id of the input node. */
  from: number;
  /** The id of the node that consumes it. */
  to: number;
  /** The op's name for this input (`a`, `w`, `idx`). */
  input: string;
  /** False for inputs that carry no gradient (integer indices, constants). */
  carriesGrad: boolean;
  /**
   * True where the node reads only the input's shape, never its values: the `like` input that
   * ops given a live size (`idx.size(0)`) or `reshapeLike` take. Grouped views leave these out.
   */
  shapeOnly?: boolean;
}

/** A graph at one moment, as plain data. */
export interface GraphSnapshot {
  /** Every node of the graph, in creation order (a topological order). */
  nodes: SnapshotNode[];
  /** Every operand use, node by node in creation order, each node's inputs in the op's order. */
  edges: SnapshotEdge[];
  /** Whether gradients were given: false means the graph is drawn before any backward pass. */
  hasGradients: boolean;
  /** The graph's float dtype. */
  dtype: "float32" | "float64";
}

/**
 * The nodes whose gradient is zero in exact arithmetic, as the engine's probe finds them (a rerun
 * with the seed scaled: rounding noise does not scale). The loss is the last node with a gradient,
 * its gradient the seed. None where the ops' own rules cannot run.
 */
function zeroGradients(graph: Graph, grads: Gradients | undefined): ReadonlySet<Node> {
  if (!grads) return new Set();
  const loss = [...graph.nodes].reverse().find((n) => grads.get(n) !== undefined);
  if (!loss) return new Set();
  try {
    return zeroInTruth(graph, loss, grads.get(loss)!.clone());
  } catch {
    return new Set();
  }
}

/** Reads a snapshot off `graph`; pass the result of `graph.backward(loss)` to include gradients. */
export function snapshotGraph(graph: Graph, grads?: Gradients): GraphSnapshot {
  const consumers = new Map<Node, Node[]>();
  for (const n of graph.nodes) {
    for (const x of n.inputs) consumers.set(x, [...(consumers.get(x) ?? []), n]);
  }
  const gradOf = (n: Node) => {
    const g = grads?.get(n);
    return g ? tensorStats(g.data) : null;
  };
  const stats = new Map(graph.nodes.map((n) => [n, gradOf(n)]));
  const noise = zeroGradients(graph, grads);
  const constants = new Map<Node, string>();
  for (const n of graph.nodes) {
    const name = n.kind === "constant" ? constantName(n, consumers.get(n) ?? []) : undefined;
    if (name !== undefined) constants.set(n, name);
  }
  const nodes = graph.nodes.map((n): SnapshotNode => {
    const g = stats.get(n)!;
    const constant = constants.get(n);
    return {
      id: n.id,
      name: n.name,
      text: n.label ?? constant ?? expression(n, constants) ?? n.op?.name ?? n.kind,
      detail: detailOf(n, constant),
      op: n.op?.name ?? null,
      kind: n.kind,
      composite: n.op?.kind === "composite",
      shape: [...n.shape],
      shapeText: formatShape(n.shape),
      overridden: n.override !== undefined,
      rule: !n.op ? "leaf" : n.override !== undefined ? "hand-written" : "auto",
      value: tensorStats(n.value.data),
      grad: g,
      roundingNoise: g !== null && g.meanAbs > 0 && noise.has(n), // exact zeros are not noise
      sink: !consumers.has(n),
      scope: [...n.scope],
    };
  });
  const edges = graph.nodes.flatMap((n) =>
    n.inputs.map((x, j): SnapshotEdge => ({
      from: x.id,
      to: n.id,
      input: n.op!.inputs[j],
      carriesGrad: x.requiresGrad && !n.op!.nondiff.includes(n.op!.inputs[j]),
      ...(n.op!.inputs[j] === "like" ? { shapeOnly: true } : {}),
    }))
  );
  return { nodes, edges, hasGradients: grads !== undefined, dtype: graph.dtype };
}

/** The line under a node's name. */
function detailOf(n: Node, constant: string | undefined): string {
  if (n.kind === "constant") {
    const v = n.value.data.length === 1 ? fmt(n.value.data[0]) : formatShape(n.shape);
    return constant === undefined ? "constant" : constant.startsWith("1/") ? `= ${v}` : v;
  }
  return formatShape(n.shape);
}

/**
 * What an unlabelled op computes, written the lecture's way from its named inputs (`embcat @ W1`,
 * `hprebn.sum(0)`); undefined where an input has no name, or the op has no short form.
 */
function expression(n: Node, constants: ReadonlyMap<Node, string>): string | undefined {
  const names = n.inputs.map((x) =>
    x.label ?? constants.get(x) ??
      (x.kind === "constant" && x.value.data.length === 1 ? fmt(x.value.data[0]) : null)
  );
  if (names.some((s) => s === null)) return undefined;
  const [a, b] = names as string[];
  const attrs = (n.attrs ?? {}) as Record<string, unknown>;
  const infix: Record<string, string> = { add: "+", sub: "−", mul: "·", div: "/" };
  let text: string | undefined;
  const op = n.op?.name;
  if (op === "matmul") {
    text = `${a}${attrs.transA ? "ᵀ" : ""} @ ${b}${attrs.transB ? "ᵀ" : ""}`;
  } else if (op && infix[op] && names.length === 2) text = `${a} ${infix[op]} ${b}`;
  else if ((op === "sum" || op === "mean" || op === "max") && names.length === 1) {
    text = attrs.axis === undefined || attrs.axis === null
      ? `${a}.${op}()`
      : `${a}.${op}(${attrs.axis})`;
  } else if (op === "pick" && names.length === 2) text = `${a}[·, ${b}]`;
  return text !== undefined && text.length <= 18 ? text : undefined;
}

/**
 * The lecture's name for a constant, from how it is used: `1/n` and `1/(n−1)` where it scales a
 * sum over an axis of n entries (a mean, Bessel's variance), `eps` where a small one is added.
 */
function constantName(c: Node, users: readonly Node[]): string | undefined {
  if (c.value.data.length !== 1) return undefined;
  const v = c.value.data[0];
  const near = (x: number) => Math.abs(v - x) <= 1e-6 * Math.abs(x);
  for (const u of users) {
    const other = u.inputs.find((x) => x !== c);
    if (u.op?.name === "mul" && other?.op?.name === "sum") {
      const axis = (other.attrs as { axis?: number } | undefined)?.axis;
      const shape = other.inputs[0].shape;
      const n = typeof axis === "number" ? shape[axis < 0 ? shape.length + axis : axis] : undefined;
      if (n !== undefined && near(1 / n)) return "1/n";
      if (n !== undefined && n > 1 && near(1 / (n - 1))) return "1/(n−1)";
    }
    if (u.op?.name === "add" && v > 0 && v < 1e-3) return "eps";
  }
  return undefined;
}
