/**
 * The backward pass: walk the nodes that lie on a path to the loss in reverse creation order,
 * call each node's rule per input (its override if set, else its op's), check what the rule
 * returned, and sum it into that input's gradient. Iterative, never recursive; gradients are
 * returned, not stored on nodes, so calling it twice gives the same result.
 */
import type { AnyRule } from "../ops/op.ts";
import { axesToSum } from "../ops/kernels/broadcast.ts";
import { add } from "../ops/kernels/elementwise.ts";
import { describeInputs, firstNonFinite, tensorStats } from "./anomaly.ts";
import { NinjagradError } from "./errors.ts";
import type { Graph } from "./graph.ts";
import type { Node } from "./node.ts";
import { formatShape, sameShape, type Shape, sizeOf, Tensor } from "./tensor.ts";

/** Options of `graph.backward`. */
export interface BackwardOptions {
  /** The upstream gradient of the loss (default: ones of its shape). */
  seed?: Tensor;
  /** `false` runs the ops' own rules even where a node is overridden (default `true`). */
  overrides?: boolean;
  /** `false` skips notifying `grad$` and `gradients$` observers (used internally by compare). */
  notify?: boolean;
  /**
   * Called when a rule throws or returns something unusable. Return a replacement gradient to go
   * on (compare substitutes the automatic rule's), or nothing to throw the error.
   */
  onRuleError?: (failure: RuleFailure) => Tensor | undefined;
}

/** A rule that failed: which node, which input, why. */
export interface RuleFailure {
  node: Node;
  input: string;
  message: string;
  /** The returned gradient's shape, when the failure is a shape mismatch. */
  returnedShape?: Shape;
  /** Reruns the op's automatic rule for this input on the same upstream gradient. */
  automatic: () => Tensor;
}

/** Gradients of a backward pass, by node. Treat the tensors as read-only. */
export class Gradients {
  constructor(private readonly graph: Graph, private readonly byId: Map<number, Tensor>) {}

  /** The gradient of a node (or label), or undefined when no gradient reached it. */
  get(ref: Node | string): Tensor | undefined {
    if (typeof ref === "string" && !this.graph.has(ref)) return undefined;
    return this.byId.get(this.graph.node(ref).id);
  }

  /** The nodes that received a gradient, in backward order. */
  nodes(): Node[] {
    return [...this.byId.keys()].sort((a, b) => b - a).map((id) => this.graph.nodes[id]);
  }

  /** Labelled gradients as a plain object. */
  toObject(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const n of this.nodes()) if (n.label !== undefined) out[n.label] = this.byId.get(n.id)!;
    return out;
  }
}

/** Which nodes lie on a path to `loss` and need a gradient. */
function onPath(graph: Graph, loss: Node): Uint8Array {
  const needed = new Uint8Array(graph.nodes.length);
  needed[loss.id] = 1;
  for (let i = loss.id; i >= 0; i--) {
    if (!needed[i]) continue;
    for (const x of graph.nodes[i].inputs) if (x.requiresGrad) needed[x.id] = 1;
  }
  return needed;
}

/** Runs backward from `loss`; see the module comment. */
export function backward(graph: Graph, loss: Node, options: BackwardOptions = {}): Gradients {
  if (!loss.requiresGrad) {
    throw new NinjagradError(
      `${loss.name} does not depend on any parameter or float input: nothing to differentiate`,
    );
  }
  const seed = options.seed ?? Tensor.full(loss.shape, 1, graph.dtype);
  if (!sameShape(seed.shape, loss.shape)) {
    throw new NinjagradError(
      `the seed gradient is ${formatShape(seed.shape)} but ${loss.name} is ${
        formatShape(loss.shape)
      }`,
    );
  }
  const needed = onPath(graph, loss);
  const grads = new Map<number, Tensor>([[loss.id, seed]]);
  // Nodes whose gradient is an accumulator allocated here for that node alone, so it may be
  // added into in place. Ownership is per node, not per tensor: a rule may pass an accumulator
  // through unchanged (add returns g), and that input must not add into its consumer's gradient.
  const owned = new Set<number>();
  const useOverrides = options.overrides !== false;
  for (let i = loss.id; i >= 0; i--) {
    const node = graph.nodes[i];
    const g = grads.get(i);
    if (!needed[i] || !g || !node.op) continue;
    const op = node.op;
    const override = useOverrides ? node.override : undefined;
    op.inputs.forEach((name, j) => {
      const input = node.inputs[j];
      if (op.nondiff.includes(name) || !input.requiresGrad || !needed[input.id]) return;
      const rule = override?.[name];
      const contribution = rule
        ? runRule(graph, node, name, rule, g, "override", options)
        : runRule(graph, node, name, automaticRule(node, name), g, "auto", options);
      const prev = grads.get(input.id);
      if (!prev) {
        grads.set(input.id, contribution);
      } else if (owned.has(input.id)) {
        add(prev, contribution, prev);
      } else {
        // Never add into a tensor a rule returned: it may be an upstream gradient or a value.
        grads.set(input.id, add(prev, contribution));
        owned.add(input.id);
      }
    });
  }
  return new Gradients(graph, grads);
}

