/**
 * The graph: nodes in creation order (a topological order), forward evaluation, reactive
 * propagation of leaf changes, per-node overrides, and the entry points of backward and compare.
 */
import { Subject } from "./deps.ts";
import type { AnyRule, AtomicOp, CompositeOp, Op } from "./op.ts";
import type { FusedBuffers } from "../ops/kernels/fused.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { Node, type NodeKind, type Observable, type Subgraph } from "./node.ts";
import {
  type FloatDType,
  formatShape,
  sameShape,
  type Shape,
  Tensor,
} from "../ops/kernels/tensor.ts";
import { forwardAnomaly } from "./anomaly.ts";
import { backward, type BackwardOptions, type Gradients } from "./backward.ts";
import { describe, inputValues, nodeCache } from "./rules.ts";
import { compare, type CompareOptions, type Comparison } from "./compare.ts";

/** Something the engine did, for whoever observes `graph.events$`. */
export type EngineEvent =
  | { type: "forward"; node: Node }
  | { type: "backward"; node: Node; input: string; rule: "auto" | "override" }
  | { type: "override"; node: Node; action: "set" | "removed" }
  | { type: "anomaly"; node: Node; message: string };

/** A node, or the label of one. */
export type NodeRef = Node | string;

/** An input given to an op: a node, or a number that becomes a constant. */
export type Operand = Node | number;

/** Counters of the rules that ran, by kind: how the training CLI proves a manual backward. */
export interface RuleCounts {
  /** Rules run that are the op's own (automatic). */
  auto: number;
  /** Hand-written rules run through an override. */
  override: number;
}

/** A computational graph of one float dtype. */
export class Graph {
  /** The float dtype every float value of this graph has. */
  readonly dtype: FloatDType;
  /**
   * Stop at the first node whose forward value holds NaN or Inf, naming it, its op and its
   * inputs' statistics. (Gradients are always checked: every rule's output must be finite.)
   */
  detectAnomaly: boolean;
  /** @internal The composite node whose private subgraph this is: anomaly messages name it. */
  owner: Node | undefined;
  /** All nodes, in creation order. */
  readonly nodes: Node[] = [];
  /** Rules run so far, by kind. */
  readonly ruleCounts: RuleCounts = { auto: 0, override: 0 };
  private readonly byLabel = new Map<string, Node>();
  private eventSubject: Subject<EngineEvent> | undefined;
  private gradientSubject: Subject<Gradients> | undefined;
  private batchDepth = 0;
  /**
   * Which nodes are stale: pending leaves until `flush`, then everything recomputed from them;
   * `firstDirty` is the lowest such id (Infinity when none). All zero between flushes.
   */
  private dirty = new Uint8Array(16);
  private firstDirty = Infinity;

  /** An empty graph of `dtype` (default float32), anomaly detection off unless asked for. */
  constructor(options: { dtype?: FloatDType; detectAnomaly?: boolean } = {}) {
    this.dtype = options.dtype ?? "float32";
    this.detectAnomaly = options.detectAnomaly ?? false;
  }

  /** A trainable leaf. Float values are converted to the graph's dtype (copied). */
  param(label: string, value: Tensor): Node {
    return this.leaf("param", label, value);
  }

  /** An input leaf (data, indices); float inputs receive gradients too, integer ones never. */
  input(label: string, value: Tensor): Node {
    return this.leaf("input", label, value);
  }

  /** A constant: a leaf that never receives a gradient. */
  constant(value: Tensor | number, label?: string): Node {
    const t = typeof value === "number" ? Tensor.scalar(value, this.dtype) : value;
    return this.leaf("constant", label, t);
  }

  /** The node with this label, or an error listing the labels there are. */
  node(ref: NodeRef): Node {
    if (typeof ref !== "string") {
      if (!(ref instanceof Node)) {
        throw new NinjagradError(
          `expected a node or a label, got ${describe(ref)}: pass a node of this graph`,
        );
      }
      if (ref.graph !== this) {
        throw new NinjagradError(
          `${ref.name} is a node of another graph: use that graph (${ref.name}.graph) or a node of this one`,
        );
      }
      return ref;
    }
    const found = this.byLabel.get(ref);
    if (!found) {
      const known = [...this.byLabel.keys()].slice(0, 30).join(", ");
      throw new NinjagradError(`no node is labelled "${ref}"; labels here: ${known || "(none)"}`);
    }
    return found;
  }

