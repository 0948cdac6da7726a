/**
 * Finite-difference gradient check for any float64 graph: central differences on every element
 * of the chosen leaves, against the engine's backward with a random, non-unit upstream gradient.
 */
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { Graph, NodeRef } from "./graph.ts";
import type { Node } from "./node.ts";
import { Tensor } from "../ops/kernels/tensor.ts";

/** Options of `gradcheck`. */
export interface GradcheckOptions {
  /** Leaves to perturb (default: every float leaf that receives a gradient). */
  wrt?: readonly NodeRef[];
  /** Step of the central difference (default 1e-6). */
  eps?: number;
  /** The upstream gradient of the output (default: random in [0.5, 1.5) with random signs). */
  seed?: Tensor;
  /** A random source for the default seed (default Math.random). */
  random?: () => number;
}

/** Per leaf, the largest error of the analytic gradient against the numeric one. */
export interface GradcheckResult {
  /** max |analytic − numeric| / max(1, |numeric|) over all checked elements. */
  maxError: number;
  /** Per checked leaf: its name, its largest relative error and its largest absolute difference. */
  rows: { name: string; maxError: number; maxAbsDiff: number }[];
}

/**
 * Checks `graph.backward(output)` against central differences of Σ seed · output. The graph must
 * be float64, where differences are accurate to about 1e-8.
 */
export function gradcheck(
  graph: Graph,
  output: NodeRef,
  options: GradcheckOptions = {},
): GradcheckResult {
  if (graph.dtype !== "float64") {
    throw new NinjagradError(
      'gradcheck needs a float64 graph: build it with new Graph({ dtype: "float64" })',
    );
  }
  const out = graph.node(output);
  const eps = options.eps ?? 1e-6;
  const rand = options.random ?? Math.random;
  const seed = options.seed ?? Tensor.zeros(out.shape, "float64");
  if (!options.seed) {
    for (let i = 0; i < seed.size; i++) seed.data[i] = (rand() < 0.5 ? -1 : 1) * (0.5 + rand());
  }
  const grads = graph.backward(out, { seed, notify: false });
  const leaves: Node[] = options.wrt
    ? options.wrt.map((r) => graph.node(r))
    : graph.nodes.filter((n) => n.kind !== "op" && grads.get(n) !== undefined);
  const objective = () => {
    let s = 0;
    for (let i = 0; i < seed.size; i++) s += seed.data[i] * out.value.data[i];
    return s;
  };
  let maxError = 0;
  const rows = leaves.map((leaf) => {
    const analytic = grads.get(leaf);
    if (!analytic) throw new NinjagradError(`${leaf.name} receives no gradient from ${out.name}`);
    let leafMax = 0, maxAbsDiff = 0;
    const x = leaf.value.data;
    for (let i = 0; i < x.length; i++) {
      const orig = x[i];
      x[i] = orig + eps;
      graph.changed(leaf);
      const up = objective();
      x[i] = orig - eps;
      graph.changed(leaf);
      const down = objective();
      x[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const d = Math.abs(analytic.data[i] - numeric);
      maxAbsDiff = Math.max(maxAbsDiff, d);
      leafMax = Math.max(leafMax, d / Math.max(1, Math.abs(numeric)));
    }
    graph.changed(leaf);
    maxError = Math.max(maxError, leafMax);
    return { name: leaf.name, maxError: leafMax, maxAbsDiff };
  });
  return { maxError, rows };
}
