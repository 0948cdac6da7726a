/**
 * Anomaly detection: the first node whose forward value holds NaN or Inf is named with its op,
 * its label and its inputs' statistics, so a learner sees where a bad number was born rather
 * than where it ended up.
 */
import type { Node } from "./node.ts";
import { formatShape, type Tensor } from "../ops/kernels/tensor.ts";

/** min, max, mean and the count of non-finite entries of a tensor. */
export function tensorStats(
  t: Tensor,
): { min: number; max: number; mean: number; nonFinite: number } {
  let min = Infinity, max = -Infinity, sum = 0, nonFinite = 0;
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const n = t.data.length - nonFinite;
  return { min, max, mean: n > 0 ? sum / n : NaN, nonFinite };
}

/** One line per input: `probs (32, 27) min 0 max 0.91 mean 0.037`. */
export function describeInputs(node: Node): string {
  return node.inputs.map((x) => {
    const s = tensorStats(x.value);
    const bad = s.nonFinite > 0 ? ` (${s.nonFinite} not finite)` : "";
    return `${x.name} ${formatShape(x.shape)} min ${fmt(s.min)} max ${fmt(s.max)} mean ${
      fmt(s.mean)
    }${bad}`;
  }).join("; ");
}

/**
 * `logprobs (log)`; an unlabelled node by its inputs, `log#12 (log of probs)` (a node is first
 * evaluated as it is created, before `.named()` can label it); and a node of a composite's
 * subgraph with the node that holds it: `out (add) inside logits (linear)` (which linear?).
 */
export function describeNode(node: Node): string {
  const owner = node.graph.owner;
  const op = node.op?.name ?? node.kind;
  const of = node.label === undefined && node.inputs.length > 0
    ? ` of ${node.inputs.map((x) => x.name).join(", ")}`
    : "";
  const self = `${node.name} (${op}${of})`;
  return owner ? `${self} inside ${describeNode(owner)}` : self;
}

/** The index of the first NaN or ±Inf, or −1. */
export function firstNonFinite(t: Tensor): number {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return i;
  return -1;
}

/** The anomaly message for a node whose forward value is not finite, or undefined. */
export function forwardAnomaly(node: Node): string | undefined {
  const i = firstNonFinite(node.value);
  if (i < 0) return undefined;
  return `anomaly: the forward value of ${describeNode(node)} is ${
    node.value.data[i]
  } at flat index ${i}; its inputs: ${describeInputs(node) || "none"}`;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x);
}