  /** Whether a node has this label. */
  has(label: string): boolean {
    return this.byLabel.has(label);
  }

  /** @internal Gives a node a label, keeping labels unique. */
  relabel(node: Node, label: string): void {
    const other = this.byLabel.get(label);
    if (other && other !== node) {
      throw new NinjagradError(`label "${label}" is taken by another node; pick another name`);
    }
    if (node.label !== undefined) this.byLabel.delete(node.label);
    node.label = label;
    this.byLabel.set(label, node);
  }

  /** Applies an op to its inputs (by name) and evaluates the new node at once. */
  apply<A>(op: Op, inputs: Readonly<Record<string, Operand>>, attrs: A, label?: string): Node {
    const nodes = op.inputs.map((name) => {
      const x: unknown = inputs[name];
      if (x === undefined) throw new NinjagradError(`${op.name} needs an input named "${name}"`);
      if (typeof x === "number") return this.constant(x);
      if (!(x instanceof Node)) {
        const fix = x instanceof Tensor
          ? `put it in the graph first, as graph.input("${name}", t) or graph.param("${name}", t)`
          : "pass a node or a number";
        throw new NinjagradError(
          `${op.name}: input "${name}" is ${describe(x)}, not a node: ${fix}`,
        );
      }
      if (x.graph !== this) {
        const other = op.inputs.map((n) => inputs[n]).find((y): y is Node =>
          y instanceof Node && y.graph === this
        );
        throw new NinjagradError(
          `${op.name}: ${x.name} (input "${name}") is a node of another graph than ${
            other?.name ?? "this one"
          }: build a computation in one graph (copy a value in with graph.param("${
            x.label ?? name
          }", ${x.name}.value))`,
        );
      }
      return x;
    });
    const requiresGrad = op.inputs.some((name, i) =>
      !op.nondiff.includes(name) && nodes[i].requiresGrad
    );
    const placeholder = Tensor.zeros([], this.dtype);
    const node = new Node(
      this,
      this.nodes.length,
      "op",
      op,
      nodes,
      attrs,
      placeholder,
      requiresGrad,
    );
    if (op.kind === "composite") {
      node.sub = buildSubgraph(this, op, nodes, attrs);
      node.sub.graph.owner = node;
    }
    this.evaluate(node);
    this.nodes.push(node);
    if (label !== undefined) this.relabel(node, label);
    return node;
  }

  /** Replaces a leaf's value and recomputes everything downstream once (unless batched). */
  set(ref: NodeRef, value: Tensor): void {
    const leaf = this.node(ref);
    if (leaf.kind === "op") {
      throw new NinjagradError(
        `${leaf.name} is computed by ${leaf.op!.name}; only leaves can be set`,
      );
    }
    if (!((value as unknown) instanceof Tensor)) {
      throw new NinjagradError(
        `set(${leaf.name}, value): value is ${describe(value)}, not a Tensor: ` +
          ((value as unknown) instanceof Node
            ? "pass the node's value (node.value)"
            : "pass a Tensor"),
      );
    }
    leaf.value = this.converted(value, leaf.value);
    this.changed(leaf);
  }

  /** Says that a leaf's buffer was edited in place: recomputes downstream (unless batched). */
  changed(ref: NodeRef): void {
    this.markDirty(this.node(ref));
    if (this.batchDepth === 0) this.flush();
  }

  /** Sets several leaves by label in one propagation. */
  run(feeds: Readonly<Record<string, Tensor>>): void {
    this.batch(() => {
      for (const [label, value] of Object.entries(feeds)) this.set(label, value);
    });
  }