/** The op's own rule for one input; a composite's is backprop through its subgraph. */
export function automaticRule(node: Node, input: string): AnyRule {
  const op = node.op!;
  if (op.kind === "atomic") {
    const rule = op.vjp[input];
    if (!rule) throw new NinjagradError(`${op.name} has no rule for its input "${input}"`);
    return rule;
  }
  return ({ g }) => {
    const sub = node.sub!;
    const inner = sub.graph.backward(sub.out, { seed: g, notify: false });
    const leaf = sub.leaves[op.inputs.indexOf(input)];
    return inner.get(leaf) ?? Tensor.zeros(leaf.shape, g.dtype === "int32" ? "float32" : g.dtype);
  };
}

function runRule(
  graph: Graph,
  node: Node,
  name: string,
  rule: AnyRule,
  g: Tensor,
  kind: "auto" | "override",
  options: BackwardOptions,
): Tensor {
  const input = node.inputs[node.op!.inputs.indexOf(name)];
  const inputs: Record<string, Tensor> = {};
  node.op!.inputs.forEach((n, j) => (inputs[n] = node.inputs[j].value));
  graph.ruleCounts[kind]++;
  if (graph.observed) graph.emit({ type: "backward", node, input: name, rule: kind });
  const fail = (message: string, returnedShape?: Shape): Tensor => {
    const automatic = () =>
      automaticRule(node, name)({
        g,
        out: node.value,
        inputs,
        saved: node.saved,
        attrs: node.attrs,
      });
    if (kind === "override") {
      const replacement = options.onRuleError?.({
        node,
        input: name,
        message,
        returnedShape,
        automatic,
      });
      if (replacement) return replacement;
    }
    throw new NinjagradError(message);
  };
  const where = `the ${
    kind === "override" ? "hand-written" : "automatic"
  } rule for input "${name}" of ${node.name} (${node.op!.name})`;
  let result: unknown;
  try {
    result = rule({ g, out: node.value, inputs, saved: node.saved, attrs: node.attrs });
  } catch (e) {
    if (kind === "auto") throw e;
    return fail(`${where} threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!(result instanceof Tensor)) {
    return fail(`${where} returned ${describe(result)} instead of a Tensor`);
  }
  if (!sameShape(result.shape, input.shape)) {
    return fail(
      `${where} returned shape ${formatShape(result.shape)}, but ${input.name} has shape ${
        formatShape(input.shape)
      }${shapeHint(result.shape, input.shape)}`,
      result.shape,
    );
  }
  if (result.dtype !== graph.dtype) {
    return fail(
      `${where} returned a ${result.dtype} tensor in a ${graph.dtype} graph: compute in ${graph.dtype}`,
    );
  }
  const bad = firstNonFinite(result);
  if (bad >= 0) {
    const stats = graph.detectAnomaly
      ? `; upstream ${describeTensor(g)}; inputs: ${describeInputs(node)}`
      : "";
    const message = `${where} returned ${
      result.data[bad]
    } at flat index ${bad}: gradients must be finite${stats}`;
    if (graph.detectAnomaly) graph.emit({ type: "anomaly", node, message: `anomaly: ${message}` });
    return fail(graph.detectAnomaly ? `anomaly: ${message}` : message);
  }
  return result;
}

/** Advice for a gradient whose shape differs from its input's. */
export function shapeHint(have: Shape, want: Shape): string {
  const axes = axesToSum(have, want);
  if (axes) {
    const lead = have.length - want.length;
    const keep = axes.filter((a) => a >= lead);
    const parts = [];
    if (lead > 0) {
      parts.push(
        `sum over the leading ax${lead > 1 ? "es" : "is"} ${axes.slice(0, lead).join(", ")}`,
      );
    }
    if (keep.length > 0) {
      parts.push(`sum over ax${keep.length > 1 ? "es" : "is"} ${keep.join(", ")} with keepdim`);
    }
    return `: it was broadcast in the forward pass, so ${parts.join(", then ")}`;
  }
  if (sizeOf(have) === sizeOf(want)) {
    return `: same elements, different shape; keep the summed axes (keepdim) or reshape to ${
      formatShape(want)
    }`;
  }
  return "";
}

function describe(x: unknown): string {
  if (x === undefined) return "nothing (did it forget to return?)";
  if (x === null) return "null";
  if (Array.isArray(x)) return "a plain array";
  return typeof x === "object" ? `a ${x.constructor?.name ?? "object"}` : `a ${typeof x}`;
}

function describeTensor(t: Tensor): string {
  const s = tensorStats(t);
  return `${formatShape(t.shape)} min ${s.min.toPrecision(4)} max ${s.max.toPrecision(4)}`;
}
