/**
 * `--detect-anomaly` for a graph that is already built and run (the exercises'): its forward and
 * backward passes again with the graph's anomaly detection on, so that the first node whose value
 * or gradient is NaN or ±Inf stops the command with its name, op, rule and inputs' statistics.
 */
import type { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";

/**
 * Recomputes `graph` and backpropagates from `loss` through the hand-written rules, then the
 * automatic ones, with anomaly detection on; throws the engine's one-line anomaly error. Every
 * node has its label by now (a node is first evaluated as it is created, before `.named()`).
 */
export function detectAnomalies(graph: Graph, loss: Node): void {
  const before = graph.detectAnomaly;
  graph.detectAnomaly = true;
  try {
    graph.recompute();
    graph.backward(loss, { notify: false });
    graph.backward(loss, { notify: false, overrides: false });
  } finally {
    graph.detectAnomaly = before;
  }
}
