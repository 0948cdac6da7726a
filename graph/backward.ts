/**
 * The backward pass: walk the nodes that lie on a path to the loss in reverse creation order,
 * call each node's rule per input (its override if set, else its op's; rules.ts runs and checks
 * them), and sum what it returned into that input's gradient. Iterative, never recursive;
 * gradients are returned, not stored on nodes, so calling it twice gives the same result.
 */
import { add } from "../ops/kernels/elementwise.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { Graph } from "./graph.ts";
import type { Node } from "./node.ts";
import {
  automaticRules,
  beginChecks,
  endChecks,
  nodeCache,
  overrideRules,
  type RuleFailure,
  runRule,
} from "./rules.ts";
import { Arena, formatShape, sameShape, Tensor } from "../ops/kernels/tensor.ts";

export type { RuleFailure } from "./rules.ts";

/** Options of `graph.backward`. */
export interface BackwardOptions {
  /**
   * The upstream gradient of the loss, shaped like it. Required unless the loss is a single
   * number (whose seed is 1), as PyTorch's `backward` requires `gradient` for a non-scalar.
   */
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
  if (options.seed === undefined && loss.current.size !== 1) {
    // As PyTorch: a gradient starts implicitly (as 1) only from a single number.
    throw new NinjagradError(
      `backward from ${loss.name}, of shape ${
        formatShape(loss.shape)
      }, needs a seed: reduce it to one number first (sum or mean), or pass { seed } shaped like it`,
    );
  }
  if (!loss.requiresGrad) {
    throw new NinjagradError(
      `${loss.name} does not depend on any parameter or float input: nothing to differentiate`,
    );
  }
  beginChecks();
  try {
    return run(graph, loss, options);
  } finally {
    endChecks();
  }
}

/** backward's pass, on the graph's scratch where it may reuse it. */
function run(graph: Graph, loss: Node, options: BackwardOptions): Gradients {
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
  const seed = options.seed ?? Tensor.full(loss.shape, 1, graph.dtype); // a scalar loss: 1
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
