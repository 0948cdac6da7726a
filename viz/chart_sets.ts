/**
 * The sets of charts the commands write: a graph's (after a backward pass, with its comparison)
 * and a training run's (from its trace).
 */
import type { Gradients } from "../graph/backward.ts";
import type { Comparison } from "../graph/compare.ts";
import type { Graph } from "../graph/graph.ts";
import type { Node } from "../graph/node.ts";
import { comparisonSpec } from "./charts/comparison.ts";
import { dlogitsHeatmapSpec, type Matrix } from "./charts/dlogits.ts";
import { gradientFlowGraphSpec } from "./charts/graph_flow.ts";
import { histogramsSpec } from "./charts/histograms.ts";
import { gradDataRatioSpec, layerFlowSpec, paramStatsOf } from "./charts/params.ts";
import { lossSpec, updateRatioSpec } from "./charts/training.ts";
import { writeCharts, type WriteChartsOptions, type WrittenCharts } from "./export.ts";
import { snapshotGraph } from "./snapshot.ts";
import type { Chart } from "./spec.ts";
import { type Histogram, histogram } from "./stats.ts";
import type { TrainingTrace } from "./trace.ts";

/** What `graphCharts` draws. */
export interface GraphChartsInput {
  graph: Graph;
  /** The gradients of a backward pass; without them the graph is drawn as "before backward". */
  grads?: Gradients;
  /** A comparison of hand-written and automatic rules, drawn as the cmp chart. */
  comparison?: Comparison;
  /** Exercise 2's dlogits (batch, vocab), drawn as a heatmap. */
  dlogits?: Matrix;
  /** Names of the dlogits columns (the vocabulary). */
  vocab?: readonly string[];
  /** Nodes whose values (and gradients) get histograms (default: hpreact, h, logits if labelled, else every tanh). */
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

/** The charts of one graph: flow graph, comparison, dlogits, per-parameter flow, histograms. */
export function graphCharts(input: GraphChartsInput): Chart[] {
  const { graph, grads } = input;
  const prefix = input.title ? `${input.title}: ` : "";
  const snap = snapshotGraph(graph, grads);
  const charts: Chart[] = [{
    name: "gradient_flow_graph",
    spec: gradientFlowGraphSpec(snap, { title: `${prefix}gradient flow` }),
  }];
  if (input.comparison) {
    charts.push({
      name: "comparison",
      spec: comparisonSpec(input.comparison, `${prefix}hand-written vs automatic gradients`),
    });
  }
  if (input.dlogits) {
    charts.push({
      name: "dlogits",
      spec: dlogitsHeatmapSpec(input.dlogits, input.vocab, `${prefix}dlogits`),
    });
  }
  const params = paramStatsOf(snap);
  if (params.length) {
    charts.push({
      name: "layer_flow",
      spec: layerFlowSpec(params, `${prefix}gradient per parameter`),
    });
    if (grads) {
      charts.push({
        name: "grad_data_ratio",
        spec: gradDataRatioSpec(params, `${prefix}grad:data ratio`),
      });
    }
  }
  const h = layerHistograms(input.activations ?? defaultActivations(graph), grads);
  if (h.activations.length) {
    charts.push({
      name: "activation_histograms",
      spec: histogramsSpec(h.activations, `${prefix}activations`),
    });
  }
  if (h.gradients.length) {
    charts.push({
      name: "gradient_histograms",
      spec: histogramsSpec(h.gradients, `${prefix}gradients of the activations`),
    });
  }
  return charts;
}

/** The charts of a training run: loss, update:data ratio, and the last step's pictures. */
export function trainingCharts(trace: TrainingTrace): Chart[] {
  const charts: Chart[] = [{ name: "loss", spec: lossSpec(trace) }];
  if (trace.samples.length) charts.push({ name: "update_ratio", spec: updateRatioSpec(trace) });
  if (trace.lastParams.length) {
    charts.push({
      name: "layer_flow",
      spec: layerFlowSpec(trace.lastParams, "gradient per parameter (last step)"),
    });
    charts.push({
      name: "grad_data_ratio",
      spec: gradDataRatioSpec(trace.lastParams, "grad:data ratio (last step)"),
    });
  }
  const h = trace.histograms;
  if (h?.activations.length) {
    charts.push({
      name: "activation_histograms",
      spec: histogramsSpec(h.activations, `activations at step ${h.step}`),
    });
  }
  if (h?.gradients.length) {
    charts.push({
      name: "gradient_histograms",
      spec: histogramsSpec(h.gradients, `gradients at step ${h.step}`),
    });
  }
  if (trace.snapshot) {
    charts.push({
      name: "gradient_flow_graph",
      spec: gradientFlowGraphSpec(trace.snapshot, { title: "gradient flow (last step)" }),
    });
  }
  return charts;
}

/** Writes a training run's charts and report.html into `dir` (what `--charts DIR` does). */
export function writeTrainingCharts(
  dir: string,
  trace: TrainingTrace,
  options: WriteChartsOptions = {},
): Promise<WrittenCharts> {
  return writeCharts(dir, trainingCharts(trace), { title: "ninjagrad training", ...options });
}
