/**
 * Chart 1, the gradient-flow graph: the computational graph after a backward pass, laid out like
 * a graphviz drawing (viz/layout.ts: layered, folded into bands, arrows along the forward pass,
 * one edge per operand use), each node named as the lecture names it and coloured by log10 of its
 * mean |grad| over a range that leaves out outliers (one colour for "below the floor", one mark
 * for gradients that are rounding noise of a true zero). Given verdicts (viz/verdicts.ts), each
 * node carries its status as a glyph (✓ ≈ ✗ ○ –, in the Okabe–Ito colours that colour-blind
 * readers tell apart), the first divergent node is ringed, and the edge whose rule computed its
 * gradient is drawn in the same colour. The key (./graph_key.ts) is drawn inside the chart, above
 * the graph, so that it stays in view with it.
 */
import type { GraphSnapshot, SnapshotNode } from "../snapshot.ts";
import { type GraphLayout, layoutGraph } from "../layout.ts";
import { CONFIG, fmt, SCHEMA, type VegaLiteSpec } from "../spec.ts";
import { type GraphVerdicts, verdictCounts, type VerdictStatus } from "../verdicts.ts";
import { OKABE_ITO, STATUS_GLYPHS } from "../glyphs.ts";
import { type GroupedView, groupedView, groupVerdicts, groupViews } from "../graph_groups.ts";
import { FLOOR_FILL, type GradientRange, KEY_HEIGHT_BASE, keyLayers, round } from "./graph_key.ts";

export type { GradientRange } from "./graph_key.ts";

/** Options of `gradientFlowGraphSpec`. */
export interface GraphFlowOptions {
  /** Chart title (default "Gradient flow"). */
  title?: string;
  /** A checker's verdicts to mark on the nodes. */
  verdicts?: GraphVerdicts;
  /** The widest the drawing may be, in pixels, before it is folded into bands (default 780). */
  maxWidth?: number;
  /** The colour range (default: `gradientRange(snap)`); the live view keeps its first one. */
  range?: GradientRange;
  /**
   * Draw each module's nodes as one block (`graph.scope`, which nn modules open), a click on
   * a block opening it in report.html. Default: when the graph has scopes and its drawing would
   * be taller than 1,400 px.
   */
  group?: boolean;
}

/** The named datasets of the nodes' fills, which the live view replaces as gradients change. */
export const GRAPH_DATA = {
  nodesWithGrad: "graph_nodes_grad",
  nodesOther: "graph_nodes_other",
  noise: "graph_noise",
} as const;

/** Mark names, so that tests and renderers can count a layer's marks in the scenegraph. */
export const GRAPH_MARKS = {
  edges: "edges",
  arrows: "arrows",
  nodesWithGrad: "nodes_grad",
  nodesOther: "nodes_other",
  labels: "labels",
  status: "status",
  firstDivergent: "first_divergent",
  culprits: "culprits",
  suspectEdges: "suspect_edges",
  frames: "open_blocks",
} as const;

/** How a node is filled. */
export type FillClass = "gradient" | "below floor" | "rounding noise" | "no gradient";

const NODE_SIZE = 260;
const RADIUS = Math.sqrt(NODE_SIZE / Math.PI);
const EDGE = "#8c8c8c";
/** The rings round the first divergent node and its rule's nodes: radius 15 px. */
const RING_SIZE = Math.round(Math.PI * 15 * 15);
/** A graph with scopes whose drawing is taller than this is drawn grouped by default. */
const GROUP_ABOVE = 1400;
/** A block: a wide rounded box, twice a node's area. */
const BLOCK_SHAPE = "M-1.3,-0.7 L1.3,-0.7 L1.3,0.7 L-1.3,0.7 Z";
const BLOCK_SIZE = 2 * NODE_SIZE;
/** Clear of a ring (15 px and its stroke): a ringed node's label starts, and its glyph sits. */
const RING_CLEAR = 18;
/** A block's ring (radius 22 px, round its box) and what keeps clear of it. */
const BLOCK_RING_SIZE = Math.round(Math.PI * 22 * 22);
const BLOCK_RING_CLEAR = 25;

