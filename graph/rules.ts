/**
 * The rules of a backward pass: which rule runs for each input of a node (its override if set,
 * else its op's automatic one, which for a composite op is backprop through its subgraph), the
 * running of it, and the checks of what it returned (a Tensor, of the input's shape and the
 * graph's dtype, every value finite), each failure one line that names the node, the input
 * and the kind of rule. backward.ts walks the graph and calls these.
 */
import type { AnyRule } from "./op.ts";
import { axesToSum } from "../ops/kernels/broadcast.ts";
import { finiteF32, SIMD_MIN } from "../ops/kernels/simd.ts";
import { describeInputs, describeNode, firstNonFinite, tensorStats } from "./anomaly.ts";
import type { BackwardOptions } from "./backward.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { Graph } from "./graph.ts";
import type { Node, NodeCache } from "./node.ts";
import {
  formatShape,
  sameShape,
  type Shape,
  sizeOf,
  Tensor,
  type TensorData,
} from "../ops/kernels/tensor.ts";

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

/** @internal A node's engine cache (see `NodeCache`). */
export function nodeCache(node: Node): NodeCache {
  return node.cache;
}

/** The record of a node's current input values by name, refreshed in place (no allocation). */
export function inputValues(node: Node): Record<string, Tensor> {
  const cache = nodeCache(node), names = node.op!.inputs, seen = cache.values;
  for (let j = 0; j < names.length; j++) {
    const value = node.inputs[j].current;
    if (seen[j] !== value) cache.inputs[names[j]] = seen[j] = value;
  }
  return cache.inputs;
}

/** The automatic rules of a node by input index; undefined where an input takes no gradient. */
export function automaticRules(node: Node): (AnyRule | undefined)[] {
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
export function overrideRules(
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

/**
 * The gradient buffers found finite so far in the backward call under way (`beginChecks` and
 * `endChecks` bracket the outermost pass, nested ones included). A rule's result that lies in
 * one of them (a rule passing g on, a view of g, a composite's gradient that a rule of its
 * subgraph returned) needs no second look: neither the engine nor an automatic rule writes into
 * a tensor once a rule has returned it (accumulators are fresh, and each is added into only
 * before its node's rules run). A hand-written rule, or an observer of the graph, might: once
 * one runs, the record is dropped and every result is looked at for the rest of the call. In
 * the Transformer's step about half the values checked were such second looks.
 */
const finiteBuffers = new Set<TensorData>();
/**
 * Results of fewer values are always checked and never recorded: below this the check costs
 * less than the record's look-up (the lecture's steps are made of such).
 */
const RECORD_MIN = 1024;
/** Whether `finiteBuffers` may be used (and added to) in the call under way. */
let trusting = false;
/** How many backward passes are under way, nested in each other. */
let depth = 0;

/** @internal A backward pass starts: the outermost one starts the record of finite buffers. */
export function beginChecks(): void {
  if (depth++ === 0) {
    finiteBuffers.clear();
    trusting = true;
  }
}

/** @internal A backward pass ends (thrown or not): the outermost one drops the record. */
export function endChecks(): void {
  if (--depth === 0) {
    finiteBuffers.clear();
    trusting = false;
  }
}

/** A rule the engine cannot vouch for runs: every result is checked from now on in this call. */
function distrust(): void {
  trusting = false;
  finiteBuffers.clear();
}

/** The pass whose rules are running now (a composite's rule memoises its subgraph's pass by it). */
let currentPass = 0;

/** @internal Runs one rule for input j of `node`, counts it, and checks what it returned. */
export function runRule(
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
  if (trusting && (kind === "override" || graph.observed)) distrust();
  if (graph.observed) graph.emit({ type: "backward", node, input: name, rule: kind });
  const cache = nodeCache(node);
  const args = cache.args ??= {
    g,
    out: node.current,
    inputs,
    saved: node.saved,
    attrs: node.attrs,
  };
  args.g = g;
  args.out = node.current;
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
  const recorded = trusting && result.size >= RECORD_MIN;
  if (recorded && finiteBuffers.has(result.data)) return result;
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
  if (recorded) finiteBuffers.add(result.data);
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

/** Advice for a gradient whose shape differs from its input's: `: <advice>`, or "". */
export function shapeHint(have: Shape, want: Shape): string {
  const advice = shapeAdvice(have, want);
  return advice ? `: ${advice.text}` : "";
}

/** What a wrong shape says about the mistake behind it. */
export type ShapeMistake = "broadcast" | "keepdim" | "reshape" | "transpose";

/**
 * Which way a gradient's shape must go to become its input's, and the likely mistake: a missing
 * broadcast sum, a keepdim too many or too few, a missing reshape, a transpose.
 */
export function shapeAdvice(
  have: Shape,
  want: Shape,
): { kind: ShapeMistake; text: string } | undefined {
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
    return {
      kind: "broadcast",
      text: `it was broadcast in the forward pass, so ${parts.join(", then ")}`,
    };
  }
  const to = formatShape(want);
  const squeezed = (s: Shape) => s.filter((d) => d !== 1);
  if (sizeOf(have) === sizeOf(want) && sameShape(squeezed(have), squeezed(want))) {
    if (have.length > want.length) {
      return {
        kind: "keepdim",
        text: `it has ${have.length - want.length > 1 ? "extra axes" : "an extra axis"} of ` +
          `size 1: sum without keepdim (keepdim: false), or reshape it to ${to}`,
      };
    }
    if (have.length < want.length) {
      return {
        kind: "keepdim",
        text: `it lost ${want.length - have.length > 1 ? "axes" : "an axis"} of size 1: ` +
          `keep the summed axis (keepdim: true), or reshape it to ${to}`,
      };
    }
    return { kind: "reshape", text: `its axes of size 1 are elsewhere: reshape it to ${to}` };
  }
  if (
    have.length === 2 && want.length === 2 && have[0] !== have[1] && have[0] === want[1] &&
    have[1] === want[0]
  ) {
    return {
      kind: "transpose",
      text: "it is transposed; a matmul's gradient has the shape of its operand, so swap the " +
        "operands or the transposes (dA = dOut @ Bᵀ, dB = Aᵀ @ dOut)",
    };
  }
  if (sizeOf(have) === sizeOf(want)) {
    return {
      kind: "reshape",
      text: `the same ${sizeOf(want)} values in another shape: reshape it from ` +
        `${formatShape(have)} back to ${to} (x.reshape([${want.join(", ")}]))`,
    };
  }
  return undefined;
}

/** What a value is, for messages: `a Tensor (float32 (3,))`, `a plain array`, `a string`. */
export function describe(x: unknown): string {
  if (x === undefined) return "nothing (did it forget to return?)";
  if (x instanceof Tensor) return `a Tensor (${x.dtype} ${formatShape(x.shape)})`;
  if (x === null) return "null";
  if (Array.isArray(x)) return "a plain array";
  return typeof x === "object" ? `a ${x.constructor?.name ?? "object"}` : `a ${typeof x}`;
}

function describeTensor(t: Tensor): string {
  const s = tensorStats(t);
  return `${formatShape(t.shape)} min ${s.min.toPrecision(4)} max ${s.max.toPrecision(4)}`;
}
