/**
 * A layered drawing of a graph, computed here so that the chart needs no layout engine, in the
 * way of graphviz's `dot` (Sugiyama's method), with one twist: a long chain is folded into bands
 * that read like lines of text, so that exercise 1's 29 columns fit a page's width.
 * 1. Columns: an op's column is 1 + the deepest of its inputs; a leaf sits in the column just
 *    before its first consumer (W2 beside the matmul that reads it, not at the far left).
 * 2. Bands: the columns are cut into bands of at most `maxWidth` pixels, where few edges cross.
 * 3. Order: an edge that skips columns inside a band gets a waypoint in every column it passes
 *    (graphviz's virtual nodes), and a few barycentre sweeps order each column to cut crossings;
 *    leaves go above the op they feed, long edges below it.
 * 4. Rows: each column's items move towards their neighbours' rows (ops heavily weighted, so a
 *    chain stays straight), keeping their order and one row apart (isotonic regression).
 * 5. Routes: edges run horizontally and turn in the gaps between columns, so that they pass
 *    beside the labels written under the nodes; an edge into the next band drops into a lane
 *    between the bands. Parallel edges (mul(h, h)) get their own ports.
 */

/** What the layout needs of a node: its id (its index), its inputs, and whether it is a leaf. */
export interface LayoutNode {
  /** Its index in the list of nodes: ids run 0..n−1 in a topological order. */
  id: number;
  /** Input ids, one per operand use: mul(h, h) lists h twice. */
  inputs: readonly number[];
  /** Whether it is a leaf (no inputs of its own): it goes just before its first consumer. */
  leaf: boolean;
}

/** Sizes of the drawing, in pixels. */
export interface LayoutOptions {
  /** Distance between columns (default 96). */
  columnWidth?: number;
  /** Distance between rows (default 58). */
  rowHeight?: number;
  /** The widest a band may be (default 780): wider graphs are folded into bands. */
  maxWidth?: number;
  /** Space under a node's centre for its label (default 34). */
  labelHeight?: number;
  /** Let a fan-out's (or fan-in's) long edges share their waypoints (default false). */
  bundle?: boolean;
}

/** Where a node goes. */
export interface Placement {
  /** Its column in the unfolded drawing (topological depth). */
  depth: number;
  /** The band it lies in (0 at the top). */
  band: number;
  /** Its row within the band's rows (integers, negative above the first op). */
  row: number;
  /** Its centre's distance from the drawing's left edge, in pixels. */
  x: number;
  /** Its centre's distance from the drawing's top edge, in pixels (down is positive). */
  y: number;
}

/** A point of an edge's route, in pixels. */
export interface Point {
  /** Distance from the drawing's left edge. */
  x: number;
  /** Distance from the drawing's top edge (down is positive). */
  y: number;
}

/** One edge: one use of `from` as an input of `to`. */
export interface EdgeRoute {
  /** The id of the input node, where the edge starts. */
  from: number;
  /** The id of the node that consumes it, where the edge ends. */
  to: number;
  /** Which input of `to` it is (0-based). */
  input: number;
  /** Waypoints from the centre of `from` to that of `to` (draw them with a smooth curve). */
  points: Point[];
  /** Whether it runs from one band into a later one. */
  crossesBands: boolean;
}

/** The drawing. */
export interface GraphLayout {
  /** Where each node goes, indexed by node id. */
  nodes: Placement[];
  /** One route per operand use, node by node in id order, each node's inputs in order. */
  edges: EdgeRoute[];
  /** The drawing's width in pixels: the widest band's columns times `columnWidth`. */
  width: number;
  /** The drawing's height in pixels: every band with its labels and lanes. */
  height: number;
  /** How many bands the columns were folded into (1 when the graph fits `maxWidth`). */
  bands: number;
  /** The distance between columns used, in pixels (the option's, or 96). */
  columnWidth: number;
  /** The distance between rows used, in pixels (the option's, or 58). */
  rowHeight: number;
}

