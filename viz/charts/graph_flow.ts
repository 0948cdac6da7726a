/**
 * Chart 1, the gradient-flow graph: the computational graph after a backward pass, left to right
 * by depth, one point per node coloured by log10 mean |grad|, one line per edge, hand-written
 * rules outlined. Before any backward pass the nodes are grey and the subtitle says why.
 */
import type { GraphSnapshot, SnapshotNode } from "../snapshot.ts";
import { CONFIG, fmt, log10OrNull, SCHEMA, type VegaLiteSpec } from "../spec.ts";

/** Options of `gradientFlowGraphSpec`. */
export interface GraphFlowOptions {
  /** Chart title (default "Gradient flow"). */
  title?: string;
  /** Pixels per column (default 84; 56 for graphs of more than 120 nodes). */
  columnWidth?: number;
  /** Pixels per row (default 56; 40 for graphs of more than 120 nodes). */
  rowHeight?: number;
}

/** Mark names, so that tests and renderers can count a layer's marks in the scenegraph. */
export const GRAPH_MARKS = {
  edges: "edges",
  nodesWithGrad: "nodes_grad",
  nodesWithoutGrad: "nodes_nograd",
  labels: "labels",
} as const;

const OVERRIDE_COLOUR = "#d62728";

/** One layer of a layered spec. */
type Layer = Extract<VegaLiteSpec, { layer: unknown }>["layer"][number];