/**
 * The useful range of log10 mean |grad|, in half decades: over the nodes whose gradient is
 * neither the seed (the loss) nor rounding noise, without a low tail that lies more than two
 * decades below the rest (drawn as "below the floor"), at most six decades, at least one.
 */
export function gradientRange(snap: GraphSnapshot): GradientRange {
  const logs = snap.nodes
    .filter((n) => n.grad && n.grad.meanAbs > 0 && !n.roundingNoise && !n.sink)
    .map((n) => Math.log10(n.grad!.meanAbs))
    .sort((a, b) => a - b);
  if (logs.length === 0) return { lo: -3, hi: 0 };
  let start = 0;
  for (let i = 0; i < logs.length - 1 && i < logs.length / 4; i++) {
    if (logs[i + 1] - logs[i] > 2) start = i + 1;
  }
  const hi = Math.ceil(logs.at(-1)! * 2) / 2;
  const lo = Math.max(hi - 6, Math.min(hi - 1, Math.floor(logs[start] * 2) / 2));
  return { lo, hi };
}

/** How one node is filled, given the range. */
export function fillClass(n: SnapshotNode, range: GradientRange): FillClass {
  if (!n.grad) return "no gradient";
  if (n.roundingNoise) return "rounding noise";
  if (!(n.grad.meanAbs > 0) || (!n.sink && Math.log10(n.grad.meanAbs) < range.lo)) {
    return "below floor";
  }
  return "gradient";
}

export function graphNodeData(
  snap: GraphSnapshot,
  range: GradientRange,
  options: Pick<GraphFlowOptions, "verdicts" | "maxWidth" | "group"> = {},
): Record<keyof typeof GRAPH_DATA, object[]> {
  const nodes = drawingOf(snap, range, options).nodes;
  return {
    nodesWithGrad: nodes.filter((r) => r.fill === "gradient"),
    nodesOther: nodes.filter((r) => r.fill !== "gradient"),
    noise: nodes.filter((r) => r.fill === "rounding noise"),
  };
}

function layoutOf(snap: GraphSnapshot, maxWidth: number | undefined, bundle = false): GraphLayout {
  const inputs = snap.nodes.map(() => [] as number[]);
  for (const e of snap.edges) inputs[e.to].push(e.from);
  return layoutGraph(
    snap.nodes.map((n) => ({ id: n.id, inputs: inputs[n.id], leaf: n.op === null })),
    // Grouped, columns are closer, rows lower and bands wider, so that the tallest view of a
    // model's blocks (a Transformer's attention, opened) still fits 1,800 px with its header.
    bundle ? { maxWidth: maxWidth ?? 860, columnWidth: 84, rowHeight: 50, bundle } : { maxWidth },
  );
}

/**
 * Which view a row belongs to: the block a click opened (the selection `open`, a point
 * selection on the nodes' `expand`), or none. Vega-Lite has resolved a point selection both as
 * an array of values and as one value over its versions; either is read.
 */
const VIEW_TEST = "datum.view === (isValid(open) && isValid(open.expand) ? " +
  "(isArray(open.expand) ? open.expand[0] : open.expand) : '')";

/** Whether `snap` is drawn grouped by module: when asked, or by default when it is too tall. */
function grouped(snap: GraphSnapshot, options: GraphFlowOptions): boolean {
  if (options.group !== undefined) return options.group;
  if (!snap.nodes.some((n) => n.scope.length > 0)) return false;
  return layoutOf(snap, options.maxWidth).height > GROUP_ABOVE;
}

/** Every view's rows (one view unless grouped), each row tagged with its view. */
function drawingOf(
  snap: GraphSnapshot,
  range: GradientRange,
  options: GraphFlowOptions,
) {
  const views = grouped(snap, options)
    ? groupViews(snap).map((v) => groupedView(snap, v))
    : [undefined];
  const parts = views.map((g) => {
    const s = g?.snap ?? snap;
    const v = g && options.verdicts ? groupVerdicts(options.verdicts, snap, g) : options.verdicts;
    return viewRows(s, layoutOf(s, options.maxWidth, g !== undefined), range, v, g);
  });
  const all = <K extends keyof (typeof parts)[number]>(k: K) =>
    parts.flatMap((p) => p[k] as unknown[]) as (typeof parts)[number][K];
  return {
    grouped: views[0] !== undefined,
    top: parts[0],
    nodes: all("nodes"),
    edges: all("edges"),
    arrows: all("arrows"),
    badges: all("badges"),
    firstRows: all("firstRows"),
    culpritRows: all("culpritRows"),
    frames: all("frames"),
    width: Math.max(...parts.map((p) => p.width)),
    height: Math.max(...parts.map((p) => p.height)),
  };
}