/** An item to place: a node, or a waypoint of a long edge (`node` −1). */
interface Item {
  node: number;
  column: number;
  kind: "op" | "leaf" | "waypoint";
  neighbours: number[];
  pos: number;
}

const WEIGHT = { op: 10, leaf: 1, waypoint: 1 } as const;
/** Ordering bias: leaves above the op they feed, long edges' waypoints below it. */
const BIAS = { op: 0, leaf: -0.3, waypoint: 0.3 } as const;

/**
 * Lays a graph out (see the module comment). Ids must be 0..n−1 in a topological order (a
 * graph's creation order is one).
 */
export function layoutGraph(
  nodes: readonly LayoutNode[],
  options: LayoutOptions = {},
): GraphLayout {
  const cw = options.columnWidth ?? 96, rh = options.rowHeight ?? 58;
  const labelHeight = options.labelHeight ?? 34;
  const depth = depths(nodes);
  const columns = nodes.length ? Math.max(...depth) + 1 : 0;
  const perBand = Math.max(2, Math.floor((options.maxWidth ?? 780) / cw));
  const edges = nodes.flatMap((n) => n.inputs.map((from, input) => ({ from, to: n.id, input })));
  const cuts = bandCuts(columns, perBand, edges, depth, (id) => nodes[id].leaf);
  const bandOf = (column: number) => cuts.filter((c) => c <= column).length;

  // Items: the nodes, then a waypoint per column passed by each long edge inside a band.
  const items: Item[] = nodes.map((n) => ({
    node: n.id,
    column: depth[n.id],
    kind: n.leaf ? "leaf" : "op",
    neighbours: [],
    pos: 0,
  }));
  // Bundled, the long edges of one source (a fan-out) share their waypoints, as do those into
  // one target (a fan-in): one row for sixteen edges instead of sixteen rows.
  const long = (e: { from: number; to: number }) =>
    depth[e.to] - depth[e.from] > 1 && bandOf(depth[e.from]) === bandOf(depth[e.to]);
  const longOut = new Array<number>(nodes.length).fill(0);
  const longIn = new Array<number>(nodes.length).fill(0);
  for (const e of edges) if (long(e)) longOut[e.from]++, longIn[e.to]++;
  const shared = new Map<string, number>();
  const waypoint = (e: { from: number; to: number }, c: number) => {
    const bus = !options.bundle
      ? undefined
      : longOut[e.from] >= longIn[e.to]
      ? `from ${e.from}`
      : `to ${e.to}`;
    const key = `${bus}@${c}`;
    if (bus !== undefined && shared.has(key)) return shared.get(key)!;
    items.push({ node: -1, column: c, kind: "waypoint", neighbours: [], pos: 0 });
    if (bus !== undefined) shared.set(key, items.length - 1);
    return items.length - 1;
  };
  const chains = edges.map((e) => {
    const chain = [e.from];
    if (bandOf(depth[e.from]) === bandOf(depth[e.to])) {
      for (let c = depth[e.from] + 1; c < depth[e.to]; c++) chain.push(waypoint(e, c));
    }
    chain.push(e.to);
    // An edge into another band pulls nothing: rows of different bands are not comparable.
    if (bandOf(depth[e.from]) !== bandOf(depth[e.to])) return chain;
    for (let k = 1; k < chain.length; k++) {
      const a = items[chain[k - 1]], b = items[chain[k]];
      // A shared waypoint is linked once (unbundled, parallel edges pull twice, as before).
      if (!options.bundle || !a.neighbours.includes(chain[k])) a.neighbours.push(chain[k]);
      if (!options.bundle || !b.neighbours.includes(chain[k - 1])) b.neighbours.push(chain[k - 1]);
    }
    return chain;
  });

  const byColumn: number[][] = Array.from({ length: columns }, () => []);
  items.forEach((it, i) => byColumn[it.column].push(i));
  for (const col of byColumn) col.forEach((i, k) => (items[i].pos = k - (col.length - 1) / 2));
  // An op follows the ops it is wired to (leaves and long edges' waypoints follow it, never the
  // reverse), so that a chain of ops settles on one row; the others follow all their neighbours.
  const mean = (i: number) => {
    let nb = items[i].neighbours;
    if (items[i].kind === "op" && nb.some((j) => items[j].kind === "op")) {
      nb = nb.filter((j) => items[j].kind === "op");
    }
    return nb.length ? nb.reduce((s, j) => s + items[j].pos, 0) / nb.length : items[i].pos;
  };
  // Order: barycentre sweeps (stable sort: ties keep creation order, so drawings never change).
  for (let sweep = 0; sweep < 6; sweep++) {
    const order = sweep % 2 === 0 ? byColumn : [...byColumn].reverse();
    for (const col of order) {
      const key = new Map(col.map((i) => [i, mean(i) + BIAS[items[i].kind]]));
      col.sort((a, b) => key.get(a)! - key.get(b)! || a - b);
      col.forEach((i, k) => (items[i].pos = k - (col.length - 1) / 2));
    }
  }
  // Rows: towards the neighbours, in order, one apart; the spine pinned to row 0.
  const spine = spineOf(nodes, depth);
  const target = (i: number) => (spine.has(i) ? 0 : mean(i));
  const weight = (i: number) => (spine.has(i) ? 1000 : WEIGHT[items[i].kind]);
  for (let sweep = 0; sweep < 8; sweep++) {
    const order = sweep % 2 === 0 ? byColumn : [...byColumn].reverse();
    for (const col of order) {
      const placed = isotonic(col.map(target), col.map(weight));
      // Whole rows at every step, so that a chain settles on one row instead of drifting by
      // fractions that rounding would turn into steps (rounding keeps rows one apart).
      col.forEach((i, k) => (items[i].pos = Math.round(placed[k])));
    }
  }
  const row = items.map((it) => it.pos);

  // Bands, top to bottom: rows, then a gap with a lane per edge that enters a later band.
  const bands = cuts.length + 1;
  // A lane per edge into a later band; bundled, one per fan-out (or fan-in) and band.
  const crossing = (e: { from: number; to: number }) => bandOf(depth[e.to]) > bandOf(depth[e.from]);
  const crossOut = new Array<number>(nodes.length).fill(0);
  const crossIn = new Array<number>(nodes.length).fill(0);
  for (const e of edges) if (crossing(e)) crossOut[e.from]++, crossIn[e.to]++;
  const laneKey = edges.map((e, k) =>
    !options.bundle ? `${k}` : crossOut[e.from] >= crossIn[e.to] ? `from ${e.from}` : `to ${e.to}`
  );
  const lanes: string[][] = Array.from({ length: bands }, () => []);
  edges.forEach((e, k) => {
    const own = lanes[bandOf(depth[e.from])];
    if (crossing(e) && !own.includes(laneKey[k])) own.push(laneKey[k]);
  });
  const r = 10, lane = 9;
  const top: number[] = [], rowMin: number[] = [];
  let y = 0;
  for (let b = 0; b < bands; b++) {
    const rows = items.flatMap((it, i) => (bandOf(it.column) === b ? [row[i]] : []));
    rowMin.push(rows.length ? Math.min(...rows) : 0);
    const rowMax = rows.length ? Math.max(...rows) : 0;
    top.push(y + r + 4);
    y = top[b] + (rowMax - rowMin[b]) * rh + labelHeight + 8 + lanes[b].length * lane;
  }
  const height = y;
  const start = [0, ...cuts];
  const at = (i: number): Point => {
    const b = bandOf(items[i].column);
    return {
      x: cw / 2 + (items[i].column - start[b]) * cw,
      y: top[b] + (row[i] - rowMin[b]) * rh,
    };
  };
  const placements = nodes.map((n): Placement => ({
    depth: depth[n.id],
    band: bandOf(depth[n.id]),
    row: row[n.id] - rowMin[bandOf(depth[n.id])],
    ...at(n.id),
  }));

  // Ports: edges into (and out of) one node spread over a few pixels, ordered by the other end.
  // Bundled, the edges of one bus leave (or enter) through one port: through the waypoint they
  // share, or, into another band, along the lane they share.
  const via = (k: number, next: number) =>
    options.bundle && items[next].kind === "waypoint"
      ? `w${next}`
      : options.bundle && chains[k].length === 2 && crossing(edges[k])
      ? `l${laneKey[k]}`
      : `e${k}`;
  const portIn = ports(edges.map((e, k) => ({
    k,
    node: e.to,
    other: at(chains[k].at(-2)!).y,
    via: via(k, chains[k].at(-2)!),
  })));
  const portOut = ports(edges.map((e, k) => ({
    k,
    node: e.from,
    other: at(chains[k][1]).y,
    via: via(k, chains[k][1]),
  })));
  const routes = edges.map((e, k): EdgeRoute => {
    const chain = chains[k];
    const from = at(chain[0]), to = at(chain.at(-1)!);
    const out = { x: from.x, y: from.y + portOut[k] };
    const inn = { x: to.x, y: to.y + portIn[k] };
    const points: Point[] = [out];
    const bandFrom = bandOf(depth[e.from]), bandTo = bandOf(depth[e.to]);
    if (bandFrom === bandTo) {
      let prev = out;
      for (let s = 1; s < chain.length; s++) {
        const next = s === chain.length - 1 ? inn : at(chain[s]);
        // Turn in the gap between the two columns, never under a label.
        if (next.y !== prev.y) {
          const gap = (prev.x + next.x) / 2;
          points.push({ x: gap, y: prev.y }, { x: gap, y: next.y });
        }
        if (s < chain.length - 1) points.push(next);
        prev = next;
      }
    } else {
      // Down the gap right of the source into its lane, along the lane, down the gap left of the
      // target (down the left margin first when a whole band lies between them).
      const laneY = top[bandFrom + 1] - r - 8 -
        (lanes[bandFrom].length - 1 - lanes[bandFrom].indexOf(laneKey[k])) * lane;
      const exitX = from.x + cw / 2, enterX = to.x - cw / 2;
      // The corner out of the source doubled, so that the smoothed curve turns there, clear of
      // the source's label, rather than cutting across it.
      // The lane's corners doubled too: a long lane would otherwise let the curve cut the corner
      // diagonally, across the labels of the source's band.
      points.push(
        { x: exitX, y: out.y },
        { x: exitX, y: out.y },
        { x: exitX, y: laneY },
        { x: exitX, y: laneY },
      );
      let y = laneY;
      if (bandTo > bandFrom + 1) {
        y = top[bandTo] - r - 8;
        points.push({ x: 4, y: laneY }, { x: 4, y });
      }
      points.push({ x: enterX, y }, { x: enterX, y }, { x: enterX, y: inn.y });
    }
    points.push(inn);
    return { from: e.from, to: e.to, input: e.input, points, crossesBands: bandFrom !== bandTo };
  });
  const width = Math.max(1, ...start.map((s, b) => (b < bands - 1 ? cuts[b] : columns) - s)) *
    cw;
  return {
    nodes: placements,
    edges: routes,
    width,
    height,
    bands,
    columnWidth: cw,
    rowHeight: rh,
  };
}