/** The gradient-flow graph of a snapshot (see the module comment). */
export function gradientFlowGraphSpec(
  snap: GraphSnapshot,
  options: GraphFlowOptions = {},
): VegaLiteSpec {
  const large = snap.nodes.length > 120;
  const colWidth = options.columnWidth ?? (large ? 56 : 84);
  const rowHeight = options.rowHeight ?? (large ? 40 : 56);
  const rows = snap.nodes.map(nodeRow);
  const edgePoints = snap.edges.flatMap((e, k) => {
    const a = snap.nodes[e.from], b = snap.nodes[e.to];
    const span = b.depth - a.depth;
    const pts = [{ x: a.depth, y: a.row }];
    // An edge that skips columns arcs above the rows, so it does not run through the nodes
    // between its ends (a chain puts them all on one row).
    if (span > 1) {
      pts.push({ x: (a.depth + b.depth) / 2, y: (a.row + b.row) / 2 - 0.25 - 0.12 * span });
    }
    pts.push({ x: b.depth, y: b.row });
    const tip = `${a.name} → ${b.name} (${e.input})`;
    return pts.map((p, order) => ({ edge: k, order, ...p, carriesGrad: e.carriesGrad, tip }));
  });
  const ys = [...rows.map((r) => r.y), ...edgePoints.map((p) => p.y)];
  const yMin = Math.min(0, ...ys) - 0.6, yMax = Math.max(0, ...ys) + 0.6;
  const withGrad = rows.filter((r) => r.logMeanAbsGrad !== null);
  const withoutGrad = rows.filter((r) => r.logMeanAbsGrad === null);
  const overridden = rows.filter((r) => r.overridden).length;

  const x = {
    field: "x",
    type: "quantitative" as const,
    axis: null,
    scale: { domain: [-0.5, Math.max(1, snap.columns) - 0.5], nice: false, zero: false },
  };
  const y = {
    field: "y",
    type: "quantitative" as const,
    axis: null,
    scale: { domain: [yMin, yMax], nice: false, zero: false, reverse: true },
  };
  const shape = {
    field: "rule",
    type: "nominal" as const,
    title: "rule",
    scale: { domain: ["auto", "hand-written", "leaf"], range: ["circle", "diamond", "square"] },
    legend: { orient: "top" as const, symbolFillColor: "#c8c8c8" },
  };
  const stroke = {
    condition: { test: "datum.overridden", value: OVERRIDE_COLOUR },
    value: "#333",
  };
  const strokeWidth = { condition: { test: "datum.overridden", value: 2 }, value: 0.6 };
  const tooltip = [
    { field: "name", title: "node" },
    { field: "op", title: "op" },
    { field: "kind", title: "kind" },
    { field: "shape", title: "shape" },
    { field: "rule", title: "rule" },
    { field: "gradMeanAbs", title: "mean |grad|" },
    { field: "gradMean", title: "grad mean" },
    { field: "gradStd", title: "grad std" },
    { field: "gradMaxAbs", title: "max |grad|" },
    { field: "valueStd", title: "value std" },
  ];
  const size = large ? 90 : 260;
  const labelMark = {
    type: "text" as const,
    dy: large ? 9 : 14,
    fontSize: large ? 8 : 10,
    baseline: "top" as const,
  };

  const subtitle = !snap.hasGradients
    ? [
      "No backward pass yet: every node is grey. Run graph.backward(loss) and snapshot again",
      "to colour nodes by their gradients.",
    ]
    : [
      "colour: log10 mean |grad|; grey: no gradient reaches the node (or it is all zeros)",
      overridden > 0
        ? `red diamond: hand-written rule (${overridden} node${overridden > 1 ? "s" : ""})`
        : "no hand-written rules: every gradient comes from the ops' own rules",
    ];

  const colourLayer: Layer = {
    name: GRAPH_MARKS.nodesWithGrad,
    data: { values: withGrad },
    mark: { type: "point", filled: true, opacity: 1, size },
    encoding: {
      x,
      y,
      shape,
      stroke,
      strokeWidth,
      tooltip,
      color: {
        field: "logMeanAbsGrad",
        type: "quantitative",
        title: "log10 mean |grad|",
        scale: { scheme: "viridis" },
        legend: { orient: "top", direction: "horizontal", gradientLength: 160 },
      },
    },
  };

  return {
    $schema: SCHEMA,
    title: { text: options.title ?? "Gradient flow", subtitle },
    width: Math.max(360, Math.max(1, snap.columns) * colWidth),
    height: Math.max(160, (yMax - yMin) * rowHeight),
    config: CONFIG,
    layer: [
      {
        name: GRAPH_MARKS.edges,
        data: { values: edgePoints },
        mark: { type: "line", interpolate: "basis", color: "#9a9a9a", strokeWidth: 1.2 },
        encoding: {
          x,
          y,
          detail: { field: "edge", type: "nominal" },
          order: { field: "order", type: "quantitative" },
          strokeDash: {
            condition: { test: "datum.carriesGrad", value: [1, 0] },
            value: [4, 3],
          },
          tooltip: { field: "tip", type: "nominal" },
        },
      },
      {
        name: GRAPH_MARKS.nodesWithoutGrad,
        data: { values: withoutGrad },
        mark: { type: "point", filled: true, opacity: 1, size, color: "#c8c8c8" },
        encoding: { x, y, shape, stroke, strokeWidth, tooltip },
      },
      // Without gradients there is no colour scale to draw (its legend would read NaN).
      ...(withGrad.length === 0 ? [] : [colourLayer]),
      {
        // A white halo under each label keeps it legible where an edge runs behind it.
        data: { values: rows },
        mark: { ...labelMark, stroke: "white", strokeWidth: 3, strokeOpacity: 0.85 },
        encoding: { x, y, text: { field: "text" } },
      },
      {
        name: GRAPH_MARKS.labels,
        data: { values: rows },
        mark: labelMark,
        encoding: {
          x,
          y,
          text: { field: "text" },
          color: {
            condition: { test: "datum.overridden", value: OVERRIDE_COLOUR },
            value: "#222",
          },
          tooltip,
        },
      },
    ],
  };
}

function nodeRow(n: SnapshotNode) {
  const g = n.grad;
  return {
    id: n.id,
    name: n.name,
    text: n.text,
    op: n.op ?? "leaf",
    kind: n.kind,
    shape: n.shapeText,
    x: n.depth,
    y: n.row,
    rule: n.rule,
    overridden: n.overridden,
    logMeanAbsGrad: log10OrNull(g?.meanAbs),
    gradMeanAbs: g ? fmt(g.meanAbs) : "none",
    gradMean: fmt(g?.mean),
    gradStd: fmt(g?.std),
    gradMaxAbs: fmt(g?.maxAbs),
    valueStd: fmt(n.value.std),
  };
}