/** One view's rows: nodes, edges, arrowheads, glyphs, rings and open blocks' frames. */
function viewRows(
  snap: GraphSnapshot,
  layout: GraphLayout,
  range: GradientRange,
  verdicts: GraphVerdicts | undefined,
  g: GroupedView | undefined,
) {
  const view = g?.view ?? "";
  const byName = new Map(snap.nodes.map((n) => [n.name, n]));
  const first = verdicts?.firstDivergent ? byName.get(verdicts.firstDivergent) : undefined;
  // The rules that computed the first divergent node's gradient: the checker's blame where it
  // gives one, else those of every node it feeds.
  const blamed = verdicts?.blame?.map((b) => byName.get(b)?.id).filter((id) => id !== undefined);
  const culprits = !first
    ? []
    : blamed?.length
    ? blamed as number[]
    : snap.edges.filter((e) => e.from === first.id).map((e) => e.to);
  const tag = <T extends object>(rows: T[], expand: (r: T) => string = () => view) =>
    rows.map((r) => ({ ...r, view, expand: expand(r) }));
  const nodes = tag(
    snap.nodes.map((n) => {
      const row = nodeRow(n, layout, range, verdicts, culprits);
      const block = g !== undefined && g.members[n.id].length > 1;
      // A block's ring is wider, as its box is: clear of it the label and the glyph.
      const clear = block ? BLOCK_RING_CLEAR : RING_CLEAR;
      return {
        ...row,
        block,
        shape: block ? BLOCK_SHAPE : row.shape,
        size: block ? BLOCK_SIZE : NODE_SIZE,
        ringSize: block ? BLOCK_RING_SIZE : RING_SIZE,
        clear,
        ly: row.ringed ? row.y + clear : row.ly,
      };
    }),
    (r) => g?.expand[r.id] ?? view,
  );
  const badges = verdicts
    ? nodes.filter((r) => r.status !== null && (r.status !== "not compared" || r.hasGrad))
      .map((r) => ({
        ...r,
        // Outside the ring, where there is one, so that the ring never hides the glyph.
        bx: r.x + (r.ringed ? r.clear : RADIUS + 5),
        by: r.y - (r.ringed ? r.clear : RADIUS + 3),
        glyph: STATUS_GLYPHS[r.status!],
        glyphColour: OKABE_ITO[r.status!],
      }))
    : [];
  // An open block: a frame round its nodes in each band they lie in; a click on it closes it.
  const frames = (g?.open ?? []).flatMap((o, depth) => {
    const bands = new Map<number, { x: number; y: number }[]>();
    for (const i of o.items) {
      const p = layout.nodes[i];
      bands.set(p.band, [...(bands.get(p.band) ?? []), p]);
    }
    // A block open inside another is inset in it.
    const half = layout.columnWidth / 2 - 4 - 3 * depth;
    const before = g!.open.slice(0, depth).reduce((w, p) => w + (p.path.length + 3) * 5.8, 0);
    return [...bands.values()].map((ps) => ({
      view,
      expand: o.parent,
      x: Math.min(...ps.map((p) => p.x)) - half,
      x2: Math.max(...ps.map((p) => p.x)) + half,
      y: Math.min(...ps.map((p) => p.y)) - 26 + 3 * depth,
      y2: Math.max(...ps.map((p) => p.y)) + 40 - 3 * depth,
      // Its name after the names of the blocks it lies in, where their frames start with its.
      tx: Math.min(...ps.map((p) => p.x)) - half + before,
      label: `${o.path} ▾`,
    }));
  });
  return {
    nodes,
    edges: tag(edgeRows(snap, layout, first?.id, culprits)),
    arrows: tag(arrowRows(snap, layout, first?.id, culprits)),
    badges,
    firstRows: first ? nodes.filter((r) => r.id === first.id) : [],
    culpritRows: nodes.filter((r) => culprits.includes(r.id)),
    frames,
    first,
    culprits: culprits.map((id) => snap.nodes[id]),
    verdicts,
    snap,
    width: layout.width,
    height: layout.height,
  };
}