/**
 * The spine: the longest chain of ops, walked back from the deepest node through its deepest op
 * input (the first one on a tie). It is drawn straight, on one row, as a reader follows it.
 */
function spineOf(nodes: readonly LayoutNode[], depth: readonly number[]): Set<number> {
  const spine = new Set<number>();
  let at = -1;
  for (const n of nodes) if (!n.leaf && (at < 0 || depth[n.id] > depth[at])) at = n.id;
  while (at >= 0 && !nodes[at].leaf) {
    spine.add(at);
    let next = -1;
    for (const i of nodes[at].inputs) {
      if (!nodes[i].leaf && (next < 0 || depth[i] > depth[next])) next = i;
    }
    at = next;
  }
  return spine;
}

/** Columns: ops one right of their deepest input; leaves just before their first consumer. */
function depths(nodes: readonly LayoutNode[]): number[] {
  const depth = new Array<number>(nodes.length).fill(0);
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
  return depth;
}

/**
 * Where bands begin: about equal bands of at most `perBand` columns, each cut moved (by up to
 * two columns) to where the fewest nodes send edges across it, and never where a leaf would be
 * left at the end of one band while the op it feeds starts the next.
 */
function bandCuts(
  columns: number,
  perBand: number,
  edges: { from: number; to: number }[],
  depth: readonly number[],
  leaf: (id: number) => boolean,
): number[] {
  if (columns <= perBand) return [];
  const bands = Math.ceil(columns / perBand);
  const cost = (c: number) => {
    const across = edges.filter((e) => depth[e.from] < c && c <= depth[e.to]);
    const stranded = across.some((e) => leaf(e.from));
    return new Set(across.map((e) => e.from)).size + (stranded ? 100 : 0);
  };
  const cuts: number[] = [];
  let prev = 0;
  for (let k = 1; k < bands; k++) {
    const ideal = Math.round(prev + (columns - prev) / (bands - k + 1));
    let best = -1;
    for (let c = ideal - 2; c <= ideal + 2; c++) {
      const fits = c > prev && c - prev <= perBand && columns - c <= (bands - k) * perBand;
      if (!fits) continue;
      const better = best < 0 || cost(c) < cost(best) ||
        (cost(c) === cost(best) && Math.abs(c - ideal) < Math.abs(best - ideal));
      if (better) best = c;
    }
    cuts.push(best < 0 ? Math.min(prev + perBand, columns - 1) : best);
    prev = cuts[cuts.length - 1];
  }
  return cuts;
}

