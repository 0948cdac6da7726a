/**
 * The sets of charts the commands write: a graph's (after a backward pass, with its verdicts)
 * and a training run's (from its trace), each chart with a sentence on how to read it.
 */
import type { Gradients } from "../graph/backward.ts";
import type { Comparison } from "../graph/compare.ts";
import type { Graph } from "../graph/graph.ts";
import type { Node } from "../graph/node.ts";
import { comparisonSpec } from "./charts/comparison.ts";
import { dlogitsHeatmapSpec, type Matrix } from "./charts/dlogits.ts";
import { differenceHeatmapSpec, type GradientDifference } from "./charts/difference.ts";
import { backwardOrder } from "./backward_order.ts";
import { gradientFlowGraphSpec } from "./charts/graph_flow.ts";
import { histogramsSpec } from "./charts/histograms.ts";
import { overlaySpec } from "./charts/distributions.ts";
import {
  activationsCaption,
  gradientsCaption,
  lossCaption,
  paramsCaption,
  updateRatioCaption,
} from "./captions.ts";
import { type ParamStat, paramStatsOf, paramStatsSpec } from "./charts/params.ts";
import { lossSpec } from "./charts/loss.ts";
import { noiseParams, updateRatioSpec } from "./charts/training.ts";
import { writeCharts, type WriteChartsOptions, type WrittenCharts } from "./export.ts";
import { snapshotGraph } from "./snapshot.ts";
import { basename, resolve } from "node:path";
import { compareRunsCharts, type NamedRun } from "./charts/runs.ts";
import { writeRunFile } from "./run_file.ts";
import type { Chart } from "./spec.ts";
import { type Histogram, histogram } from "./stats.ts";
import type { TrainingTrace } from "./trace.ts";
import { type GraphVerdicts, verdictsFromComparison } from "./verdicts.ts";

/** How to read each chart, in one sentence (report.html prints it under the chart). */
export const CAPTIONS = {
  gradient_flow_graph:
    "Follow the arrows forward through the net; gradients flow back against them. Dark nodes " +
    "receive little gradient, bright ones much; with verdicts, ✗ marks a gradient that differs " +
    "from the automatic one, and the ringed node is where to look first.",
  comparison:
    "One row per node, as the lecture's cmp prints them: the further right, the larger the " +
    "difference from the automatic gradient; ✓ at the floor is bit-exact, ≈ within allclose's " +
    "tolerance, ✗ wrong.",
  difference:
    "Where the first wrong gradient differs from the reference, entry by entry: every cell " +
    "tinted is a factor, the picture inverted a sign, a stripe a row or column gone wrong.",
  dlogits:
    "One row per example: the red cell is the correct next letter, pulled up; the blue cells are " +
    "the other letters, pushed down in proportion to their probability; every row sums to 0.",
  gradient_per_parameter:
    "One row per parameter: far left on an axis means it barely learns; on update:data, the " +
    "shaded band around 1e-3 is a healthy step.",
  activation_histograms:
    "How each layer's values spread: a tanh layer piled up at ±1 is saturated and passes little " +
    "gradient back.",
  gradient_histograms:
    "How each layer's gradient spreads (elements counted on a log axis, so that a tail of a " +
    "few shows): layers whose spreads differ by orders of magnitude learn at very different " +
    "speeds.",
  activation_overlay:
    "Every layer on one axis, as the lecture overlays them: the legend gives each layer's " +
    "mean, std and, for tanh, the share of saturated units.",
  gradient_overlay:
    "Every layer's gradient on one axis: a layer whose line is much narrower than the others " +
    "receives much less gradient.",
  loss: "The loss falls fast, then slowly, and steps down where the learning rate drops; val " +
    "points well above the train points (more than a few percent) mean overfitting.",
  update_ratio:
    "Each line is the size of the step the optimizer took against the parameter it changes: " +
    "well below the " +
    "band a parameter learns too slowly, well above it too fast; the lr drop moves every line " +
    "down a decade.",
} as const;

