/**
 * The backward pass: walk the nodes that lie on a path to the loss in reverse creation order,
 * call each node's rule per input (its override if set, else its op's), check what the rule
 * returned, and sum it into that input's gradient. Iterative, never recursive; gradients are
 * returned, not stored on nodes, so calling it twice gives the same result.
 */
import type { AnyRule } from "../ops/op.ts";
import { axesToSum } from "../ops/kernels/broadcast.ts";
import { add } from "../ops/kernels/elementwise.ts";
import { finiteF32, SIMD_MIN } from "../ops/kernels/simd.ts";
import { describeInputs, describeNode, firstNonFinite, tensorStats } from "./anomaly.ts";
import { NinjagradError } from "./errors.ts";
import type { Graph } from "./graph.ts";
import type { Node, NodeCache } from "./node.ts";
import {
  Arena,
  formatShape,
  sameShape,
  type Shape,
  sizeOf,
  Tensor,
  type TensorData,
} from "./tensor.ts";

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
  /**
   * Recycle buffers across passes: every tensor made with `Tensor.zeros` during the pass (what
   * the kernels return when given no `out`, so every rule's result and temporary) and the
   * returned Gradients object itself are handed out again by the next `reuse` pass of this
   * graph, so a training step allocates nothing in steady state. The gradients are then valid
   * until the next `reuse` pass: clone what must outlive it (and a rule must not keep a tensor
   * it made for a later pass). A pass without `reuse` (the default) never touches them.
   */
  reuse?: boolean;
}

/** A rule that failed: which node, which input, why. */
export interface RuleFailure {
  /** The node whose rule failed. */
  node: Node;
  /** The input the rule computes the gradient of. */
  input: string;
  /** Why it failed, in one line. */
  message: string;
  /** The returned gradient's shape, when the failure is a shape mismatch. */
  returnedShape?: Shape;
  /** Reruns the op's automatic rule for this input on the same upstream gradient. */
  automatic: () => Tensor;
}

/**
 * Gradients of a backward pass, by node. Treat the tensors as read-only; after a pass run with
 * `reuse`, they are valid until the graph's next `reuse` pass.
 */
export class Gradients {
  /** @internal `byId[node.id]` is that node's gradient. */
  constructor(
    private readonly graph: Graph,
    private readonly byId: readonly (Tensor | undefined)[],
  ) {}

  /** The gradient of a node (or label), or undefined when no gradient reached it. */
  get(ref: Node | string): Tensor | undefined {
    if (typeof ref === "string" && !this.graph.has(ref)) return undefined;
    return this.byId[this.graph.node(ref).id];
  }

  /** The nodes that received a gradient, in backward order. */
  nodes(): Node[] {
    const out: Node[] = [];
    for (let id = this.byId.length - 1; id >= 0; id--) {
      if (this.byId[id] !== undefined) out.push(this.graph.nodes[id]);
    }
    return out;
  }

  /** Labelled gradients as a plain object. */
  toObject(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const n of this.nodes()) if (n.label !== undefined) out[n.label] = this.byId[n.id]!;
    return out;
  }
}

/** Which nodes lie on a path to `loss` and need a gradient (fixed once `loss` exists: cached). */
function onPath(graph: Graph, loss: Node): Uint8Array {
  const cache = nodeCache(loss);
  if (cache.path !== undefined) return cache.path;
  const needed = new Uint8Array(loss.id + 1);
  needed[loss.id] = 1;
  for (let i = loss.id; i >= 0; i--) {
    if (!needed[i]) continue;
    for (const x of graph.nodes[i].inputs) if (x.requiresGrad) needed[x.id] = 1;
  }
  return (cache.path = needed);
}

/** @internal A node's engine cache (see `NodeCache`). */
export function nodeCache(node: Node): NodeCache {
  return node.cache;
}

/** The record of a node's current input values by name, refreshed in place (no allocation). */
export function inputValues(node: Node): Record<string, Tensor> {
  const cache = nodeCache(node), names = node.op!.inputs, seen = cache.values;
  for (let j = 0; j < names.length; j++) {
    const value = node.inputs[j].value;
    if (seen[j] !== value) cache.inputs[names[j]] = seen[j] = value;
  }
  return cache.inputs;
}

/** The automatic rules of a node by input index; undefined where an input takes no gradient. */
function automaticRules(node: Node): (AnyRule | undefined)[] {
  const cache = nodeCache(node);
  return cache.auto ??= readAutomaticRules(node);
}

/**
 * `automaticRules` the first time. A function of its own: its closures would otherwise make
 * every call of `automaticRules`, one per node per pass, allocate.
 */
function readAutomaticRules(node: Node): (AnyRule | undefined)[] {
  const op = node.op!;
  return op.inputs.map((name) => {
    if (op.nondiff.includes(name)) return undefined;
    try {
      return automaticRule(node, name);
    } catch (e) {
      // An op without a rule for this input fails only if a gradient must flow through it.
      return () => {
        throw e;
      };
    }
  });
}

