/**
 * PyTorch's `nn.Module` and `nn.Parameter`, for a graph engine: a module holds its parameters'
 * values, and its `forward` adds its nodes to the graph of the nodes it is given, the parameters
 * as `graph.param` leaves there, made once per graph. Children are found as PyTorch finds them,
 * by property name (`this.attn = new Attention()`; an array of modules is numbered, as a
 * ModuleList), so `namedParameters()` gives PyTorch's dotted names
 * (`transformer.h.0.attn.c_attn.weight`), and the graph's leaves carry the same labels: each
 * `forward` names its children before it runs.
 */
import { NinjagradError } from "./kernels/errors.ts";
import { Tensor } from "./kernels/tensor.ts";
import type { Graph } from "../graph/graph.ts";
import { Node } from "../graph/node.ts";

/** A label for a new node of `graph`: `base`, or `base_2`, `base_3`, … when that is taken. */
export function freshLabel(graph: Graph, base: string): string {
  if (!graph.has(base)) return base;
  let k = 2;
  while (graph.has(`${base}_${k}`)) k++;
  return `${base}_${k}`;
}

/** Options of `stateDict` and `loadStateDict`. */
export interface StateDictOptions {
  /**
   * "ninjagrad" (the default): the module's own names and layouts; "torch": torch.nn's, so that
   * PyTorch's `load_state_dict` takes the tensors of a model written as its PyTorch twin.
   */
  layout?: "ninjagrad" | "torch";
}

/** One tensor of a state dict: its name, the module's tensor, and whether it is transposed. */
interface StateEntry {
  name: string;
  tensor: Tensor;
  transpose: boolean;
}

/** A 2-D tensor's transpose, as a new tensor. */
function transposed(t: Tensor): Tensor {
  const [r, c] = t.shape, out = Tensor.zeros([c, r], t.dtype), s = t.data, o = out.data;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) o[j * r + i] = s[i * c + j];
  return out;
}

/** Whether `v` is an object literal (`{ wte, h }`), not an instance of a class. */
const isPlain = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;

/**
 * The modules and parameters among an object's properties, by name, looking into arrays (`h.0`)
 * and object literals (`transformer.wte`) a few levels down, as PyTorch's containers nest.
 */
function inContainers(owner: object): [string, Module | Parameter][] {
  const out: [string, Module | Parameter][] = [];
  const walk = (key: string, v: unknown, depth: number) => {
    if (v instanceof Module || v instanceof Parameter) out.push([key, v]);
    else if (depth < 4 && Array.isArray(v)) v.forEach((m, i) => walk(`${key}.${i}`, m, depth + 1));
    else if (depth < 4 && isPlain(v)) {
      for (const [k, m] of Object.entries(v)) walk(`${key}.${k}`, m, depth + 1);
    }
  };
  for (const [key, v] of Object.entries(owner)) walk(key, v, 0);
  return out;
}

/** `name` under `prefix`: `prefix.name`, or `name` at the top. */
const under = (prefix: string | undefined, name: string) =>
  prefix === undefined ? name : `${prefix}.${name}`;

/**
 * nn.Parameter: a raw tensor a module trains (the bigram's table, an RNN's start state), as a
 * property of the module: `this.start = new nn.Parameter(Tensor.zeros([1, 64]))`, then
 * `this.start.in(x.graph)` in `forward` gives its leaf in that graph.
 */
export class Parameter {
  /** The value: float64 until first built into a graph, then that graph's tensor (shared). */
  value: Tensor;
  /** The dotted name its module gives it (`start`, `rnn.start`), the label of its leaves. */
  name: string | undefined;
  private readonly bound = new Map<Graph, Node>();

  /** A parameter holding `value` (a float tensor; copied into each graph's dtype). */
  constructor(value: Tensor) {
    if (value === undefined || value.dtype === "int32") {
      throw new NinjagradError(
        `nn.Parameter takes a float tensor, got ${
          value === undefined ? "nothing" : "an int32 one"
        }`,
      );
    }
    this.value = value;
  }