/** What `graphCharts` draws. */
export interface GraphChartsInput {
  /** The graph to draw, holding its last forward pass's values. */
  graph: Graph;
  /** The gradients of a backward pass; without them the graph is drawn as "before backward". */
  grads?: Gradients;
  /**
   * The engine's comparison of hand-written and automatic rules: drawn as the comparison chart,
   * and on the graph's nodes unless `verdicts` is given.
   */
  comparison?: Comparison;
  /**
   * A checker's verdicts (viz/verdicts.ts: a `ninja check` report, say): marked on the graph's
   * nodes and drawn as the comparison chart (when `comparison` is not given).
   */
  verdicts?: GraphVerdicts;
  /** The rows the exercise tests, marked in the comparison chart (exercise 2: logits). */
  focus?: readonly string[];
  /** Who tests them ("exercise 2"). */
  focusLabel?: string;
  /** The exercise's own limit on a row's maxdiff, drawn in the comparison chart. */
  threshold?: number;
  /** The first wrong node's gradient, yours and the reference: a heatmap of the difference. */
  difference?: GradientDifference;
  /** Exercise 2's dlogits (batch, vocab), drawn as a heatmap. */
  dlogits?: Matrix;
  /** Names of the dlogits columns (the vocabulary). */
  vocab?: readonly string[];
  /** The learning rate a step would use: adds update:data to the per-parameter chart. */
  lr?: number;
  /** Nodes to draw histograms of (default: hprebn, hpreact, h, logits, or else every tanh). */
  activations?: readonly Node[];
  /** A title prefix, such as "exercise 1". */
  title?: string;
}

/** The lecture's activations worth a histogram, by label, or else every tanh node. */
function defaultActivations(graph: Graph): Node[] {
  const named = ["hprebn", "hpreact", "h", "logits"].filter((l) => graph.has(l)).map((l) =>
    graph.node(l)
  );
  return named.length ? named : graph.nodes.filter((n) => n.op?.name === "tanh");
}

/** Activation and gradient histograms of some nodes. */
export function layerHistograms(nodes: readonly Node[], grads?: Gradients) {
  const activations: Histogram[] = [], gradients: Histogram[] = [];
  for (const n of nodes) {
    if (n.value.dtype === "int32") continue;
    activations.push(
      histogram(n.name, "activation", n.shape, n.value.data, { tanh: n.op?.name === "tanh" }),
    );
    const g = grads?.get(n);
    if (g) gradients.push(histogram(n.name, "gradient", n.shape, g.data));
  }
  return { activations, gradients };
}

/** The charts of one graph: flow graph, comparison, dlogits, per-parameter dots, histograms. */
export function graphCharts(input: GraphChartsInput): Chart[] {
  const { graph, grads } = input;
  const prefix = input.title ? `${input.title}: ` : "";
  const snap = snapshotGraph(graph, grads);
  const verdicts = input.verdicts ??
    (input.comparison ? verdictsFromComparison(input.comparison) : undefined);
  const charts: Chart[] = [{
    name: "gradient_flow_graph",
    spec: gradientFlowGraphSpec(snap, { title: `${prefix}gradient flow`, verdicts }),
    caption: CAPTIONS.gradient_flow_graph,
    wide: true,
  }];
  const compared = input.comparison ?? input.verdicts;
  if (compared) {
    charts.push({
      name: "comparison",
      spec: comparisonSpec(compared, {
        title: `${prefix}${verdicts?.against ?? "hand-written vs automatic"} gradients`,
        focus: input.focus,
        focusLabel: input.focusLabel,
        threshold: input.threshold,
        order: backwardOrder(snap),
      }),
      caption: CAPTIONS.comparison,
    });
  }
  if (input.difference) {
    charts.push({
      name: "first_wrong_difference",
      spec: differenceHeatmapSpec(
        input.difference,
        `${prefix}d${input.difference.name}: ${input.difference.yoursLabel ?? "yours"} − reference`,
      ),
      caption: CAPTIONS.difference,
    });
  }
  if (input.dlogits) {
    charts.push({
      name: "dlogits",
      spec: dlogitsHeatmapSpec(input.dlogits, input.vocab, `${prefix}dlogits`),
      caption: CAPTIONS.dlogits,
    });
  }
  const params = paramStatsOf(snap);
  if (params.length) {
    charts.push({
      name: "gradient_per_parameter",
      spec: paramStatsSpec(params, { title: `${prefix}gradient per parameter`, lr: input.lr }),
      caption: CAPTIONS.gradient_per_parameter,
    });
  }
  const h = layerHistograms(input.activations ?? defaultActivations(graph), grads);
  if (h.activations.length) {
    charts.push({
      name: "activation_histograms",
      spec: histogramsSpec(h.activations, `${prefix}activations`),
      caption: CAPTIONS.activation_histograms,
    });
  }
  if (h.gradients.length) {
    charts.push({
      name: "gradient_histograms",
      spec: histogramsSpec(h.gradients, `${prefix}gradients of the activations`, {
        logCount: true,
      }),
      caption: CAPTIONS.gradient_histograms,
    });
  }
  return charts;
}

