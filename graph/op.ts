/**
 * The shape of an op record. One op = one record: its name, its input names, its forward kernel,
 * and one local-derivative rule per differentiable input (as PyTorch's derivatives.yaml keys
 * rules by input name). Composite ops are a small subgraph of atomic ops instead of a kernel.
 */
import type { FusedBuffers } from "../ops/kernels/fused.ts";
import type { Shape, Tensor } from "../ops/kernels/tensor.ts";
import type { Node } from "./node.ts";

/**
 * What a local-derivative rule receives: `g` the upstream gradient (the shape of `out`), `out`
 * the node's value, `inputs` the input values by name, `saved` what the forward kept, `attrs`.
 */
export interface RuleArgs<N extends string = string, A = unknown, S = unknown> {
  /** The upstream gradient, shaped like `out`. */
  g: Tensor;
  /** The node's forward value. */
  out: Tensor;
  /** The input values, by input name. */
  inputs: Readonly<Record<N, Tensor>>;
  /** What the forward returned for the rules. */
  saved: S;
  /** The op's attributes (axis, exponent, transposes). */
  attrs: A;
}

/**
 * A local-derivative rule for one input: multiplies the local derivative by `g` and returns a
 * tensor of exactly that input's shape (broadcasts reduced with `sumTo`).
 */
export type Rule<N extends string = string, A = unknown, S = unknown> = (
  args: RuleArgs<N, A, S>,
) => Tensor;

/** One rule per differentiable input, keyed by the input's name. */
export type Rules<N extends string = string, A = unknown, S = unknown> = Partial<
  Record<N, Rule<N, A, S>>
>;

/** An atomic op: a forward kernel and its local-derivative rules. */
export interface AtomicOp<N extends string = string, A = unknown, S = unknown> {
  /** Tells atomic records from composite ones. */
  kind: "atomic";
  /** Name shown in tables and charts (`tanh`, `matmul`). */
  name: string;
  /** Input names, in the order the op is applied to them. */
  inputs: readonly N[];
  /** Inputs that carry no gradient (integer indices). */
  nondiff: readonly N[];
  /**
   * The output's dtype when it is not the graph's float dtype: `"int32"` for ops that give
   * indices (argmax, topk's indices, multinomial), which take no gradient.
   */
  dtype?: "int32";
  /**
   * The output is the first input's elements under another shape (a view, as `reshape`): the
   * engine may give the node that input's own elements instead of a buffer of its own (where
   * the input is computed, of the node's dtype), and `forward` then finds them in place.
   */
  view?: boolean;
  /** The output shape, from the input shapes; throws a clear error for shapes that do not fit. */
  shape(inputs: Readonly<Record<N, Shape>>, attrs: A): Shape;
  /**
   * Computes the output into `out` (a reused buffer) and returns what the rules need later.
   * `prev` is what the previous run returned, so its buffers can be reused.
   */
  forward(inputs: Readonly<Record<N, Tensor>>, out: Tensor, attrs: A, prev: S | undefined): S;
  /** The local-derivative rules. */
  vjp: Rules<N, A, S>;
}

/**
 * A composite op: `build` applies atomic ops to its input nodes inside a private subgraph and
 * returns the output node. Its automatic rule is backprop through that subgraph; `closedForm`
 * holds the one-step rules (the lecture's exercises 2 and 3), which receive as `saved` the
 * subgraph's labelled values (`saved.bnraw`).
 */
export interface CompositeOp<N extends string = string, A = unknown> {
  /** Tells composite records from atomic ones. */
  kind: "composite";
  /** Name shown in tables and charts (`batchnorm`, `cross_entropy`). */
  name: string;
  /** Input names, in the order the op is applied to them. */
  inputs: readonly N[];
  /** Inputs that carry no gradient (integer indices). */
  nondiff: readonly N[];
  /** Applies atomic ops to the subgraph's input leaves and returns its output node. */
  build(inputs: Readonly<Record<N, Node>>, attrs: A): Node;
  /** One-step rules per input, used in place of backprop through the subgraph when asked for. */
  closedForm?: Rules<N, A, Readonly<Record<string, Tensor>>>;
  /**
   * Optional speed-up: evaluates the whole subgraph in fused loops, writing every node's value
   * (and what its forward saves) in place, in `buffers` by label: every op node of the subgraph
   * is labelled, so `buffers` has them all. It must give the very bits that evaluating the nodes
   * one by one gives. Returns false for inputs it does not handle (the engine then evaluates
   * node by node).
   */
  fused?: (inputs: Readonly<Record<N, Tensor>>, buffers: FusedBuffers, attrs: A) => boolean;
}

/** Any op, with its type parameters erased: what a graph stores. */
// deno-lint-ignore no-explicit-any
export type Op = AtomicOp<string, any, any> | CompositeOp<string, any>;
/** Any rule, with its type parameters erased. */
// deno-lint-ignore no-explicit-any
export type AnyRule = Rule<string, any, any>;

/** Fills an atomic op record's defaults (no non-differentiable inputs). */
export function atomic<N extends string, A = Record<string, never>, S = void>(
  op: Omit<AtomicOp<N, A, S>, "kind" | "nondiff"> & { nondiff?: readonly N[] },
): AtomicOp<N, A, S> {
  return { kind: "atomic", nondiff: [], ...op };
}

/** Fills a composite op record's defaults. */
export function composite<N extends string, A = Record<string, never>>(
  op: Omit<CompositeOp<N, A>, "kind" | "nondiff"> & { nondiff?: readonly N[] },
): CompositeOp<N, A> {
  return { kind: "composite", nondiff: [], ...op };
}
