/**
 * Gradient-flow charts: pure functions from graph snapshots and training traces to Vega-Lite v6
 * specs (data inlined), and, at the edge, SVG, PNG, report.html and Jupyter display.
 *
 * ```ts
 * import { gradientFlowGraphSpec, snapshotGraph, writeCharts } from "./viz/mod.ts";
 * const grads = graph.backward(loss);
 * const spec = gradientFlowGraphSpec(snapshotGraph(graph, grads));
 * await writeCharts("charts", [{ name: "flow", spec }]);
 * ```
 * @module
 */
export {
  type GraphSnapshot,
  type RuleKind,
  type SnapshotEdge,
  snapshotGraph,
  type SnapshotNode,
} from "./snapshot.ts";
export {
  type EdgeRoute,
  type GraphLayout,
  layoutGraph,
  type LayoutNode,
  type LayoutOptions,
  type Placement,
  type Point,
} from "./layout.ts";
export {
  type GraphVerdicts,
  type NodeVerdict,
  VERDICT_STATUSES,
  verdictCounts,
  verdictsFromComparison,
  type VerdictStatus,
} from "./verdicts.ts";
export { OKABE_ITO, STATUS_GLYPHS } from "./glyphs.ts";
export {
  type Bin,
  type Histogram,
  histogram,
  type HistogramOptions,
  SATURATION_THRESHOLD,
  type TensorStats,
  tensorStats,
} from "./stats.ts";
export { type Chart, SCHEMA, type VegaLiteSpec } from "./spec.ts";
export {
  type FillClass,
  fillClass,
  gradientFlowGraphSpec,
  type GradientRange,
  gradientRange,
  GRAPH_MARKS,
  type GraphFlowOptions,
} from "./charts/graph_flow.ts";
export {
  PARAM_MEASURES,
  type ParamStat,
  paramStatsOf,
  type ParamStatsOptions,
  paramStatsSpec,
} from "./charts/params.ts";
export {
  distinctLayers,
  histogramName,
  type HistogramsOptions,
  histogramsSpec,
  histogramTitle,
} from "./charts/histograms.ts";
export {
  LOSS_DATA,
  LOSS_SERIES,
  lossBucket,
  type LossOptions,
  type LossRow,
  lossRows,
  lossSpec,
  lossTicks,
  lossWindow,
} from "./charts/loss.ts";
export {
  isMatrix,
  LINE_COLOURS,
  type LrChange,
  paramColours,
  RATIO_DATA,
  UPDATE_RATIO_GUIDE,
  type UpdateRatioOptions,
  updateRatioSpec,
} from "./charts/training.ts";
export {
  distributionRows,
  overlayLabel,
  overlayRows,
  overlaySpec,
} from "./charts/distributions.ts";
export {
  activationsCaption,
  gradientsCaption,
  lossCaption,
  updateRatioCaption,
} from "./captions.ts";
export { dlogitsHeatmapSpec, type Matrix } from "./charts/dlogits.ts";
export {
  differenceHeatmapSpec,
  type GradientDifference,
  type Values,
} from "./charts/difference.ts";
export { backwardOrder } from "./backward_order.ts";
export { comparisonFloor, type ComparisonOptions, comparisonSpec } from "./charts/comparison.ts";
export {
  collectTrace,
  DISTRIBUTION_PERCENTILES,
  type DistributionSample,
  type HistogramSet,
  type ParamSample,
  TraceCollector,
  type TraceEval,
  type TraceEvent,
  traceInto,
  type TraceOptions,
  type TraceStep,
  type TrainingTrace,
} from "./trace.ts";
export {
  CAPTIONS,
  graphCharts,
  type GraphChartsInput,
  trainingCharts,
  writeRunComparison,
  writeTrainingCharts,
} from "./chart_sets.ts";
export {
  compareFinalSpec,
  compareLossSpec,
  compareRatioSpec,
  compareRunsCharts,
  type FinalRow,
  finalRows,
  type NamedRun,
} from "./charts/runs.ts";
export { readRunFile, RUN_FORMAT, type RunFile, runJson, writeRunFile } from "./run_file.ts";
export { type Raster, svgToPNG, toPNG, toSVG, toVega, viewOf } from "./render.ts";
export { writeCharts, type WriteChartsOptions, type WrittenCharts } from "./export.ts";
export { type ReportFact, reportHtml, writeReport } from "./report.ts";
export {
  type ChartBundle,
  chartBundle,
  display,
  type Displayable,
  JUPYTER_DISPLAY,
} from "./display.ts";
export {
  LIVE_CHARTS,
  type LiveChart,
  type LiveMessage,
  type LiveOptions,
  type LiveView,
  openLive,
  serveLive,
} from "./live.ts";

// The engine's types, re-exported so that the charts' API is complete: the charts take the
// engine's graphs, gradients, comparisons and tensors, and these are those types and the ones
// their members name in turn (mod.ts exports and documents the same). Observable is the engine's
// alias of rxjs's, which the docs leave out (graph/node.ts says why).
export type { BackwardOptions, Gradients, RuleFailure } from "../graph/backward.ts";
export type { Blame, CompareOptions, Comparison, ComparisonRow } from "../graph/compare.ts";
export type { EngineEvent, Graph, NodeRef, Operand, RuleCounts } from "../graph/graph.ts";
export type { Node, NodeKind, Observable, Subgraph } from "../graph/node.ts";
export type { Size } from "../graph/size.ts";
export type { AnyRule, AtomicOp, CompositeOp, Op, Rule, RuleArgs, Rules } from "../graph/op.ts";
export type { FusedBuffers } from "../ops/kernels/fused.ts";
export type {
  DType,
  FloatDType,
  NestedNumbers,
  Shape,
  Tensor,
  TensorData,
} from "../ops/kernels/tensor.ts";