/** The last step's parameter statistics, with what the last snapshot knows of rounding noise. */
function lastParams(trace: TrainingTrace): ParamStat[] {
  const noise = new Set(
    trace.snapshot?.nodes.filter((n) => n.roundingNoise).map((n) => n.name),
  );
  return trace.lastParams.map((p) => ({ ...p, roundingNoise: noise.has(p.name) }));
}

/**
 * The charts of a training run: the last step's gradient-flow graph first, then the loss, the
 * update:data ratio, the per-parameter dots and the histograms of the last step.
 */
export function trainingCharts(trace: TrainingTrace): Chart[] {
  const charts: Chart[] = [];
  if (trace.snapshot) {
    charts.push({
      name: "gradient_flow_graph",
      spec: gradientFlowGraphSpec(trace.snapshot, {
        title: `gradient flow at step ${
          trace.histograms?.step ?? trace.firstStep + trace.steps - 1
        }`,
      }),
      caption: CAPTIONS.gradient_flow_graph,
      wide: true,
    });
  }
  charts.push({ name: "loss", spec: lossSpec(trace), caption: lossCaption(trace) });
  if (trace.samples.length) {
    const noise = noiseParams(trace);
    charts.push({
      name: "update_ratio",
      spec: updateRatioSpec(trace, { noise }),
      caption: updateRatioCaption(trace, noise),
    });
  }
  if (trace.lastParams.length) {
    charts.push({
      name: "gradient_per_parameter",
      spec: paramStatsSpec(lastParams(trace), {
        title: "gradient per parameter (last sampled step)",
        lr: trace.lrChanges.at(-1)?.lr,
      }),
      caption: paramsCaption(lastParams(trace)),
    });
  }
  const h = trace.histograms;
  const over = trace.distributions?.length ? trace.distributions : undefined;
  if (h?.activations.length) {
    charts.push({
      name: "activation_histograms",
      spec: histogramsSpec(h.activations, `activations at step ${h.step}`, { over }),
      caption: activationsCaption(h.activations),
      wide: over !== undefined,
    });
  }
  if (h?.gradients.length) {
    charts.push({
      name: "gradient_histograms",
      spec: histogramsSpec(h.gradients, `gradients at step ${h.step}`, { over, logCount: true }),
      caption: gradientsCaption(h.gradients),
      wide: over !== undefined,
    });
  }
  if (h && h.activations.length > 1) {
    charts.push({
      name: "activation_overlay",
      spec: overlaySpec(h.activations, `every layer's activations at step ${h.step}`),
      caption: CAPTIONS.activation_overlay,
    });
  }
  if (h && h.gradients.length > 1) {
    charts.push({
      name: "gradient_overlay",
      spec: overlaySpec(h.gradients, `every layer's gradient at step ${h.step}`),
      caption: CAPTIONS.gradient_overlay,
    });
  }
  return charts;
}

/**
 * Writes a training run's charts, report.html and run.json (the trace as data, for `deno task
 * chart compare`: viz/run_file.ts) into `dir` (what `--charts DIR` does).
 */
export async function writeTrainingCharts(
  dir: string,
  trace: TrainingTrace,
  options: WriteChartsOptions = {},
): Promise<WrittenCharts & { run: string }> {
  const title = options.title ?? "ninjagrad training";
  const written = await writeCharts(dir, trainingCharts(trace), { ...options, title });
  const run = await writeRunFile(dir, trace, {
    name: basename(resolve(dir)),
    title,
    facts: options.facts,
  });
  return { ...written, run };
}

/** Writes the charts comparing some runs, and their report.html, into `dir`. */
export function writeRunComparison(
  dir: string,
  runs: readonly NamedRun[],
  options: WriteChartsOptions = {},
): Promise<WrittenCharts> {
  return writeCharts(dir, compareRunsCharts(runs), {
    title: `ninjagrad: ${runs.map((r) => r.name).join(" vs ")}`,
    ...options,
  });
}