  /** Runs `fn`, deferring propagation to its end so that all its leaf changes land at once. */
  batch(fn: () => void): void {
    this.batchDepth++;
    try {
      fn();
    } finally {
      if (--this.batchDepth === 0) this.flush();
    }
  }

  /** Recomputes every op node (after editing leaves behind the graph's back). */
  recompute(): void {
    for (const node of this.nodes) if (node.kind !== "op") this.markDirty(node);
    this.flush();
  }

  /**
   * Replaces the rules of one node. `rules` is a rule per input name, or a single rule for a node
   * with one differentiable input. Returns a function that undoes it.
   */
  override(ref: NodeRef, rules: Readonly<Record<string, AnyRule>> | AnyRule): () => void {
    const node = this.node(ref);
    if (!node.op) {
      throw new NinjagradError(`${node.name} is a leaf; leaves have no rule to override`);
    }
    const diff = node.op.inputs.filter((n) => !node.op!.nondiff.includes(n));
    let table: Record<string, AnyRule>;
    if (typeof rules === "function") {
      if (diff.length !== 1) {
        throw new NinjagradError(
          `${node.name} (${node.op.name}) has inputs ${
            diff.join(", ")
          }: give a rule per input, as { ${diff[0]}: ... }`,
        );
      }
      table = { [diff[0]]: rules };
    } else {
      table = { ...rules };
      for (const name of Object.keys(table)) {
        if (!diff.includes(name)) {
          throw new NinjagradError(
            `${node.name} (${node.op.name}) has no differentiable input "${name}"; its inputs are ${
              diff.join(", ")
            }`,
          );
        }
      }
    }
    const previous = node.override;
    node.override = table;
    this.emit({ type: "override", node, action: "set" });
    return () => {
      node.override = previous;
      this.emit({ type: "override", node, action: "removed" });
    };
  }

  /** Removes a node's override: its op's own rules run again. */
  restore(ref: NodeRef): void {
    const node = this.node(ref);
    if (node.override === undefined) return;
    node.override = undefined;
    this.emit({ type: "override", node, action: "removed" });
  }

  /** Backpropagates from `loss` (a single number, seeded with 1; else pass `options.seed`). */
  backward(loss: NodeRef, options: BackwardOptions = {}): Gradients {
    const grads = backward(this, this.node(loss), options);
    if (options.notify !== false) this.notifyGradients(grads);
    return grads;
  }

  /** Runs the automatic and the overridden rules on the same values and compares, node by node. */
  compare(loss: NodeRef, options: CompareOptions = {}): Comparison {
    return compare(this, this.node(loss), options);
  }

  /** Engine events: forward per node, backward per rule, override changes, anomalies. */
  get events$(): Observable<EngineEvent> {
    this.eventSubject ??= new Subject<EngineEvent>();
    return this.eventSubject.asObservable();
  }

  /** The gradients of every backward pass. */
  get gradients$(): Observable<Gradients> {
    this.gradientSubject ??= new Subject<Gradients>();
    return this.gradientSubject.asObservable();
  }

  /** Whether anyone listens to engine events; the hot loop asks before building an event. */
  get observed(): boolean {
    return this.eventSubject?.observed ?? false;
  }

  /** @internal */
  emit(event: EngineEvent): void {
    this.eventSubject?.next(event);
  }

  /** Hands a backward's gradients to the graph's and the nodes' gradient observers. */
  private notifyGradients(grads: Gradients): void {
    if (this.gradientSubject?.observed) this.gradientSubject.next(grads);
    for (const node of this.nodes) {
      if (!node.gradSubject?.observed) continue;
      const g = grads.get(node);
      if (g) node.gradSubject.next(g);
    }
  }

  /** Adds a leaf of `kind`, its float value converted to the graph's dtype. */
  private leaf(kind: NodeKind, label: string | undefined, value: Tensor): Node {
    const t = value.dtype === "int32" || value.dtype === this.dtype
      ? value
      : value.clone(this.dtype);
    const requiresGrad = kind !== "constant" && t.dtype !== "int32";
    const node = new Node(this, this.nodes.length, kind, null, [], undefined, t, requiresGrad);
    this.nodes.push(node);
    if (label !== undefined) this.relabel(node, label);
    return node;
  }