/** A node's override rules by input index, read again only when the override is replaced. */
function overrideRules(
  node: Node,
  from: Readonly<Record<string, AnyRule>>,
): (AnyRule | undefined)[] {
  const cache = nodeCache(node);
  if (cache.overrides?.from !== from) cache.overrides = { from, rules: rulesOf(node, from) };
  return cache.overrides.rules;
}

/** An override's rules by input index (its closure kept out of `overrideRules`: see above). */
function rulesOf(node: Node, from: Readonly<Record<string, AnyRule>>): (AnyRule | undefined)[] {
  return node.op!.inputs.map((name) => from[name]);
}

/** What one graph's `reuse` passes recycle. */
interface Scratch {
  arena: Arena;
  byId: (Tensor | undefined)[];
  owned: Uint8Array;
  gradients: Gradients | undefined;
  busy?: boolean;
}
const scratches = new WeakMap<Graph, Scratch>();
let passes = 0;

/** Runs backward from `loss`; see the module comment. */
export function backward(graph: Graph, loss: Node, options: BackwardOptions = {}): Gradients {
  if (!loss.requiresGrad) {
    throw new NinjagradError(
      `${loss.name} does not depend on any parameter or float input: nothing to differentiate`,
    );
  }
  const needed = onPath(graph, loss);
  // A reusing pass (or one nested in a reusing pass: a composite's backward through its
  // subgraph) runs on the graph's scratch, unless that is in use already (a rule that runs a
  // backward of its own graph): such a pass allocates afresh.
  let scratch: Scratch | undefined;
  if (options.reuse || Arena.active) {
    scratch = scratches.get(graph);
    if (scratch === undefined) {
      scratch = { arena: new Arena(), byId: [], owned: new Uint8Array(0), gradients: undefined };
      scratches.set(graph, scratch);
    }
    if (scratch.busy) scratch = undefined;
  }
  if (scratch === undefined) return pass(graph, loss, options, needed, undefined);
  scratch.busy = true;
  // The outermost reusing pass starts its arena over; a nested one keeps allocating from the
  // arena of the pass around it, so that nothing it hands out is handed out twice.
  const outer = Arena.active;
  const previous = outer ? undefined : scratch.arena.enter();
  if (!outer) scratch.arena.reset();
  try {
    return pass(graph, loss, options, needed, scratch);
  } finally {
    if (!outer) Arena.leave(previous);
    scratch.busy = false;
  }
}

function pass(
  graph: Graph,
  loss: Node,
  options: BackwardOptions,
  needed: Uint8Array,
  scratch: Scratch | undefined,
): Gradients {
  const n = graph.nodes.length;
  let byId: (Tensor | undefined)[], owned: Uint8Array;
  if (scratch) {
    byId = scratch.byId;
    // Cleared element by element: Array.prototype.fill gives the array a map that the
    // optimised pass does not expect, which deoptimised it every hundred steps or so.
    if (byId.length !== n) byId.length = n;
    for (let i = 0; i < n; i++) byId[i] = undefined;
    if (scratch.owned.length < n) scratch.owned = new Uint8Array(n);
    owned = scratch.owned;
    owned.fill(0, 0, n);
  } else {
    byId = new Array<Tensor | undefined>(n).fill(undefined);
    owned = new Uint8Array(n);
  }
  const seed = options.seed ?? Tensor.full(loss.shape, 1, graph.dtype);
  if (!sameShape(seed.shape, loss.shape)) {
    throw new NinjagradError(
      `the seed gradient is ${formatShape(seed.shape)} but ${loss.name} is ${
        formatShape(loss.shape)
      }`,
    );
  }
  byId[loss.id] = seed;
  // `owned`: nodes whose gradient is an accumulator allocated here for that node alone, so it
  // may be added into in place. Ownership is per node, not per tensor: a rule may pass an
  // accumulator through unchanged (add returns g), and that input must not add into its
  // consumer's gradient.
  const useOverrides = options.overrides !== false;
  const passId = ++passes;
  for (let i = loss.id; i >= 0; i--) {
    const node = graph.nodes[i];
    const g = byId[i];
    if (!needed[i] || g === undefined || !node.op) continue;
    const auto = automaticRules(node);
    const overrides = useOverrides && node.override
      ? overrideRules(node, node.override)
      : undefined;
    for (let j = 0; j < auto.length; j++) {
      const input = node.inputs[j], automatic = auto[j];
      if (automatic === undefined || !input.requiresGrad || !needed[input.id]) continue;
      const rule = overrides?.[j];
      const contribution = rule
        ? runRule(graph, node, j, rule, g, "override", options, passId)
        : runRule(graph, node, j, automatic, g, "auto", options, passId);
      const prev = byId[input.id];
      if (prev === undefined) {
        byId[input.id] = contribution;
      } else if (owned[input.id]) {
        add(prev, contribution, prev);
      } else {
        // Never add into a tensor a rule returned: it may be an upstream gradient or a value.
        byId[input.id] = add(prev, contribution);
        owned[input.id] = 1;
      }
    }
  }
  if (!scratch) return new Gradients(graph, byId);
  return scratch.gradients ??= new Gradients(graph, byId);
}

