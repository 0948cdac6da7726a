/**
 * A graph snapshot: plain data read off a graph (and, after a backward pass, its gradients) at
 * one moment, so that the chart builders are pure functions of data and never touch live nodes.
 */
import type { Gradients } from "../graph/backward.ts";
import type { Graph } from "../graph/graph.ts";
import type { NodeKind } from "../graph/node.ts";
import { formatShape } from "../ops/kernels/tensor.ts";
import { layoutGraph } from "./layout.ts";
import { type TensorStats, tensorStats } from "./stats.ts";

/** Which rule computes a node's input gradients. */
export type RuleKind = "auto" | "hand-written" | "leaf";

/** One node of a snapshot. */
export interface SnapshotNode {
  id: number;
  /** The label, or `op#id` for unlabelled nodes. */
  name: string;
  /** What the chart writes beside the node: the label, a constant's value, or the op. */
  text: string;
  /** The op's name; null for leaves. */
  op: string | null;
  kind: NodeKind;
  /** Whether the op is a composite (a subgraph, such as cross_entropy). */
  composite: boolean;
  shape: number[];
  /** The shape as the lecture prints it: `(32, 27)`. */
  shapeText: string;
  /** Column of the left-to-right layout (topological depth). */
  depth: number;
  /** Row within the column, centred on 0. */
  row: number;
  /** Whether a hand-written rule replaces this node's own (node.override is set). */
  overridden: boolean;
  rule: RuleKind;
  value: TensorStats;
  /** Statistics of the gradient; null when none reached the node (or no backward ran). */
  grad: TensorStats | null;
}

/** An edge from an input to the node that consumes it. */
export interface SnapshotEdge {
  from: number;
  to: number;
  /** The op's name for this input (`a`, `w`, `idx`). */
  input: string;
  /** False for inputs that carry no gradient (integer indices, constants). */
  carriesGrad: boolean;
}

/** A graph at one moment, as plain data. */
export interface GraphSnapshot {
  nodes: SnapshotNode[];
  edges: SnapshotEdge[];
  /** Whether gradients were given: false means the graph is drawn before any backward pass. */
  hasGradients: boolean;
  /** Number of layout columns. */
  columns: number;
  /** The most nodes any column holds. */
  maxRows: number;
}

/** Reads a snapshot off `graph`; pass the result of `graph.backward(loss)` to include gradients. */
export function snapshotGraph(graph: Graph, grads?: Gradients): GraphSnapshot {
  const placements = layoutGraph(
    graph.nodes.map((n) => ({ id: n.id, inputs: n.inputs.map((x) => x.id), leaf: !n.op })),
  );
  const nodes = graph.nodes.map((n, i): SnapshotNode => {
    const g = grads?.get(n);
    return {
      id: n.id,
      name: n.name,
      text: n.label ?? (n.kind === "constant" ? constantText(n.value.data) : n.op?.name ?? n.kind),
      op: n.op?.name ?? null,
      kind: n.kind,
      composite: n.op?.kind === "composite",
      shape: [...n.shape],
      shapeText: formatShape(n.shape),
      depth: placements[i].depth,
      row: placements[i].row,
      overridden: n.override !== undefined,
      rule: !n.op ? "leaf" : n.override !== undefined ? "hand-written" : "auto",
      value: tensorStats(n.value.data),
      grad: g ? tensorStats(g.data) : null,
    };
  });
  const edges = graph.nodes.flatMap((n) =>
    n.inputs.map((x, j): SnapshotEdge => ({
      from: x.id,
      to: n.id,
      input: n.op!.inputs[j],
      carriesGrad: x.requiresGrad && !n.op!.nondiff.includes(n.op!.inputs[j]),
    }))
  );
  const perColumn = new Map<number, number>();
  for (const p of placements) perColumn.set(p.depth, (perColumn.get(p.depth) ?? 0) + 1);
  return {
    nodes,
    edges,
    hasGradients: grads !== undefined,
    columns: perColumn.size === 0 ? 0 : Math.max(...perColumn.keys()) + 1,
    maxRows: Math.max(0, ...perColumn.values()),
  };
}

function constantText(data: ArrayLike<number>): string {
  if (data.length !== 1) return "const";
  const v = data[0];
  if (Number.isInteger(v) || Math.abs(v) >= 1e-3) return Number(v.toPrecision(3)).toString();
  return v.toExponential(2).replace(/\.?0+e/, "e"); // 1e-5, not 0.00001
}