  /** A replacement leaf value in the graph's dtype; refuses swapping float for int or back. */
  private converted(value: Tensor, old: Tensor): Tensor {
    const isInt = value.dtype === "int32";
    if (isInt !== (old.dtype === "int32")) {
      throw new NinjagradError(`cannot replace a ${old.dtype} leaf with a ${value.dtype} tensor`);
    }
    if (isInt || value.dtype === this.dtype) return value;
    return value.clone(this.dtype);
  }

  /** Marks a node stale for the next flush. */
  private markDirty(node: Node): void {
    this.growDirty(node.id + 1);
    this.dirty[node.id] = 1;
    if (node.id < this.firstDirty) this.firstDirty = node.id;
  }

  /** Grows the dirty bitmap to hold at least `n` nodes. */
  private growDirty(n: number): void {
    if (this.dirty.length >= n) return;
    const grown = new Uint8Array(Math.max(2 * this.dirty.length, n));
    grown.set(this.dirty);
    this.dirty = grown;
  }

  /** Recomputes the pending leaves' descendants once each, in order, then notifies observers. */
  private flush(): void {
    const first = this.firstDirty;
    if (first === Infinity) return;
    this.firstDirty = Infinity;
    const nodes = this.nodes;
    this.growDirty(nodes.length);
    const dirty = this.dirty;
    let touched: Node[] | undefined;
    try {
      for (let i = first; i < nodes.length; i++) {
        const node = nodes[i];
        if (!dirty[i]) {
          if (node.kind !== "op") continue;
          const inputs = node.inputs;
          let stale = false;
          for (let j = 0; j < inputs.length && !stale; j++) stale = dirty[inputs[j].id] === 1;
          if (!stale) continue;
          dirty[i] = 1;
          this.evaluate(node);
        }
        if (node.valueSubject !== undefined) (touched ??= []).push(node);
      }
    } finally {
      dirty.fill(0, first, nodes.length);
    }
    // Observers hear only after every node is recomputed: nobody sees old and new values mixed.
    if (touched) { for (const node of touched) node.valueSubject!.next(node.value); }
  }

  /**
   * Runs a composite's fused forward (see `CompositeOp.fused`) when it has one and the inputs
   * are the very tensors the subgraph was last evaluated with node by node, so that every node
   * buffer it writes has its shape. Anomaly detection and observed subgraphs go node by node.
   */
  private fusedForward(node: Node, op: CompositeOp, sub: Subgraph): boolean {
    if (!op.fused || !sub.buffers || !sub.evaluatedWith) return false;
    if (this.detectAnomaly || sub.graph.observed) return false;
    for (let i = 0; i < node.inputs.length; i++) {
      if (node.inputs[i].value !== sub.evaluatedWith[i]) return false;
    }
    return op.fused(inputValues(node), sub.buffers, node.attrs);
  }

  /**
   * Works an atomic node's output shape out again and gives it a new buffer if that changed.
   * A method of its own: the closures here would otherwise make every evaluate allocate.
   */
  private reshape(node: Node, op: AtomicOp): void {
    const shapes: Record<string, Shape> = {}, known = nodeCache(node).shapes;
    op.inputs.forEach((name, i) => (shapes[name] = node.inputs[i].value.shape));
    const shape = op.shape(shapes, node.attrs);
    const dtype = op.dtype ?? this.dtype;
    if (!sameShape(shape, node.value.shape) || node.value.dtype !== dtype) {
      node.value = Tensor.owned(shape, dtype);
    }
    node.inputs.forEach((x, i) => (known[i] = x.value.shape));
  }

