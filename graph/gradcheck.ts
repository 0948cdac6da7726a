/**
 * Finite-difference gradient check for any float64 graph: central differences on every element
 * of the chosen leaves (every float leaf by default), against the engine's backward with a
 * random, non-unit upstream gradient (constants, which never receive one, are left out). A
 * leaf the backward gives no gradient is compared as zeros: it passes when the output truly does not depend on it (a condition, an unused leaf),
 * and fails when the differences say it does (a rule that forgot an input).
 */
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { Graph, NodeRef } from "./graph.ts";
import type { Node } from "./node.ts";
import { Tensor } from "../ops/kernels/tensor.ts";

/** Options of `gradcheck`. */
export interface GradcheckOptions {
  /**
   * Leaves to perturb (default: every float param and input, whether or not it receives a
   * gradient; constants never do).
   */
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
  /**
   * Per checked leaf: its name, its largest relative error, its largest absolute difference,
   * and whether the backward gave it a gradient (if not, it was compared as zeros).
   */
  rows: { name: string; maxError: number; maxAbsDiff: number; received: boolean }[];
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
    : graph.nodes.filter((n) => (n.kind === "param" || n.kind === "input") && isFloat(n));
  const objective = () => {
    let s = 0;
    for (let i = 0; i < seed.size; i++) s += seed.data[i] * out.value.data[i];
    return s;
  };
  let maxError = 0;
  const rows = leaves.map((leaf) => {
    if (leaf.kind === "op" || !isFloat(leaf)) {
      throw new NinjagradError(
        `gradcheck perturbs float leaves; ${leaf.name} is ${
          leaf.kind === "op" ? "an op node" : "an integer leaf"
        }: leave it out of wrt`,
      );
    }
    const analytic = grads.get(leaf);
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
      const d = Math.abs((analytic ? analytic.data[i] : 0) - numeric);
      maxAbsDiff = Math.max(maxAbsDiff, d);
      leafMax = Math.max(leafMax, d / Math.max(1, Math.abs(numeric)));
    }
    graph.changed(leaf);
    maxError = Math.max(maxError, leafMax);
    return { name: leaf.name, maxError: leafMax, maxAbsDiff, received: analytic !== undefined };
  });
  return { maxError, rows };
}

function isFloat(n: Node): boolean {
  return n.value.dtype !== "int32";
}