  /** Its leaf in `graph`, made there on first use (labelled with its name). */
  in(graph: Graph): Node {
    let node = this.bound.get(graph);
    if (node !== undefined) return node;
    node = graph.param(freshLabel(graph, this.name ?? "param"), this.value);
    // From now on the parameter holds the graph's tensor: later graphs of its dtype share it.
    if (this.bound.size === 0) this.value = node.value;
    this.bound.set(graph, node);
    return node;
  }

  /** The graphs it has been built into, with its leaf in each. */
  graphs(): IterableIterator<[Graph, Node]> {
    return this.bound.entries();
  }

  /** Its leaf in `graph`, or undefined when it has not been built there. */
  node(graph: Graph): Node | undefined {
    return this.bound.get(graph);
  }
}

/**
 * nn.Module: subclass it, assign parameters (`nn.Parameter`) and submodules to properties in the
 * constructor, and write `forward`. `namedParameters()` walks them as PyTorch does: the module's
 * own parameters in the order they were made, then each child's under its property name.
 */
export abstract class Module {
  /**
   * Training mode (the default) or evaluation mode, read when `forward` builds the nodes:
   * BatchNorm1d uses the batch's statistics or its running ones, Dropout drops or passes through.
   */
  training = true;
  /** The module's dotted path (`transformer.h.0`), set by its parent's forward; a label prefix. */
  name: string | undefined;
  /** Its property name in its parent (`attn`, `h.0`), set with `name`. */
  key: string | undefined;
  /** The output node of the last `forward` of a layer, as the lecture's `layer.out`. */
  out: Node | undefined;
  /** The parameters' values by name, in the dtype of the first graph built into (layers' own). */
  protected readonly values: Record<string, Tensor> = {};
  private readonly bound = new Map<Graph, Record<string, Node>>();
  private first: Graph | undefined;

  /**
   * Wraps the subclass's `forward` so that every call names the children first, and makes its
   * nodes inside a graph scope of the module's name (`graph.scope`), which charts group by.
   */
  constructor() {
    const forward = this.forward;
    const named = (...args: unknown[]) => {
      const node = args.find((a): a is Node => a instanceof Node);
      if (node !== undefined) this.first ??= node.graph;
      this.nameChildren();
      const graph = node?.graph;
      // Inside its parent's scope a child opens its own key (`attn` in `h.0`), else its name.
      const scope = graph && graph.scopes.length > 0 ? this.key ?? this.name : this.name;
      if (graph === undefined || scope === undefined) return forward.apply(this, args);
      return graph.scope(scope, () => forward.apply(this, args));
    };
    Object.defineProperty(this, "forward", { value: named, writable: true, configurable: true });
  }

  /** Builds the module's nodes on its inputs, in their graph; returns what the model returns. */
  // deno-lint-ignore no-explicit-any
  abstract forward(...args: any[]): any;

  /**
   * The direct submodules by name: each property holding a module, each array of modules as
   * `name.0`, `name.1`, … (PyTorch's ModuleList) and each plain object of modules as
   * `name.key` (PyTorch's ModuleDict: makemore's `transformer.wte`), in the order assigned.
   */
  children(): [string, Module][] {
    return this.members().filter((m): m is [string, Module] => m[1] instanceof Module);
  }