/** The gradient-flow graph of a snapshot (see the module comment). */
export function gradientFlowGraphSpec(
  snap: GraphSnapshot,
  options: GraphFlowOptions = {},
): VegaLiteSpec {
  const range = options.range ?? gradientRange(snap);
  const drawing = drawingOf(snap, range, options);
  const { nodes, edges, arrows, badges, firstRows, culpritRows } = drawing;
  // The subtitle speaks of what the first view shows (every block closed, when grouped).
  const { first, verdicts } = drawing.top;
  const culpritNames = drawing.top.culprits;
  const layout = { width: drawing.width, height: drawing.height };

  const keyHeight = KEY_HEIGHT_BASE + (verdicts ? 22 : 0);
  const W = Math.max(layout.width, 640), H = layout.height;
  const x = {
    field: "x",
    type: "quantitative" as const,
    axis: null,
    scale: { domain: [0, W], range: [0, W], nice: false, zero: false },
  };
  const y = {
    field: "y",
    type: "quantitative" as const,
    axis: null,
    scale: { domain: [-keyHeight, H], range: [0, H + keyHeight], nice: false, zero: false },
  };
  const colour = {
    field: "logGrad",
    type: "quantitative" as const,
    scale: { domain: [range.lo, range.hi], scheme: "viridis", clamp: true },
    legend: null,
  };
  const direct = (field: string) => ({
    field,
    type: "nominal" as const,
    scale: null,
    legend: null,
  });
  const tooltip = [
    { field: "name", title: "node" },
    { field: "op", title: "op" },
    { field: "shapeText", title: "shape" },
    { field: "rule", title: "rule" },
    { field: "gradMeanAbs", title: "mean |grad|" },
    { field: "gradMaxAbs", title: "max |grad|" },
    { field: "valueStd", title: "value std" },
    { field: "verdict", title: "verdict" },
  ];
  const labelFont = { fontSize: 10, baseline: "top" as const, align: "center" as const };

  // Of what the first view draws: a rounding-noise node inside a closed block is not named.
  const subtitle = subtitleOf(
    drawing.top.snap,
    range,
    verdicts,
    first,
    culpritNames,
    W,
    snap,
    options.verdicts?.blame,
  );
  if (drawing.grouped) {
    subtitle.push(
      ...wrapText(
        "grouped by module: a wide box is a block of nodes, coloured by their mean |grad|, " +
          "marked with their worst verdict; in report.html a click opens a block (▾), a click " +
          "on its frame or a double-click closes it",
        Math.floor(W / 6.4),
      ),
    );
  }
  const layers = [
    {
      name: GRAPH_MARKS.frames,
      data: { values: drawing.frames },
      layer: [
        {
          mark: { type: "rect" as const, fill: "#f4f1fa", stroke: "#9e8fc4", strokeDash: [4, 3] },
          encoding: { x, y, x2: { field: "x2" }, y2: { field: "y2" } },
        },
        {
          mark: {
            type: "text" as const,
            align: "left" as const,
            baseline: "top" as const,
            dx: 4,
            dy: 3,
            fontSize: 9.5,
            color: "#5e4b8b",
          },
          encoding: { x: { ...x, field: "tx" }, y, text: { field: "label" } },
        },
      ],
    },
    {
      name: GRAPH_MARKS.edges,
      data: { values: edges.filter((p) => !p.suspect) },
      mark: { type: "line" as const, interpolate: "basis" as const, strokeWidth: 1.1 },
      encoding: {
        x,
        y,
        detail: { field: "edge", type: "nominal" as const },
        order: { field: "order", type: "quantitative" as const },
        color: { value: EDGE },
        strokeDash: { condition: { test: "datum.carriesGrad", value: [1, 0] }, value: [4, 3] },
        tooltip: { field: "tip", type: "nominal" as const },
      },
    },
    {
      name: GRAPH_MARKS.suspectEdges,
      data: { values: edges.filter((p) => p.suspect) },
      mark: {
        type: "line" as const,
        interpolate: "basis" as const,
        strokeWidth: 3,
        color: OKABE_ITO.differs,
      },
      encoding: {
        x,
        y,
        detail: { field: "edge", type: "nominal" as const },
        order: { field: "order", type: "quantitative" as const },
        tooltip: { field: "tip", type: "nominal" as const },
      },
    },
    {
      name: GRAPH_MARKS.arrows,
      data: { values: arrows },
      mark: { type: "point" as const, shape: "triangle-right", filled: true, opacity: 1 },
      encoding: {
        x,
        y,
        angle: { field: "angle", type: "quantitative" as const, scale: null },
        size: { field: "size", type: "quantitative" as const, scale: null },
        color: direct("colour"),
      },
    },
    {
      name: GRAPH_MARKS.firstDivergent,
      data: { values: firstRows },
      mark: {
        type: "point" as const,
        shape: "circle",
        filled: false,
        strokeWidth: 3,
        color: OKABE_ITO.differs,
        opacity: 1,
      },
      encoding: { x, y, size: { field: "ringSize", type: "quantitative" as const, scale: null } },
    },
    {
      name: GRAPH_MARKS.culprits,
      data: { values: culpritRows },
      mark: {
        type: "point" as const,
        shape: "circle",
        filled: false,
        strokeWidth: 2,
        strokeDash: [4, 3],
        color: OKABE_ITO.differs,
        opacity: 1,
      },
      encoding: { x, y, size: { field: "ringSize", type: "quantitative" as const, scale: null } },
    },
    {
      name: GRAPH_MARKS.nodesWithGrad,
      data: { name: GRAPH_DATA.nodesWithGrad, values: nodes.filter((r) => r.fill === "gradient") },
      mark: { type: "point" as const, filled: true, opacity: 1 },
      // A click on a block opens it; on an open block's frame, closes it (see VIEW_TEST).
      ...(drawing.grouped
        ? {
          params: [{
            name: "open",
            select: { type: "point" as const, fields: ["expand"], on: "click", clear: "dblclick" },
          }],
        }
        : {}),
      encoding: {
        x,
        y,
        size: { field: "size", type: "quantitative" as const, scale: null },
        shape: direct("shape"),
        color: colour,
        stroke: direct("stroke"),
        strokeWidth: { field: "strokeWidth", type: "quantitative" as const, scale: null },
        tooltip,
      },
    },
    {
      name: GRAPH_MARKS.nodesOther,
      data: { name: GRAPH_DATA.nodesOther, values: nodes.filter((r) => r.fill !== "gradient") },
      mark: { type: "point" as const, filled: true, opacity: 1 },
      encoding: {
        x,
        y,
        size: { field: "size", type: "quantitative" as const, scale: null },
        shape: direct("shape"),
        color: direct("fillColour"),
        stroke: direct("stroke"),
        strokeWidth: { field: "strokeWidth", type: "quantitative" as const, scale: null },
        strokeDash: {
          condition: { test: "datum.fill === 'no gradient'", value: [2, 2] },
          value: [1, 0],
        },
        tooltip,
      },
    },
    {
      // "0" inside a node whose gradient is rounding noise of a true zero.
      data: { name: GRAPH_DATA.noise, values: nodes.filter((r) => r.fill === "rounding noise") },
      mark: { type: "text" as const, text: "0", fontSize: 10, fontWeight: "bold" as const },
      encoding: { x, y, color: { value: "#333" } },
    },
    {
      // A white halo under each label keeps it legible where an edge runs behind it.
      data: { values: nodes },
      mark: {
        ...labelFont,
        type: "text" as const,
        stroke: "white",
        strokeWidth: 3,
        strokeOpacity: 0.9,
      },
      encoding: { x, y: { ...y, field: "ly" }, text: { field: "text" } },
    },
    {
      name: GRAPH_MARKS.labels,
      data: { values: nodes },
      mark: { ...labelFont, type: "text" as const },
      encoding: {
        x,
        y: { ...y, field: "ly" },
        text: { field: "text" },
        color: direct("labelColour"),
        tooltip,
      },
    },
    {
      data: { values: nodes },
      mark: {
        type: "text" as const,
        fontSize: 8.5,
        baseline: "top" as const,
        align: "center" as const,
        dy: 12,
        color: "#666",
      },
      encoding: { x, y: { ...y, field: "ly" }, text: { field: "detail" } },
    },
    {
      name: GRAPH_MARKS.status,
      data: { values: badges },
      mark: { type: "point" as const, filled: true, opacity: 1, size: 70, strokeWidth: 0 },
      encoding: {
        x: { ...x, field: "bx" },
        y: { ...y, field: "by" },
        shape: direct("glyph"),
        color: direct("glyphColour"),
        tooltip,
      },
    },
    ...keyLayers(x, y, colour, range, keyHeight, verdicts !== undefined, first !== undefined, W),
    ...(first
      ? [{
        // The key's dashed ring, for the node whose rule computed the first divergent gradient.
        data: { values: [{ x: 612, y: -keyHeight + 60, label: "its rule's node" }] },
        layer: [
          {
            mark: {
              type: "point" as const,
              shape: "circle",
              size: 90,
              strokeDash: [3, 2],
              color: OKABE_ITO.differs,
              opacity: 1,
            },
            encoding: { x, y },
          },
          {
            mark: { type: "text" as const, align: "left" as const, dx: 10, fontSize: 10 },
            encoding: { x, y, text: { field: "label" } },
          },
        ],
      }]
      : []),
  ];
  if (drawing.grouped) {
    // Every row of the drawing belongs to one view; only the open view's are drawn. (The key's
    // rows have no view and are always drawn.)
    for (const l of layers as { data?: { values?: { view?: string }[] }; transform?: object[] }[]) {
      if (l.data?.values?.some((r) => r.view !== undefined)) l.transform = [{ filter: VIEW_TEST }];
    }
  }
  return {
    $schema: SCHEMA,
    title: { text: options.title ?? "Gradient flow", subtitle },
    width: W,
    height: H + keyHeight,
    config: CONFIG,
    layer: layers,
  } as VegaLiteSpec;
}

