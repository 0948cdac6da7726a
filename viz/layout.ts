/**
 * A left-to-right layered layout of a graph, computed here so that the chart needs no layout
 * engine: x is the topological depth, y the position within that depth's column.
 */

/** What the layout needs of a node: its id (index), its inputs, and whether it is a leaf. */
export interface LayoutNode {
  id: number;
  inputs: readonly number[];
  leaf: boolean;
}

/** Where a node goes: its column (depth) and its row within the column (centred on 0). */
export interface Placement {
  depth: number;
  row: number;
}

/**
 * Depth of an op = 1 + the deepest of its inputs; a leaf then moves to the column just before
 * its first consumer, so that `W2` sits beside the matmul that reads it, not at the far left.
 * Rows come from a few barycentre sweeps (each node moves towards the mean row of its
 * neighbours), the usual way to cut edge crossings in a layered drawing. Ids must be 0..n−1 in
 * a topological order (a graph's creation order is one).
 */
export function layoutGraph(nodes: readonly LayoutNode[], sweeps = 4): Placement[] {
  const n = nodes.length;
  const depth = new Array<number>(n).fill(0);
  const consumers: number[][] = nodes.map(() => []);
  for (const node of nodes) {
    for (const i of node.inputs) consumers[i].push(node.id);
    if (!node.leaf) depth[node.id] = 1 + Math.max(-1, ...node.inputs.map((i) => depth[i]));
  }
  for (const node of nodes) {
    if (node.leaf && consumers[node.id].length > 0) {
      depth[node.id] = Math.min(...consumers[node.id].map((c) => depth[c])) - 1;
    }
  }
  const columns: number[][] = [];
  for (const node of nodes) (columns[depth[node.id]] ??= []).push(node.id);
  for (let d = 0; d < columns.length; d++) columns[d] ??= [];

  const row = new Array<number>(n).fill(0);
  const place = (col: number[]) => col.forEach((id, k) => (row[id] = k - (col.length - 1) / 2));
  columns.forEach(place);
  const reorder = (col: number[], neighbours: (id: number) => readonly number[]) => {
    const key = new Map<number, number>();
    for (const id of col) {
      const nb = neighbours(id);
      key.set(id, nb.length ? nb.reduce((s, j) => s + row[j], 0) / nb.length : row[id]);
    }
    // Stable sort: ties keep creation order, so the drawing is deterministic.
    col.sort((a, b) => key.get(a)! - key.get(b)! || a - b);
    place(col);
  };
  for (let s = 0; s < sweeps; s++) {
    for (let d = 1; d < columns.length; d++) reorder(columns[d], (id) => nodes[id].inputs);
    for (let d = columns.length - 2; d >= 0; d--) reorder(columns[d], (id) => consumers[id]);
  }
  return nodes.map((node) => ({ depth: depth[node.id], row: row[node.id] }));
}
