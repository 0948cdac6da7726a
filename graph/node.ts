/** A node: one application of an op (or a leaf) inside a graph. */
import { BehaviorSubject, type Observable as RxObservable, Subject } from "./deps.ts";
import type { AnyRule, Op, RuleArgs } from "./op.ts";
import type { FusedBuffers } from "../ops/kernels/fused.ts";
import type { Shape, Tensor } from "../ops/kernels/tensor.ts";
import type { Graph } from "./graph.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { formatShape } from "../ops/kernels/tensor.ts";
import { Size } from "./size.ts";

/**
 * rxjs's Observable, the type of `value$`, `events$` and the other streams.
 * @ignore rxjs documents it; re-exporting it from mod.ts would make `deno doc --lint` lint rxjs's
 * own declarations (its undocumented `pipe` overloads and internal types) as ours.
 */
export type Observable<T> = RxObservable<T>;

/** Leaves are parameters, inputs or constants; every other node is an op application. */
export type NodeKind = "param" | "input" | "constant" | "op";

/** A composite node's private subgraph: its input leaves and its output. */
export interface Subgraph {
  /** The private graph the composite's atomic ops live in. */
  graph: Graph;
  /** One leaf per op input, in the op's input order (non-differentiable ones are constants). */
  leaves: Node[];
  /** The node whose value is the composite node's value. */
  out: Node;
  /** @internal The subgraph's nodes by label, when the op has a fused forward that may run. */
  labelled?: Record<string, Node>;
  /** @internal What the fused forward writes, from the last node-by-node evaluation. */
  buffers?: FusedBuffers;
  /** @internal The input values of the last node-by-node evaluation (fused runs need the same). */
  evaluatedWith?: Tensor[];
}

/**
 * @internal What the engine keeps on a node between runs so that a step allocates nothing: the
 * record of input values handed to the forward and the rules, the input shapes it last checked,
 * the path to the loss when the node is one, and a composite's last backward through its subgraph.
 */
export interface NodeCache {
  /** The input values by name; refreshed before each forward and each backward. */
  inputs: Record<string, Tensor>;
  /** The values last put in `inputs`, by input index (only a changed one is written again). */
  values: (Tensor | undefined)[];
  /** The input shapes the output shape was last computed from (compared by identity). */
  shapes: (Shape | undefined)[];
  /** As a loss: which nodes lie on a path to it (fixed once the node exists). */
  path?: Uint8Array;
  /** The input shapes the node was built with, for messages when they change. */
  built?: Shape[];
  /** A composite's automatic rule: the subgraph's gradients for one upstream gradient. */
  sub?: { g: Tensor; pass: number; grads: { get(node: Node): Tensor | undefined } };
  /** The automatic rules by input index (undefined for inputs that take no gradient). */
  auto?: (AnyRule | undefined)[];
  /** The override's rules by input index, and the override record they were read from. */
  overrides?: { from: Readonly<Record<string, AnyRule>>; rules: (AnyRule | undefined)[] };
  /** The arguments handed to this node's rules, refreshed before each call. */
  args?: RuleArgs;
}

/** One node of a graph. Its value is a reused buffer: clone it to keep a copy across runs. */
export class Node {
  /** Position in the graph's creation order (a topological order). */
  readonly id: number;
  /** The lecture's variable name where there is one (`bnraw`); shown in tables and charts. */
  label: string | undefined;
  /** What the node is. */
  readonly kind: NodeKind;
  /** The op applied (null for leaves). */
  readonly op: Op | null;
  /** Input nodes, in the op's input order. */
  readonly inputs: readonly Node[];
  /** The op's attributes (axis, exponent, transposes). */
  readonly attrs: unknown;
  /** Whether a gradient flows to this node from a float leaf. */
  readonly requiresGrad: boolean;
  /** @internal The value as the engine last computed it, without the freshness check. */
  current: Tensor;
  /** @internal A leaf's: its value's `version` when the graph last read it. */
  seen = 0;
  /** What the forward kept for the rules (a composite keeps its subgraph's labelled values). */
  saved: unknown = undefined;
  /** The hand-written rules that replace the op's for this node only, if any. */
  override: Readonly<Record<string, AnyRule>> | undefined = undefined;
  /** A composite node's subgraph. */
  sub: Subgraph | undefined = undefined;
  /**
   * The scopes open when the node was made (`graph.scope`), outermost first, each its full
   * path: `["h.0", "h.0.attn"]` for a node of block 0's attention; empty outside any.
   */
  scope: readonly string[] = [];
  /** The graph that owns the node. */
  readonly graph: Graph;