/** What the subtitle says: how to read the colours, and the verdicts in a sentence. */
function subtitleOf(
  snap: GraphSnapshot,
  range: GradientRange,
  verdicts: GraphVerdicts | undefined,
  first: SnapshotNode | undefined,
  culprits: SnapshotNode[],
  width: number,
  full: GraphSnapshot = snap,
  blame?: readonly string[],
): string[] {
  if (!snap.hasGradients) {
    return [
      "No backward pass yet: every node is white. Run graph.backward(loss) and snapshot again",
      "to colour nodes by their gradients.",
    ];
  }
  const lines = [
    `arrows: the forward pass; gradients flow back against them. Colour: mean |grad|, ` +
    `${round(10 ** range.lo)} to ${round(10 ** range.hi)}`,
  ];
  const noise = snap.nodes.filter((n) => n.roundingNoise).map((n) => n.name);
  if (noise.length) {
    lines.push(
      `"0": ${noise.join(", ")} — gradient zero in exact arithmetic, float rounding is all ` +
        "that is left",
    );
  }
  if (verdicts) {
    const against = verdicts.against ?? "hand-written vs automatic";
    lines.push(`${against}: ${verdictCounts(verdicts)}`);
    if (first) {
      // A blamed rule drawn inside a closed block is named as well as its block.
      const named = new Map(full.nodes.map((n) => [n.name, n]));
      const rules = culprits.map((c) => {
        const inside = (blame ?? []).map((b) => named.get(b)).filter((n) =>
          n !== undefined && c.op?.startsWith("block of") && n.scope.includes(c.name)
        ).map((n) => `${n!.text} (${n!.op ?? n!.kind})`);
        return `${c.text} (${c.op ?? c.kind})${
          inside.length ? `: ${inside.join(", ")} in it` : ""
        }`;
      }).join(", ");
      const v = verdicts.nodes[first.name];
      const by = v?.maxdiff !== undefined && Number.isFinite(v.maxdiff)
        ? ` (${v.status}, max |difference| ${fmt(v.maxdiff)})`
        : "";
      lines.push(
        ...wrapText(
          `first divergent: d${first.text}${by}, ringed. Its gradient comes from the rule of ` +
            `${rules || "the nodes it feeds"}: check that rule first (red edge)`,
          Math.floor(width / 6.4),
        ),
      );
      // The hint goes into the picture itself, not only a tooltip: a PNG has no tooltips.
      const hint = verdicts.hint ?? v?.detail;
      if (hint) lines.push(...wrapText(`hint: ${hint}`, Math.floor(width / 6.4)));
    } else lines.push("every compared node agrees");
  }
  return lines;
}