  /** Runs one node's forward, reusing its buffer when the shape is unchanged. */
  private evaluate(node: Node): void {
    const op = node.op!;
    if (op.kind === "composite") {
      const sub = node.sub!;
      if (!this.fusedForward(node, op, sub)) {
        for (let i = 0; i < sub.leaves.length; i++) sub.leaves[i].value = node.inputs[i].value;
        sub.graph.detectAnomaly = this.detectAnomaly;
        sub.graph.recompute();
        node.value = sub.out.value;
        node.saved = labelledValues(sub.graph, node.saved as Record<string, Tensor> | undefined);
        sub.evaluatedWith = evaluatedWith(node);
        if (sub.labelled) {
          sub.buffers = fusedBuffers(sub.labelled, node.saved as Record<string, Tensor>);
        }
      }
    } else {
      // The input record and the output shape are kept from the last run; the shape is worked
      // out again only when an input's shape is not the very one it was worked out from.
      const inputs = inputValues(node), known = nodeCache(node).shapes;
      let reshaped = node.value.dtype !== ((op as AtomicOp).dtype ?? this.dtype);
      for (let i = 0; i < node.inputs.length; i++) {
        if (known[i] !== node.inputs[i].value.shape) reshaped = true;
      }
      if (reshaped) this.reshape(node, op);
      node.saved = (op as AtomicOp).forward(inputs, node.value, node.attrs, node.saved);
    }
    if (this.observed) this.emit({ type: "forward", node });
    if (this.detectAnomaly) {
      const message = forwardAnomaly(node);
      if (message) {
        this.emit({ type: "anomaly", node, message });
        throw new NinjagradError(message);
      }
    }
  }
}

/**
 * What a fused forward writes, by label: the subgraph's values (the composite's saved record)
 * and what each node's forward saved. Made after each node-by-node evaluation, which is when
 * buffers may be replaced; fused runs in between reuse it.
 */
function fusedBuffers(
  labelled: Record<string, Node>,
  values: Record<string, Tensor>,
): FusedBuffers {
  const saved: Record<string, unknown> = {};
  for (const label in labelled) saved[label] = labelled[label].saved;
  return { values, saved };
}

/** The input values a composite's subgraph was just evaluated with. */
function evaluatedWith(node: Node): Tensor[] {
  return node.inputs.map((x) => x.value);
}

function buildSubgraph(parent: Graph, op: CompositeOp, inputs: Node[], attrs: unknown) {
  const graph = new Graph({ dtype: parent.dtype });
  // An input that takes no gradient (indices, or data no parameter feeds) is a constant in the
  // subgraph too, so that backprop through it computes no gradient nobody asked for.
  const leaves = inputs.map((x, i) => {
    const name = op.inputs[i];
    return op.nondiff.includes(name) || !x.requiresGrad
      ? graph.constant(x.value, name)
      : graph.input(name, x.value);
  });
  const named: Record<string, Node> = {};
  op.inputs.forEach((name, i) => (named[name] = leaves[i]));
  const out = op.build(named, attrs);
  if (out.graph !== graph) {
    throw new NinjagradError(`${op.name}: build must return a node of its own subgraph`);
  }
  // A fused forward writes the nodes it finds by label: it may run only if every op node has one.
  let labelled: Record<string, Node> | undefined;
  if (op.fused && graph.nodes.every((n) => n.kind !== "op" || n.label !== undefined)) {
    labelled = {};
    for (const n of graph.nodes) if (n.label !== undefined) labelled[n.label] = n;
  }
  return { graph, leaves, out, labelled };
}

/** The subgraph's labelled values by label; `previous` again when none of them was replaced. */
function labelledValues(
  graph: Graph,
  previous: Record<string, Tensor> | undefined,
): Record<string, Tensor> {
  if (previous !== undefined) {
    let same = true;
    for (const n of graph.nodes) {
      if (n.label !== undefined && previous[n.label] !== n.value) same = false;
    }
    if (same) return previous;
  }
  const saved: Record<string, Tensor> = {};
  for (const n of graph.nodes) if (n.label !== undefined) saved[n.label] = n.value;
  return saved;
}

/** Shapes as text, for messages. */
export function describeShapes(nodes: readonly Node[]): string {
  return nodes.map((n) => `${n.name} ${formatShape(n.shape)}`).join(", ");
}
