/**
 * A big graph drawn by its modules: the nodes made under one scope (`graph.scope`, which nn
 * modules' forward opens: `h.0`, `h.0.attn`, a GRU cell's `cell#7`) are drawn as one block, so
 * a 4-layer Transformer or a GRU unrolled over 16 steps fits one screen, and reshape bookkeeping
 * (a Linear's view → linear → view) stays inside its layer. A view names the one block opened
 * (with the blocks around it): inside it, its nodes and its own sub-blocks are drawn.
 */
import type { GraphSnapshot, SnapshotEdge, SnapshotNode } from "./snapshot.ts";
import type { TensorStats } from "./stats.ts";
import { type GraphVerdicts, type NodeVerdict, VERDICT_STATUSES } from "./verdicts.ts";

/** Ops that only move or view values: folded into the block they feed. */
const VIEW_OPS = new Set(["view", "reshape", "slice", "transpose", "permute", "expand"]);

/** One view of a grouped graph: a snapshot whose nodes are blocks and single nodes. */
export interface GroupedView {
  /** The block opened ("" for none: every top-level block closed). */
  view: string;
  /** The drawing's nodes (blocks and single nodes) and edges, as a snapshot. */
  snap: GraphSnapshot;
  /** Per drawn node, the ids of the graph's nodes it stands for. */
  members: number[][];
  /** Per drawn node, the view a click on it shows: a block opens, a node keeps the view. */
  expand: string[];
  /** The blocks open in this view (the view's and its ancestors'), with their drawn nodes. */
  open: { path: string; parent: string; items: number[] }[];
}

/** The scope paths of a snapshot, each with its parent ("" at the top) and node count. */
export function scopePaths(snap: GraphSnapshot): Map<string, { parent: string; size: number }> {
  const paths = new Map<string, { parent: string; size: number }>();
  for (const n of snap.nodes) {
    n.scope.forEach((p, i) => {
      const entry = paths.get(p) ?? { parent: i === 0 ? "" : n.scope[i - 1], size: 0 };
      entry.size++;
      paths.set(p, entry);
    });
  }
  return paths;
}

/** The views worth drawing: none open, then each block of three or more nodes opened. */
export function groupViews(snap: GraphSnapshot): string[] {
  const views = [""];
  for (const [path, { size }] of scopePaths(snap)) if (size >= 3) views.push(path);
  return views;
}