  /** The module's own `nn.Parameter` properties by name, in the order assigned. */
  private ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [key, v] of Object.entries(this)) if (v instanceof Parameter) out.push([key, v]);
    return out;
  }

  /**
   * The submodules, and the parameters held in arrays or object literals (PyTorch's
   * ParameterList and ParameterDict, which are submodules there), in the order assigned: where
   * their parameters come in PyTorch's `named_parameters()`, after the module's own.
   */
  protected members(): [string, Module | Parameter][] {
    return inContainers(this).filter(([key, m]) => m instanceof Module || key.includes("."));
  }

  /** Gives each child and parameter its dotted name under this module's. */
  private nameChildren(): void {
    for (const [key, p] of this.ownParameters()) p.name = under(this.name, key);
    for (const [key, m] of this.members()) {
      m.name = under(this.name, key);
      if (m instanceof Module) m.key = key;
    }
  }

  /**
   * Every parameter's leaf in `graph` (default: the first graph the module was built into) under
   * PyTorch's dotted name, each once (a parameter shared by two modules appears under its first
   * name). A module not yet built there has none: call `forward` first.
   */
  namedParameters(graph?: Graph): [string, Node][] {
    this.nameChildren();
    const g = graph ?? this.first ?? this.firstBelow();
    const seen = new Set<Node>(), out: [string, Node][] = [];
    const visit = (m: Module, prefix: string | undefined) => {
      const own: [string, Node | undefined][] = [];
      if (Object.keys(m.values).length > 0) {
        const nodes = g === undefined ? undefined : m.bound.get(g);
        for (const key of Object.keys(m.values)) own.push([key, nodes?.[key]]);
      }
      for (const [key, p] of m.ownParameters()) own.push([key, g && p.node(g)]);
      const add = (key: string, node: Node | undefined) => {
        if (node === undefined) {
          throw new NinjagradError(
            `${m.describe()} has no parameters in ${
              graph ? "that graph" : "a graph"
            } yet: call forward(x) on a node of it first (parameters live in the graph they are built into)`,
          );
        }
        if (!seen.has(node)) seen.add(node), out.push([under(prefix, key), node]);
      };
      for (const [key, node] of own) add(key, node);
      for (const [key, member] of m.members()) {
        if (member instanceof Module) visit(member, under(prefix, key));
        else add(key, g && member.node(g));
      }
    };
    visit(this, undefined);
    return out;
  }

  /** The parameter leaves in `graph` (default: the first built into), for an optimizer. */
  parameters(graph?: Graph): Node[] {
    return this.namedParameters(graph).map(([, node]) => node);
  }

  /**
   * Every tensor the module holds under its dotted name, PyTorch's state_dict: the parameters'
   * current values, and buffers (BatchNorm1d's `running_mean`, `running_var`). Read from the
   * module, so a module never built into a graph has its initial values here. With
   * `{ layout: "torch" }`, the names and layouts of torch.nn's layers instead of the lecture's:
   * norm layers' `gamma`/`beta` as `weight`/`bias`, Linear's weight transposed to
   * (out_features, in_features) (a copy; the others are the module's own tensors).
   */
  stateDict(options: StateDictOptions = {}): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const { name, tensor, transpose } of this.entries(options)) {
      out.set(name, transpose ? transposed(tensor) : tensor);
    }
    return out;
  }

  /**
   * Copies `state` (names and layout as `stateDict(options)` gives them) into the module's tensors
   * in place; every graph built from the module recomputes what depends on them. Refuses,
   * naming it, a missing or unexpected name or a shape that differs, and changes nothing then.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>, options: StateDictOptions = {}): void {
    const mine = this.entries(options), names = new Set(mine.map((e) => e.name));
    for (const { name, tensor, transpose } of mine) {
      const src = state.get(name);
      if (src === undefined) {
        throw new NinjagradError(`loadStateDict: "${name}" is missing from the state given`);
      }
      const want = transpose ? [...tensor.shape].reverse() : tensor.shape;
      if (src.shape.length !== want.length || src.shape.some((d, i) => d !== want[i])) {
        throw new NinjagradError(
          `loadStateDict: "${name}" is (${src.shape.join(", ")}) in the state but (${
            want.join(", ")
          }) in the model${options.layout === "torch" ? " (PyTorch's layout)" : ""}`,
        );
      }
    }
    for (const name of state.keys()) {
      if (!names.has(name)) {
        throw new NinjagradError(
          `loadStateDict: the state has "${name}", which the model does not (it has ${
            [...names].slice(0, 8).join(", ")
          }${names.size > 8 ? ", …" : ""})`,
        );
      }
    }
    const copy = () => {
      for (const { name, tensor, transpose } of mine) {
        const src = state.get(name)!;
        tensor.data.set((transpose ? transposed(src) : src).data);
      }
    };
    copy();
    // Every graph built from the module recomputes what depends on the new values.
    const leaves = new Map<Graph, Node[]>();
    const visit = (m: Module) => {
      for (const [graph, nodes] of m.bound) {
        leaves.set(graph, [...(leaves.get(graph) ?? []), ...Object.values(nodes)]);
      }
      for (const [, p] of [...m.ownParameters(), ...m.members()]) {
        if (p instanceof Module) continue;
        for (const [graph, node] of p.graphs()) {
          leaves.set(graph, [...(leaves.get(graph) ?? []), node]);
        }
      }
      for (const [, child] of m.children()) visit(child);
    };
    visit(this);
    for (const [graph, nodes] of leaves) graph.batch(() => nodes.forEach((n) => graph.changed(n)));
    // A training-mode BatchNorm1d's forward, just run again, moved its running statistics: the
    // loaded ones are written once more (the parameters are unchanged by it).
    copy();
  }

  /** Every tensor under its dotted name in `layout`, each once, and whether it is transposed. */
  private entries({ layout = "ninjagrad" }: StateDictOptions): StateEntry[] {
    if (layout !== "ninjagrad" && layout !== "torch") {
      throw new NinjagradError(
        `a state dict's layout is "ninjagrad" or "torch", got ${String(layout)}`,
      );
    }
    this.nameChildren();
    const out: StateEntry[] = [], seen = new Set<Tensor>();
    const visit = (m: Module, prefix: string | undefined) => {
      const torch = layout === "torch" ? m.torchLayout() : {};
      const own: [string, Tensor][] = [
        ...Object.entries(m.values),
        ...m.ownParameters().map(([k, p]): [string, Tensor] => [k, p.value]),
        ...m.buffers(),
        ...(layout === "torch" ? m.torchBuffers() : []),
      ];
      const add = (key: string, tensor: Tensor) => {
        if (seen.has(tensor)) return;
        seen.add(tensor);
        const as = torch[key];
        out.push({
          name: under(prefix, as?.name ?? key),
          tensor,
          transpose: as?.transpose ?? false,
        });
      };
      for (const [key, tensor] of own) add(key, tensor);
      for (const [key, member] of m.members()) {
        if (member instanceof Module) visit(member, under(prefix, key));
        else add(key, member.value);
      }
    };
    visit(this, undefined);
    return out;
  }

  /** Tensors torch.nn's counterpart keeps beside the module's own (BatchNorm's batch count). */
  protected torchBuffers(): [string, Tensor][] {
    return [];
  }

  /**
   * How the module's own tensors are named and laid out in torch.nn's counterpart, where they
   * differ from the lecture's: `{ gamma: { name: "weight" } }`, `{ weight: { transpose: true } }`.
   */
  protected torchLayout(): Readonly<Record<string, { name?: string; transpose?: boolean }>> {
    return {};
  }

  /** Tensors the module keeps that are not parameters (running statistics), by name. */
  protected buffers(): [string, Tensor][] {
    return [];
  }

  /** The first graph any module below was built into. */
  private firstBelow(): Graph | undefined {
    for (const [, child] of this.children()) {
      const g = child.first ?? child.firstBelow();
      if (g !== undefined) return g;
    }
    return undefined;
  }

  /** Switches training mode on (or off, with `false`), for this module and every one inside. */
  train(on = true): this {
    this.training = on;
    for (const [, child] of this.children()) child.train(on);
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** The module as a person wrote it, for messages: `Linear(30, 200)`. */
  describe(): string {
    return this.constructor.name;
  }

  /** The module's own parameter leaves in `graph`, made there on first use. */
  protected bind(graph: Graph): Record<string, Node> {
    let nodes = this.bound.get(graph);
    if (nodes !== undefined) return nodes;
    nodes = {};
    for (const [key, value] of Object.entries(this.values)) {
      const node = graph.param(freshLabel(graph, under(this.name, key)), value);
      // From now on the module holds the graph's tensor: later graphs of this dtype share it.
      if (this.bound.size === 0) this.values[key] = node.value;
      nodes[key] = node;
    }
    this.bound.set(graph, nodes);
    this.first ??= graph;
    return nodes;
  }

  /**
   * Remembers `out` as the lecture's `layer.out`, and returns it; a named module labels it
   * `name.kind` (`1.tanh`), so that tables and charts say which layer made it.
   */
  protected output(out: Node, kind: string): Node {
    if (this.name !== undefined && out.label === undefined) {
      out.named(freshLabel(out.graph, `${this.name}.${kind}`));
    }
    this.out = out;
    return out;
  }
}