  /** @internal Subjects are created only when someone subscribes, so unobserved nodes cost nothing. */
  valueSubject: BehaviorSubject<Tensor> | undefined;
  /** @internal */
  gradSubject: Subject<Tensor> | undefined;
  /**
   * @internal See `NodeCache`. Made with the node and never replaced, with every field present
   * from the start, so that nodes and caches keep one shape each (the hot loops stay monomorphic).
   */
  readonly cache: NodeCache = {
    inputs: {},
    values: [],
    shapes: [],
    path: undefined,
    sub: undefined,
    auto: undefined,
    overrides: undefined,
    args: undefined,
    built: undefined,
  };

  /** Made by the graph (`param`, `input`, `constant`, op application), never by hand. */
  constructor(
    graph: Graph,
    id: number,
    kind: NodeKind,
    op: Op | null,
    inputs: readonly Node[],
    attrs: unknown,
    value: Tensor,
    requiresGrad: boolean,
    label?: string,
  ) {
    this.graph = graph;
    this.id = id;
    this.kind = kind;
    this.op = op;
    this.inputs = inputs;
    this.attrs = attrs;
    this.current = value;
    this.seen = value.version;
    this.requiresGrad = requiresGrad;
    this.label = label;
  }

  /**
   * The current value. When a leaf's tensor was written since the graph last computed (an edit
   * such as `t.data[i] = v`, an optimizer's step in a graph that shares the parameter), the
   * graph first recomputes what depends on it, so the value is never stale.
   */
  get value(): Tensor {
    // A leaf's value is its tensor: only a computed one can be stale.
    if (this.op !== null && this.graph.hold === 0) this.graph.refresh();
    return this.current;
  }

  /** The value's shape. */
  get shape(): Shape {
    return this.value.shape;
  }

  /**
   * PyTorch's `x.size(dim)`, live: axis `dim` (negative counts from the end) of this node's shape,
   * read on every run. Give it to `expand`, `reshape` or `slice` in place of a number, and the
   * op's shape follows this node's: `expand(start, [idx.size(0), -1])` fits any batch. With no
   * `dim`, one for every axis (`const [B, T] = idx.size()`). Its `value` is the size now.
   */
  size(): Size[];
  /** Axis `dim` of the shape, live (see above). */
  size(dim: number): Size;
  /** Either form (see above). */
  size(dim?: number): Size | Size[] {
    const r = this.shape.length;
    if (dim === undefined) return Array.from({ length: r }, (_, i) => new Size(this, i));
    if (!(Number.isInteger(dim) && dim >= -r && dim < r)) {
      throw new NinjagradError(
        `${this.name}.size(${dim}): ${this.name} is ${formatShape(this.shape)}, axes 0..${
          r - 1
        } (or -${r}..-1 from the end)`,
      );
    }
    return new Size(this, dim);
  }

  /** The label, or the op and id (`tanh#12`) for unlabelled nodes. */
  get name(): string {
    return this.label ?? `${this.op?.name ?? this.kind}#${this.id}`;
  }

  /** Names the node (the lecture's variable name) and returns it, for chaining. */
  named(label: string): this {
    this.graph.relabel(this, label);
    return this;
  }

  /** The value now and after every recomputation (once per propagation, never half-updated). */
  get value$(): Observable<Tensor> {
    // Brings observers up to date first: a late subscriber gets the value as it is now.
    const value = this.value;
    this.valueSubject ??= new BehaviorSubject(value);
    return this.valueSubject.asObservable();
  }

  /** The node's gradient after each `backward` that reaches it. */
  get grad$(): Observable<Tensor> {
    this.gradSubject ??= new Subject<Tensor>();
    return this.gradSubject.asObservable();
  }
}