/** Lines of at most `max` characters, broken at spaces (a longer word keeps its own line). */
export function wrapText(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = `   ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function nodeRow(
  n: SnapshotNode,
  layout: GraphLayout,
  range: GradientRange,
  verdicts: GraphVerdicts | undefined,
  culprits: readonly number[] = [],
) {
  const g = n.grad;
  const fill = fillClass(n, range);
  const v = verdicts?.nodes[n.name];
  const status: VerdictStatus | null = verdicts ? v?.status ?? "not compared" : null;
  const first = verdicts?.firstDivergent === n.name;
  const shape = n.op === null ? "square" : n.rule === "hand-written" ? "diamond" : "circle";
  const ringed = first || culprits.includes(n.id);
  const y = layout.nodes[n.id].y;
  return {
    id: n.id,
    name: n.name,
    text: n.text,
    detail: n.detail,
    op: n.op ?? n.kind,
    shapeText: n.shapeText,
    rule: n.rule,
    overridden: n.overridden,
    x: layout.nodes[n.id].x,
    y,
    // The label's top: below the ring of a ringed node, so that the ring never crosses it.
    ly: y + (ringed ? RING_CLEAR : RADIUS + 3),
    ringed,
    shape,
    fill,
    hasGrad: g !== null,
    logGrad: g && g.meanAbs > 0 ? Math.log10(g.meanAbs) : null,
    fillColour: fill === "below floor" ? FLOOR_FILL : "white",
    stroke: n.rule === "hand-written" ? "#222" : "#777",
    strokeWidth: n.rule === "hand-written" ? 1.6 : 0.8,
    labelColour: first || culprits.includes(n.id) ? OKABE_ITO.differs : "#222",
    labelWeight: first ? "bold" : "normal",
    status,
    verdict: v ? `${v.status}${v.detail ? ` (${v.detail})` : ""}` : verdicts ? "not compared" : "",
    gradMeanAbs: g ? fmt(g.meanAbs) : "none",
    gradMaxAbs: fmt(g?.maxAbs),
    valueStd: fmt(n.value.std),
  };
}

/**
 * One row per waypoint per edge; `suspect`: the edges from the first divergent node into the
 * nodes whose rules made its gradient.
 */
function edgeRows(
  snap: GraphSnapshot,
  layout: GraphLayout,
  first: number | undefined,
  culprits: readonly number[],
) {
  return layout.edges.flatMap((route, k) => {
    const e = snap.edges[k];
    const a = snap.nodes[e.from], b = snap.nodes[e.to];
    const tip = `${a.text} → ${b.text} (input ${e.input})`;
    const suspect = first !== undefined && e.from === first && culprits.includes(e.to);
    return route.points.map((p, order) => ({
      edge: k,
      order,
      x: p.x,
      y: p.y,
      carriesGrad: e.carriesGrad,
      suspect,
      tip,
    }));
  });
}

/** An arrowhead at the end of each edge, on the target's outline, pointing along the edge. */
function arrowRows(
  snap: GraphSnapshot,
  layout: GraphLayout,
  first: number | undefined,
  culprits: readonly number[],
) {
  return layout.edges.map((route, k) => {
    const p = route.points;
    const end = p[p.length - 1], prev = p[p.length - 2];
    const dx = end.x - prev.x, dy = end.y - prev.y, len = Math.hypot(dx, dy) || 1;
    // On the target's outline: a block's box is wider than a node.
    const back = snap.nodes[route.to].op?.startsWith("block of") ? 22 : RADIUS + 4;
    const suspect = first !== undefined && snap.edges[k].from === first &&
      culprits.includes(snap.edges[k].to);
    return {
      x: end.x - (dx / len) * back,
      y: end.y - (dy / len) * back,
      angle: (Math.atan2(dy, dx) * 180) / Math.PI,
      size: suspect ? 80 : 44,
      colour: suspect ? OKABE_ITO.differs : "#6b6b6b",
    };
  });
}