/** The drawing of `snap` with the block `view` open (see the module comment). */
export function groupedView(snap: GraphSnapshot, view: string): GroupedView {
  const paths = scopePaths(snap);
  const openPaths = new Set<string>();
  for (let p = view; p !== "" && paths.has(p); p = paths.get(p)!.parent) openPaths.add(p);
  // Each node's key: the outermost closed scope it lies in, or itself.
  const keyOf = snap.nodes.map((n) => {
    const closed = n.scope.find((p) => !openPaths.has(p));
    return closed !== undefined && paths.get(closed)!.size > 1 ? `block:${closed}` : `node:${n.id}`;
  });
  // Bookkeeping outside any block (a reshape, a slice) whose one consumer is a block is folded
  // into it: makemore's `emb[:, i, :]` into the GRU cell of step i.
  const consumers = snap.nodes.map(() => [] as number[]);
  for (const e of snap.edges) consumers[e.from].push(e.to);
  for (let i = snap.nodes.length - 1; i >= 0; i--) {
    const into = new Set(consumers[i].map((c) => keyOf[c]));
    const [only] = into;
    if (
      keyOf[i].startsWith("node:") && VIEW_OPS.has(snap.nodes[i].op ?? "") && into.size === 1 &&
      only.startsWith("block:")
    ) keyOf[i] = only;
  }
  // Drawn nodes in the order of their last member: a topological order, as blocks are runs of
  // creation order and what is folded into one comes before it.
  const groups = new Map<string, number[]>();
  snap.nodes.forEach((n, i) => groups.set(keyOf[i], [...(groups.get(keyOf[i]) ?? []), n.id]));
  const sorted = [...groups.values()].sort((a, b) => a.at(-1)! - b.at(-1)!);
  // With a block open, the closed calls of one module around it (a GRU's other time steps) are
  // drawn as one block per run: `cell … cell #7`, then `cell #9 … cell #16`.
  const members: number[][] = [], runs: string[][] = [];
  const family = (ids: number[]) =>
    keyOf[ids[0]].startsWith("block:") ? keyOf[ids[0]].replace(/#\d+$/, "") : undefined;
  for (const ids of sorted) {
    const last = members.at(-1);
    if (view !== "" && last && family(ids) !== undefined && family(ids) === family(last)) {
      last.push(...ids);
      runs.at(-1)!.push(keyOf[ids[0]].slice("block:".length));
    } else {
      members.push([...ids]);
      runs.push(keyOf[ids[0]].startsWith("block:") ? [keyOf[ids[0]].slice("block:".length)] : []);
    }
  }
  for (const ids of members) for (const id of ids) keyOf[id] = keyOf[ids[0]];
  const index = new Map(members.map((ids, i) => [keyOf[ids[0]], i]));
  const itemOf = keyOf.map((k) => index.get(k)!);
  const consumedOutside = new Set<number>();
  const pairs = new Map<string, SnapshotEdge>();
  const isBlock = (item: number) => keyOf[members[item][0]].startsWith("block:");
  for (const e of snap.edges) {
    const a = itemOf[e.from], b = itemOf[e.to];
    // A size read off a node (the GRU's batch, off idx, at each of its 16 steps) is no flow of
    // values or gradients between blocks: drawn, it would only crowd the picture.
    if (a === b || (e.shapeOnly && (isBlock(a) || isBlock(b)))) continue;
    consumedOutside.add(e.from);
    const key = `${a}>${b}`, had = pairs.get(key);
    if (had) {
      had.carriesGrad ||= e.carriesGrad;
      if (!e.shapeOnly) delete had.shapeOnly;
    } else {
      const { input, carriesGrad, shapeOnly } = e;
      pairs.set(key, { from: a, to: b, input, carriesGrad, ...(shapeOnly ? { shapeOnly } : {}) });
    }
  }
  const nodes = members.map((ids, i): SnapshotNode => {
    if (ids.length === 1) return { ...snap.nodes[ids[0]], id: i };
    const path = keyOf[ids[0]].slice("block:".length);
    const node = blockNode(snap, path, paths.get(path)!.parent, ids, i, consumedOutside);
    const run = runs[i];
    if (run.length < 2) return node;
    const last = blockNode(snap, run.at(-1)!, paths.get(run.at(-1)!)!.parent, [ids.at(-1)!], i);
    return { ...node, name: `${path} … ${run.at(-1)}`, text: `${node.text} … ${last.text}` };
  });
  const expand = members.map((ids) => {
    const key = keyOf[ids[0]];
    return key.startsWith("block:") ? key.slice("block:".length) : view;
  });
  const open = [...openPaths].reverse().map((path) => ({
    path,
    parent: paths.get(path)!.parent,
    items: members.flatMap((ids, i) =>
      ids.some((id) => snap.nodes[id].scope.includes(path)) ? [i] : []
    ),
  }));
  return {
    view,
    snap: { ...snap, nodes, edges: [...pairs.values()] },
    members,
    expand,
    open,
  };
}

/** A block as one drawn node: its output's shape and value, its members' gradient in aggregate. */
function blockNode(
  snap: GraphSnapshot,
  path: string,
  parent: string,
  ids: number[],
  id: number,
  consumedOutside: ReadonlySet<number> = new Set(),
): SnapshotNode {
  const inner = ids.map((i) => snap.nodes[i]);
  const out = [...inner].reverse().find((n) => consumedOutside.has(n.id)) ?? inner.at(-1)!;
  const withGrad = inner.filter((n) => n.grad !== null && !n.roundingNoise);
  let grad: TensorStats | null = null;
  if (withGrad.length > 0) {
    // The mean |grad| over every element of the block's nodes: its aggregate colour.
    const count = withGrad.reduce((s, n) => s + n.grad!.count, 0);
    const meanAbs = withGrad.reduce((s, n) => s + n.grad!.meanAbs * n.grad!.count, 0) /
      Math.max(1, count);
    grad = {
      ...(out.grad ?? withGrad.at(-1)!.grad!),
      count,
      meanAbs,
      maxAbs: Math.max(...withGrad.map((n) => n.grad!.maxAbs)),
    };
  }
  const rel = parent !== "" && path.startsWith(`${parent}.`) ? path.slice(parent.length + 1) : path;
  const handWritten = inner.some((n) => n.rule === "hand-written");
  return {
    ...out,
    id,
    name: path,
    text: rel.replace("#", " #"),
    op: `block of ${ids.length} nodes`,
    kind: "op",
    composite: true,
    overridden: inner.some((n) => n.overridden),
    rule: handWritten ? "hand-written" : "auto",
    grad,
    roundingNoise: false,
    sink: inner.some((n) => n.sink),
    scope: out.scope.slice(0, out.scope.indexOf(path)),
  };
}

/** The verdicts of a view's drawn nodes: a block takes its worst member's, and the first. */
export function groupVerdicts(
  verdicts: GraphVerdicts,
  snap: GraphSnapshot,
  g: GroupedView,
): GraphVerdicts {
  const rank = (s: NodeVerdict["status"]) =>
    ({ differs: 0, "not written": 1, approximate: 2, exact: 3, "not compared": 4 })[s];
  const itemOfName = new Map<string, string>();
  const nodes: Record<string, NodeVerdict> = {};
  g.members.forEach((ids, i) => {
    const name = g.snap.nodes[i].name;
    for (const id of ids) itemOfName.set(snap.nodes[id].name, name);
    const vs = ids.map((id) => verdicts.nodes[snap.nodes[id].name]).filter((v) => v);
    if (vs.length === 0) return;
    if (ids.length === 1) return void (nodes[name] = vs[0]);
    const worst = vs.reduce((a, b) => (rank(b.status) < rank(a.status) ? b : a));
    const finite = vs.map((v) => v.maxdiff).filter((d): d is number => Number.isFinite(d));
    const counts = VERDICT_STATUSES.map((s) =>
      [s, vs.filter((v) => v.status === s).length] as const
    )
      .filter(([, c]) => c > 0).map(([s, c]) => `${c} ${s}`).join(", ");
    nodes[name] = {
      status: worst.status,
      ...(finite.length ? { maxdiff: Math.max(...finite) } : {}),
      detail: `its ${ids.length} nodes: ${counts}`,
    };
  });
  const first = verdicts.firstDivergent && itemOfName.get(verdicts.firstDivergent);
  // The blamed rule may lie inside the first divergent block itself: that block is named then.
  const blame = [...new Set((verdicts.blame ?? []).map((b) => itemOfName.get(b) ?? b))];
  const hint = verdicts.hint ??
    (verdicts.firstDivergent ? verdicts.nodes[verdicts.firstDivergent]?.detail : undefined);
  return {
    ...verdicts,
    nodes,
    ...(hint ? { hint } : {}),
    firstDivergent: first || undefined,
    ...(verdicts.blame ? { blame } : {}),
  };
}
