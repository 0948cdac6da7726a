/**
 * Exercise 4's backward pass, written by hand: one rule for every node of the exercise-4 graph.
 * Cross-entropy and batchnorm go in one step each (the closed forms of exercises 2 and 3, kept
 * with their ops in ops/nn.ts); linear is dx = g @ Wᵀ, dW = xᵀ @ g, db = Σ g; tanh, the view and
 * the embedding's scatter-add are written here, each a kernel call under its formula. Installed
 * on every node, no automatic rule runs at all, and `graph.ruleCounts.auto` stays 0 to prove it.
 */
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { Graph } from "../../graph/graph.ts";
import type { Comparison } from "../../graph/compare.ts";
import type { FloatDType } from "../../ops/kernels/tensor.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import type { AnyRule, CompositeOp } from "../../graph/op.ts";
import * as nn from "../../ops/nn.ts";
import { mulOneMinusSquare } from "../../ops/kernels/elementwise.ts";
import { scatterAddRows } from "../../ops/kernels/indexing.ts";
import { EX1_ROWS, type Ex1RowName } from "../model/ex1.ts";
import {
  buildEx4,
  EX4_NODES,
  type Ex4Graph,
  type Ex4Sizes,
  type Ex4Weights,
  PARAM_NAMES,
} from "../model/ex4.ts";

/** A composite op's one-step rule for one input, or an error if the op has none. */
function closedForm<N extends string, A>(op: CompositeOp<N, A>, input: N): AnyRule {
  const rule = op.closedForm?.[input];
  if (!rule) throw new NinjagradError(`${op.name} has no closed-form rule for "${input}"`);
  return rule;
}

/**
 * dh/dhpreact = 1 − h², written with tanh's output: dhpreact = (1.0 - h**2) * dh, in one pass,
 * rounded as PyTorch's float32 arithmetic rounds it.
 */
const tanhRule: AnyRule = ({ g, out: h }) => mulOneMinusSquare(g, h);

/** embcat is emb viewed as (batch, block·embd): demb is dembcat viewed back. */
const viewRule: AnyRule = ({ g, inputs: { x } }) => g.reshape(x.shape);

/**
 * dC[Xb[k, j]] += demb[k, j] for every k and j, from dC = 0: the lookup's backward scatter-adds
 * rows. A letter appears many times in a batch, so its row's contributions must add up, never
 * overwrite each other.
 */
const embeddingRule: AnyRule = ({ g, inputs: { table, idx } }) =>
  scatterAddRows(g, idx, table.shape);

const linearRules = {
  x: closedForm(nn.linear, "x"),
  w: closedForm(nn.linear, "w"),
  b: closedForm(nn.linear, "b"),
};

/** The hand-written rules, by node label: every op node of the exercise-4 graph has one. */
export const EX4_RULES: Readonly<Record<typeof EX4_NODES[number], Record<string, AnyRule>>> = {
  loss: { logits: closedForm(nn.crossEntropy, "logits") },
  logits: linearRules,
  h: { x: tanhRule },
  hpreact: {
    x: closedForm(nn.batchNorm, "x"),
    gain: closedForm(nn.batchNorm, "gain"),
    bias: closedForm(nn.batchNorm, "bias"),
  },
  hprebn: linearRules,
  embcat: { x: viewRule },
  emb: { table: embeddingRule },
};

/**
 * Overrides every op node of an exercise-4 graph with its hand-written rule, and checks that no
 * op node was left with an automatic rule. Returns a function that restores the automatic ones.
 */
export function installEx4Rules(graph: Graph): () => void {
  const undo = EX4_NODES.map((label) => graph.override(label, EX4_RULES[label]));
  const missed = graph.nodes.filter((n) => n.op && n.requiresGrad && !n.override);
  if (missed.length > 0) {
    throw new NinjagradError(
      `no hand-written rule for ${missed.map((n) => n.name).join(", ")}: add one to EX4_RULES`,
    );
  }
  return () => undo.forEach((f) => f());
}

/** Every label of the exercise-4 graph: its op nodes and its parameters. */
const EX4_LABELS: ReadonlySet<string> = new Set([...EX4_NODES, ...PARAM_NAMES]);

/**
 * The labels compared: exercise 1's rows that the exercise-4 graph also has, in the lecture's
 * backward order (activations, then parameters).
 */
export const EX4_COMPARE_LABELS: readonly Ex1RowName[] = EX1_ROWS.filter((name) =>
  EX4_LABELS.has(name)
);

/** What `compareEx4FirstStep` needs: the model before its first update and the first minibatch. */
export interface Ex4CompareInput {
  weights: Ex4Weights;
  sizes: Ex4Sizes;
  dtype: FloatDType;
  /** The first minibatch's contexts, row-major (batch × block). */
  Xb: Int32Array;
  /** Its targets. */
  Yb: Int32Array;
  rtol?: number;
  atol?: number;
}

/**
 * The exercise-4 graph on one minibatch, its forward pass run and every node's hand-written rule
 * installed, on a graph of its own: what `compareEx4FirstStep` compares and the charts draw.
 */
export function ex4FirstStepModel(input: Omit<Ex4CompareInput, "rtol" | "atol">): Ex4Graph {
  const { sizes, Xb, Yb } = input;
  const batch = Yb.length;
  if (Xb.length !== batch * sizes.block) {
    throw new NinjagradError(
      `Xb has ${Xb.length} indices; ${batch} targets need ${batch * sizes.block}`,
    );
  }
  const model = buildEx4(new Graph({ dtype: input.dtype }), input.weights, sizes, batch);
  model.graph.run({
    Xb: new Tensor(Xb.slice(), [batch, sizes.block]),
    Yb: new Tensor(Yb.slice(), [batch]),
  });
  installEx4Rules(model.graph);
  return model;
}

/**
 * Exercise 4's check: on one minibatch, the hand-written backward against the automatic one,
 * every parameter and activation gradient, on a graph of its own (a training graph's
 * `ruleCounts.auto` is left untouched). In float32 expect approximate, not exact, agreement.
 */
export function compareEx4FirstStep(input: Ex4CompareInput): Comparison {
  const model = ex4FirstStepModel(input);
  return model.graph.compare(model.loss, {
    labels: EX4_COMPARE_LABELS,
    rtol: input.rtol,
    atol: input.atol,
  });
}
