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
  beginCompute,
  endCompute,
  type FloatDType,
  formatShape,
  leafEpoch,
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
  /** The scopes open now (`scope`), outermost first, and how often each path was opened. */
  private openScopes: readonly string[] = [];
  private readonly scopeUses = new Map<string, number>();
  private eventSubject: Subject<EngineEvent> | undefined;
  private gradientSubject: Subject<Gradients> | undefined;
  private batchDepth = 0;
  /**
   * Which nodes are stale: pending leaves until `flush`, then everything recomputed from them;
   * `firstDirty` is the lowest such id (Infinity when none). All zero between flushes.
   */
  private dirty = new Uint8Array(16);
  private firstDirty = Infinity;
  /** The leaves, whose tensors' versions are compared before a value is handed out. */
  private readonly leaves: Node[] = [];
  /** Leaves given another shape since the last propagation, with the tensor they had. */
  private readonly undo: [Node, Tensor][] = [];
  /**
   * @internal While above zero, reading a node's value does not check the leaves first: the
   * engine is computing (a propagation, a backward pass), or a batch defers propagation.
   */
  hold = 0;
  /** @internal A composite's private subgraph: its parent keeps it up to date. */
  inner = false;
  /** `leafEpoch()` when the leaves' versions were last recorded or found unchanged. */
  private epoch = -1;

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

  /**
   * Runs `fn` with every node it makes marked as made under `name` (`node.scope`), inside the
   * scopes open now: an nn module's forward opens one (`h.0`, then `h.0.attn` inside it), a
   * loop may open one per time step. Charts group a scope's nodes into one block. A path opened
   * again is a new scope, `step#2`, `step#3`, …: a module called at every time step makes a
   * block per call. Returns what `fn` returns.
   */
  scope<T>(name: string, fn: () => T): T {
    const outer = this.openScopes;
    let path = outer.length === 0 ? name : `${outer[outer.length - 1]}.${name}`;
    const uses = (this.scopeUses.get(path) ?? 0) + 1;
    this.scopeUses.set(path, uses);
    if (uses > 1) path = `${path}#${uses}`;
    this.openScopes = [...outer, path];
    try {
      return fn();
    } finally {
      this.openScopes = outer;
    }
  }

  /** The scopes open now, outermost first, each its full path (see `scope`). */
  get scopes(): readonly string[] {
    return this.openScopes;
  }

  /** Applies an op to its inputs (by name) and evaluates the new node at once. */
  apply<A>(op: Op, inputs: Readonly<Record<string, Operand>>, attrs: A, label?: string): Node {
    // Leaves edited in place since the last run are taken in first, so that the new node and
    // the old ones are computed from the same values.
    this.refresh();
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
    node.scope = this.openScopes;
    if (op.kind === "composite") {
      node.sub = buildSubgraph(this, op, nodes, attrs);
      node.sub.graph.owner = node;
      const known = node.cache.shapes;
      for (let i = 0; i < nodes.length; i++) known[i] = nodes[i].current.shape;
    }
    this.begin();
    try {
      this.evaluate(node);
    } finally {
      this.end();
    }
    for (const x of nodes) if (x.kind !== "op") x.seen = x.current.version;
    node.cache.built = nodes.map((x) => x.current.shape);
    this.nodes.push(node);
    if (label !== undefined) this.relabel(node, label);
    return node;
  }

  /**
   * Gives a leaf a new value and recomputes everything downstream once (unless batched). The
   * value may have another shape: the shapes downstream are worked out again, and only the
   * nodes whose shape changed get new buffers. An input (or constant) then holds `value`
   * itself; a parameter of the same shape keeps its tensor and takes `value`'s elements, so
   * that every graph sharing the parameter sees them. When the propagation fails on a new shape
   * (a size that does not fit), the leaves given another shape since the last propagation get
   * their previous values back, and the graph its previous values.
   */
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
    const old = leaf.current, next = this.converted(value, old);
    if (next !== old) {
      if (leaf.kind === "param" && next.dtype === old.dtype && sameShape(next.shape, old.shape)) {
        old.data.set(next.raw);
      } else {
        if (!sameShape(next.shape, old.shape)) this.undo.push([leaf, old]);
        leaf.current = next;
        Tensor.heldByLeaf(next);
      }
    }
    this.changed(leaf);
  }

  /**
   * Says that a leaf's tensor was edited in place: recomputes downstream (unless batched). An
   * edit written as `t.data[i] = v` is seen without it; one through an array kept from before
   * is not, hence this (or `t.touch()`, which every graph holding `t` sees).
   */
  changed(ref: NodeRef): void {
    const node = this.node(ref);
    node.current.touch();
    this.markDirty(node);
    if (this.batchDepth === 0) this.propagate();
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
    this.hold++;
    try {
      fn();
    } finally {
      this.hold--;
      if (--this.batchDepth === 0) this.propagate();
    }
  }

  /** Recomputes every op node. */
  recompute(): void {
    for (const node of this.leaves) this.markDirty(node);
    this.propagate();
  }

  /**
   * @internal Recomputes what leaves edited in place (their tensors' `version` moved) made
   * stale; nothing when none was. Every read of a value calls it, unless `hold` says not to.
   */
  refresh(): void {
    if (this.hold === 0 && this.batchDepth === 0) this.propagate();
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
    const node = this.node(loss);
    this.refresh();
    this.begin();
    let grads: Gradients;
    try {
      grads = backward(this, node, options);
    } finally {
      this.end();
    }
    if (options.notify !== false) this.notifyGradients(grads);
    return grads;
  }

  /** Runs the automatic and the overridden rules on the same values and compares, node by node. */
  compare(loss: NodeRef, options: CompareOptions = {}): Comparison {
    const node = this.node(loss);
    this.refresh();
    this.begin();
    try {
      return compare(this, node, options);
    } finally {
      this.end();
    }
  }

  /**
   * A computation begins (a propagation, a backward pass, a comparison): values read meanwhile
   * are the engine's own, and its kernels' reads of the leaves' `data` count no write (a rule
   * that wrote into a leaf would not be seen; rules return new tensors).
   */
  private begin(): void {
    this.hold++;
    beginCompute();
  }

  /** The computation `begin` began ends. */
  private end(): void {
    endCompute();
    this.hold--;
  }

  /** Takes every leaf's version as the one the graph's values were computed from. */
  private record(): void {
    const leaves = this.leaves;
    for (let i = 0; i < leaves.length; i++) leaves[i].seen = leaves[i].current.version;
    this.epoch = leafEpoch();
  }

  /** Marks the leaves whose tensors were written since `record` as changed. */
  private scan(): void {
    const epoch = leafEpoch();
    if (epoch === this.epoch) return;
    const leaves = this.leaves;
    let stale = false;
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i];
      if (leaf.current.version !== leaf.seen) this.markDirty(leaf), stale = true;
    }
    if (!stale) this.epoch = epoch;
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
    node.scope = this.openScopes;
    this.nodes.push(node);
    this.leaves.push(node);
    if (!this.inner) Tensor.heldByLeaf(t);
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

  /**
   * Flushes; when that fails, the leaves `set` gave another shape since the last propagation
   * get their previous tensor back and the graph is recomputed, so that it is left as it was,
   * and the error says so.
   */
  private propagate(): void {
    try {
      this.flush();
    } catch (e) {
      throw this.rollBack(e);
    }
    if (this.undo.length > 0) this.undo.length = 0;
  }

  /** See `propagate`: puts the previous tensors back and says so in the error. */
  private rollBack(e: unknown): unknown {
    const undo = this.undo.splice(0);
    if (undo.length === 0 || !(e instanceof NinjagradError)) return e;
    // An anomaly stops at the node that went wrong, with the values that made it, to look at.
    if (e.message.startsWith("anomaly")) return e;
    const set = undo.map(([leaf]) => `${leaf.name} to ${formatShape(leaf.current.shape)}`);
    for (let i = undo.length - 1; i >= 0; i--) undo[i][0].current = undo[i][1];
    const kept = undo.map(([leaf, old]) => `${leaf.name} ${formatShape(old.shape)}`);
    try {
      this.recompute();
    } catch {
      // The values the graph had fail too (data edited in place): the first error says why.
    }
    return new NinjagradError(
      `setting ${set.join(", ")}: ${e.message}; the graph keeps its previous values (${
        kept.join(", ")
      })`,
    );
  }

  /** Recomputes the pending leaves' descendants once each, in order, then notifies observers. */
  private flush(): void {
    if (!this.inner) this.scan();
    const first = this.firstDirty;
    if (first === Infinity) return;
    this.begin();
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
      this.end();
    }
    if (!this.inner) this.record();
    // Observers hear only after every node is recomputed: nobody sees old and new values mixed.
    if (touched) { for (const node of touched) node.valueSubject!.next(node.current); }
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
      if (node.inputs[i].current !== sub.evaluatedWith[i]) return false;
    }
    return op.fused(inputValues(node), sub.buffers, node.attrs);
  }

  /**
   * Works an atomic node's output shape out again and gives it a new buffer if that changed.
   * A method of its own: the closures here would otherwise make every evaluate allocate.
   */
  private reshape(node: Node, op: AtomicOp): void {
    const shapes: Record<string, Shape> = {}, known = nodeCache(node).shapes;
    op.inputs.forEach((name, i) => (shapes[name] = node.inputs[i].current.shape));
    let shape: Shape;
    try {
      shape = op.shape(shapes, node.attrs);
    } catch (e) {
      throw shapeError(node, e);
    }
    const dtype = op.dtype ?? this.dtype;
    if (!sameShape(shape, node.current.shape) || node.current.dtype !== dtype) {
      node.current = Tensor.owned(shape, dtype);
      Tensor.own(node.current, this);
    }
    node.inputs.forEach((x, i) => (known[i] = x.current.shape));
  }

  /**
   * A view's node (AtomicOp.view) takes its input's elements under its own shape, so that its
   * forward copies nothing: where the input is computed (an op node; a leaf's tensor is the
   * user's) and of the node's dtype, and again whenever the input's buffer is another.
   */
  private alias(node: Node): void {
    const x = node.inputs[0], value = x.current, current = node.current;
    if (current.raw === value.raw || x.kind !== "op" || value.dtype !== current.dtype) return;
    node.current = value.reshape(current.shape);
    Tensor.own(node.current, this);
  }

  /**
   * A composite node's subgraph for its inputs' shapes now: built again when one changed, since
   * a build may keep sizes in constants (batchnorm's 1/n), and its nodes' buffers would not fit.
   */
  private subgraphFor(node: Node, op: CompositeOp): Subgraph {
    const known = nodeCache(node).shapes, inputs = node.inputs;
    let same = true;
    for (let i = 0; i < inputs.length; i++) {
      const shape = inputs[i].current.shape;
      if (known[i] === shape) continue;
      if (!sameShape(known[i]!, shape)) same = false;
      known[i] = shape;
    }
    if (same) return node.sub!;
    let sub: Subgraph;
    try {
      sub = buildSubgraph(this, op, inputs, node.attrs);
    } catch (e) {
      throw shapeError(node, e);
    }
    sub.graph.owner = node;
    node.cache.sub = undefined;
    node.saved = undefined;
    return (node.sub = sub);
  }

  /** Runs one node's forward, reusing its buffer when the shape is unchanged. */
  private evaluate(node: Node): void {
    const op = node.op!;
    if (op.kind === "composite") {
      const sub = this.subgraphFor(node, op);
      if (!this.fusedForward(node, op, sub)) {
        for (let i = 0; i < sub.leaves.length; i++) sub.leaves[i].current = node.inputs[i].current;
        sub.graph.detectAnomaly = this.detectAnomaly;
        try {
          sub.graph.recompute();
        } catch (e) {
          throw shapeError(node, e);
        }
        node.current = sub.out.current;
        Tensor.own(node.current, this);
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
      let reshaped = node.current.dtype !== ((op as AtomicOp).dtype ?? this.dtype);
      for (let i = 0; i < node.inputs.length; i++) {
        if (known[i] !== node.inputs[i].current.shape) reshaped = true;
      }
      if (reshaped) this.reshape(node, op);
      if ((op as AtomicOp).view) this.alias(node);
      node.saved = (op as AtomicOp).forward(inputs, node.current, node.attrs, node.saved);
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
  return node.inputs.map((x) => x.current);
}

/**
 * A shape error of a node evaluated again after its inputs' shapes changed, naming the node,
 * its op, and its inputs' shapes now and when the graph was built. Errors of a node being
 * built, and anomalies, go through as they are.
 */
function shapeError(node: Node, e: unknown): unknown {
  const built = node.cache.built;
  if (built === undefined || !(e instanceof NinjagradError) || e.message.startsWith("anomaly")) {
    return e;
  }
  const changed = node.inputs.flatMap((x, i) =>
    sameShape(x.current.shape, built[i])
      ? []
      : [`${x.name} is ${formatShape(x.current.shape)} now, ${formatShape(built[i])} when built`]
  );
  if (changed.length === 0) return e;
  // An input that kept its shape may be what holds a size fixed at build time (an expand to B).
  const kept = node.inputs.flatMap((x, i) =>
    x.kind === "op" && sameShape(x.current.shape, built[i])
      ? [`${x.name} is ${formatShape(built[i])} as built`]
      : []
  );
  changed.push(...kept);
  const hint = node.op?.name === "view"
    ? ` (write an axis whose size changes as -1, or read it off a node: x.size(d))`
    : node.op?.name === "slice"
    ? ` (a bound written as a number stays as built: read it off a node, x.size(d), to follow; a loop over an axis unrolls the steps it had when built, so another length needs a graph of its own)`
    : "";
  return new NinjagradError(
    `${node.name} (${node.op?.name}): ${e.message}; ${changed.join(", ")}${hint}`,
  );
}

function buildSubgraph(
  parent: Graph,
  op: CompositeOp,
  inputs: readonly Node[],
  attrs: unknown,
): Subgraph {
  const graph = new Graph({ dtype: parent.dtype });
  // The parent keeps its subgraph's leaves up to date: reading its values checks nothing.
  graph.inner = true;
  graph.hold = 1;
  // An input that takes no gradient (indices, or data no parameter feeds) is a constant in the
  // subgraph too, so that backprop through it computes no gradient nobody asked for.
  const leaves = inputs.map((x, i) => {
    const name = op.inputs[i];
    return op.nondiff.includes(name) || !x.requiresGrad
      ? graph.constant(x.current, name)
      : graph.input(name, x.current);
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
      if (n.label !== undefined && previous[n.label] !== n.current) same = false;
    }
    if (same) return previous;
  }
  const saved: Record<string, Tensor> = {};
  for (const n of graph.nodes) if (n.label !== undefined) saved[n.label] = n.current;
  return saved;
}

/** Shapes as text, for messages. */
export function describeShapes(nodes: readonly Node[]): string {
  return nodes.map((n) => `${n.name} ${formatShape(n.shape)}`).join(", ");
}