/** The op's own rule for one input; a composite's is backprop through its subgraph. */
export function automaticRule(node: Node, input: string): AnyRule {
  const op = node.op!;
  if (op.kind === "atomic") {
    const rule = op.vjp[input];
    if (!rule) throw new NinjagradError(`${op.name} has no rule for its input "${input}"`);
    return rule;
  }
  const cache = nodeCache(node);
  return ({ g }) => {
    const sub = node.sub!;
    // One backward through the subgraph serves every input of the node in this pass.
    let memo = cache.sub;
    if (memo === undefined || memo.g !== g || memo.pass !== currentPass) {
      const pass = currentPass;
      const grads = sub.graph.backward(sub.out, { seed: g, notify: false });
      memo = cache.sub = { g, pass, grads };
    }
    const leaf = sub.leaves[op.inputs.indexOf(input)];
    return memo.grads.get(leaf) ??
      Tensor.zeros(leaf.shape, g.dtype === "int32" ? "float32" : g.dtype);
  };
}

/** The pass whose rules are running now (a composite's rule memoises its subgraph's pass by it). */
let currentPass = 0;

function runRule(
  graph: Graph,
  node: Node,
  j: number,
  rule: AnyRule,
  g: Tensor,
  kind: "auto" | "override",
  options: BackwardOptions,
  pass: number,
): Tensor {
  const input = node.inputs[j], name = node.op!.inputs[j];
  const inputs = inputValues(node);
  if (kind === "auto") graph.ruleCounts.auto++;
  else graph.ruleCounts.override++;
  if (graph.observed) graph.emit({ type: "backward", node, input: name, rule: kind });
  const cache = nodeCache(node);
  const args = cache.args ??= { g, out: node.value, inputs, saved: node.saved, attrs: node.attrs };
  args.g = g;
  args.out = node.value;
  args.saved = node.saved;
  currentPass = pass;
  let result: unknown;
  try {
    result = rule(args);
  } catch (e) {
    if (kind === "auto") throw e;
    const why = `threw: ${e instanceof Error ? e.message : String(e)}`;
    return fail(node, name, kind, g, options, why);
  }
  if (!(result instanceof Tensor)) {
    const why = `returned ${describe(result)} instead of a Tensor`;
    return fail(node, name, kind, g, options, why);
  }
  if (!sameShape(result.shape, input.shape)) {
    const why = `returned shape ${formatShape(result.shape)}, but ${input.name} has shape ${
      formatShape(input.shape)
    }${shapeHint(result.shape, input.shape)}`;
    return fail(node, name, kind, g, options, why, result.shape);
  }
  if (result.dtype !== graph.dtype) {
    const why =
      `returned a ${result.dtype} tensor in a ${graph.dtype} graph: compute in ${graph.dtype}`;
    return fail(node, name, kind, g, options, why);
  }
  if (!allFinite(result.data)) {
    const bad = firstNonFinite(result);
    const stats = graph.detectAnomaly
      ? `; upstream ${describeTensor(g)}; inputs: ${describeInputs(node)}`
      : "";
    const why = `returned ${
      result.data[bad]
    } at flat index ${bad}: gradients must be finite${stats}`;
    if (graph.detectAnomaly) {
      graph.emit({ type: "anomaly", node, message: `anomaly: ${where(node, name, kind)} ${why}` });
    }
    return fail(node, name, kind, g, options, why, undefined, graph.detectAnomaly);
  }
  return result;
}

/** `the hand-written rule for input "x" of bnraw (mul)`: built only when a rule fails. */
function where(node: Node, name: string, kind: "auto" | "override"): string {
  return `the ${kind === "override" ? "hand-written" : "automatic"} rule for input "${name}" of ${
    describeNode(node)
  }`;
}

/** A failed rule: compare's `onRuleError` may stand in a gradient; otherwise an error. */
function fail(
  node: Node,
  name: string,
  kind: "auto" | "override",
  g: Tensor,
  options: BackwardOptions,
  why: string,
  returnedShape?: Shape,
  anomaly = false,
): Tensor {
  const message = `${anomaly ? "anomaly: " : ""}${where(node, name, kind)} ${why}`;
  if (kind === "override") {
    const automatic = () =>
      automaticRule(node, name)({
        g,
        out: node.value,
        inputs: { ...inputValues(node) },
        saved: node.saved,
        attrs: node.attrs,
      });
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
}

/**
 * Whether every element is finite: x·0 is 0 for finite x and NaN otherwise, so sums tell. Four
 * running sums, so that the adds do not wait on each other.
 */
function allFinite(d: TensorData): boolean {
  if (d instanceof Float32Array && d.length >= SIMD_MIN) return finiteF32(d);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
  for (const n4 = d.length - 3; i < n4; i += 4) {
    s0 += d[i] * 0, s1 += d[i + 1] * 0, s2 += d[i + 2] * 0, s3 += d[i + 3] * 0;
  }
  for (; i < d.length; i++) s0 += d[i] * 0;
  return s0 + s1 + s2 + s3 === 0;
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