/**
 * Weighted isotonic regression with a gap: the positions p closest to `target` (least squares,
 * weighted) with p[k+1] ≥ p[k] + 1. With q[k] = p[k] − k it is plain isotonic regression of
 * target[k] − k, which pool-adjacent-violators solves exactly.
 */
export function isotonic(target: readonly number[], weight: readonly number[]): number[] {
  const blocks: { value: number; weight: number; size: number }[] = [];
  target.forEach((t, k) => {
    blocks.push({ value: t - k, weight: weight[k], size: 1 });
    while (blocks.length > 1 && blocks.at(-2)!.value > blocks.at(-1)!.value) {
      const b = blocks.pop()!, a = blocks.pop()!;
      const w = a.weight + b.weight;
      blocks.push({
        value: (a.value * a.weight + b.value * b.weight) / w,
        weight: w,
        size: a.size + b.size,
      });
    }
  });
  const out: number[] = [];
  for (const b of blocks) for (let s = 0; s < b.size; s++) out.push(b.value + out.length);
  return out;
}

/** Vertical offsets of the edges that meet at one node, 5 px apart, ordered by the far end. */
function ports(ends: { k: number; node: number; other: number; via: string }[]): number[] {
  const offset = new Array<number>(ends.length).fill(0);
  const byNode = new Map<number, typeof ends>();
  for (const e of ends) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e]);
  for (const group of byNode.values()) {
    group.sort((a, b) => a.other - b.other || a.k - b.k);
    // One slot per distinct way out (edges that share a waypoint or lane share a slot).
    const slots: string[] = [];
    for (const e of group) if (!slots.includes(e.via)) slots.push(e.via);
    for (const e of group) offset[e.k] = (slots.indexOf(e.via) - (slots.length - 1) / 2) * 5;
  }
  return offset;
}
