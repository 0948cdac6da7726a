/**
 * One exercise's graph, set up once for everything that shows it: `deno task exercise N` prints
 * its cmp table and `deno task chart exercise N` draws it. Each setup builds the exercise's net on
 * one minibatch, installs its hand-written rules, runs a backward pass through them and compares
 * them with the engine's automatic rules.
 * - 1: the atomic net, every node's rule written by hand (exercises/rules/ex1.ts).
 * - 2: cross-entropy fused, its one-step rule against backprop through its atomic subgraph.
 * - 3: batchnorm fused, likewise.
 * - 4: the training net (n_hidden 200) with a hand-written rule on every node, on the very first
 *   minibatch of the run that `training` describes.
 * @module
 */
import type { Gradients } from "../graph/backward.ts";
import type { Comparison } from "../graph/compare.ts";
import type { Graph } from "../graph/graph.ts";
import type { Node } from "../graph/node.ts";
import type { FloatDType } from "../ops/kernels/tensor.ts";
import * as nn from "../ops/nn.ts";
import type { AnyRule, CompositeOp } from "../graph/op.ts";
import { loadNames } from "./data.ts";
import { buildEx1, EX1_ROWS, type Ex1Fuse } from "./model/ex1.ts";
import { installEx1Rules } from "./model/lines.ts";
import { lectureMinibatch, type MinibatchOptions } from "./model/minibatch.ts";
import { ex1Rules } from "./rules/ex1.ts";
import { EX4_COMPARE_LABELS, ex4FirstStepModel } from "./rules/ex4.ts";
import { DEFAULT_CONFIG, type TrainConfig } from "./train/config.ts";
import { prepareData, type TrainData } from "./train/data.ts";
import { drawBatch, initialState, sizesOf } from "./train/run.ts";

/** The lecture's exercises, by number. */
export type ExerciseNumber = 1 | 2 | 3 | 4;

/** What each exercise does, in a few words. */
export const EXERCISE_TITLES: Readonly<Record<ExerciseNumber, string>> = {
  1: "backprop through every atomic node by hand",
  2: "cross-entropy in one step",
  3: "batchnorm in one step",
  4: "train the net with the hand-written backward only",
};

/** The largest maxdiff exercises 2 and 3 accept (the lecture sees about 5e-9 and 1e-9). */
export const ONE_STEP_TOLERANCE = 1e-7;

/** Options of {@link setupExercise}. */
export interface SetupOptions extends MinibatchOptions {
  /** The graph's float dtype (default float32, the lecture's). */
  dtype?: FloatDType;
}

/** An exercise's graph after a backward pass through its hand-written rules, and its cmp. */
export interface ExerciseSetup {
  exercise: ExerciseNumber;
  title: string;
  dtype: FloatDType;
  graph: Graph;
  lossNode: Node;
  /** The minibatch's loss. */
  loss: number;
  /** The gradients of a backward pass through the hand-written rules. */
  grads: Gradients;
  /** The exercise's cmp rows, hand-written against automatic. */
  comparison: Comparison;
  /** Every node's gradient, named or not, hand-written against automatic (what charts draw). */
  everyNode: Comparison;
  /** Whether the exercise's expectation holds (see `expectation`). */
  passed: boolean;
  /** What the lecture expects, in words. */
  expectation: string;
  /** Where the names came from, and how many. */
  source: string;
  words: number;
  trainExamples: number;
  /** Examples in the minibatch. */
  batch: number;
  /** The vocabulary, index to symbol. */
  itos: readonly string[];
  /** Exercise 4 only: the run whose first minibatch this is. */
  training?: { config: TrainConfig; data: TrainData };
}

const FUSE: Record<1 | 2 | 3, { fuse: Ex1Fuse; labels: readonly string[] }> = {
  1: { fuse: "none", labels: EX1_ROWS },
  2: { fuse: "crossEntropy", labels: ["logits"] },
  3: { fuse: "batchNorm", labels: ["hprebn"] },
};

/** Sets up exercise `n` on one minibatch of the names; see the module comment. */
export function setupExercise(
  n: ExerciseNumber,
  options: SetupOptions = {},
): Promise<ExerciseSetup> {
  return n === 4 ? setupEx4(options) : setupEx1To3(n, options);
}

async function setupEx1To3(n: 1 | 2 | 3, options: SetupOptions): Promise<ExerciseSetup> {
  const dtype = options.dtype ?? "float32";
  const batch = await lectureMinibatch(options);
  const { fuse, labels } = FUSE[n];
  const model = buildEx1(batch.params, batch.Xb, batch.Yb, { dtype, fuse });
  if (n === 1) installEx1Rules(model, ex1Rules);
  if (n === 2) model.graph.override("loss", closedForm(nn.crossEntropy));
  if (n === 3) model.graph.override("hpreact", closedForm(nn.batchNorm));
  const grads = model.graph.backward(model.loss);
  const comparison = model.graph.compare(model.loss, { labels });
  const everyNode = model.graph.compare(model.loss);
  const rows = comparison.rows;
  return {
    exercise: n,
    title: EXERCISE_TITLES[n],
    dtype,
    graph: model.graph,
    lossNode: model.loss,
    loss: model.loss.value.item(),
    grads,
    comparison,
    everyNode,
    passed: everyNode.firstDivergent === undefined &&
      (n === 1
        ? rows.every((r) => r.exact && r.shapeMatch)
        : rows.every((r) => r.approximate && r.shapeMatch)),
    expectation: n === 1
      ? `all ${rows.length} rows exact (bit-equal), as in the lecture`
      : `${labels[0]} approximate (within ${dtype}'s rounding), and every other node too`,
    source: batch.source,
    words: batch.words,
    trainExamples: batch.trainExamples,
    batch: batch.sizes.batch,
    itos: batch.itos,
  };
}

/** Exercise 4: the training net on the first minibatch a `deno task train` run would draw. */
async function setupEx4(options: SetupOptions): Promise<ExerciseSetup> {
  const config: TrainConfig = {
    ...DEFAULT_CONFIG,
    dtype: options.dtype ?? DEFAULT_CONFIG.dtype,
    seed: options.seed ?? DEFAULT_CONFIG.seed,
    rng: options.rng ?? DEFAULT_CONFIG.rng,
    batch: options.sizes?.batch ?? DEFAULT_CONFIG.batch,
    hidden: options.sizes?.nHidden ?? DEFAULT_CONFIG.hidden,
    embd: options.sizes?.nEmbd ?? DEFAULT_CONFIG.embd,
    block: options.sizes?.blockSize ?? DEFAULT_CONFIG.block,
  };
  const words = await loadNames(options.data);
  const data = prepareData(words, config.block, options.data ?? "the built-in names");
  // The same draws as train/run.ts's firstStepComparison: the init, then the first minibatch.
  const { weights, random } = initialState(config, data);
  const Xb = new Int32Array(config.batch * config.block), Yb = new Int32Array(config.batch);
  drawBatch(random, data.train, Xb, Yb);
  const model = ex4FirstStepModel({
    weights,
    sizes: sizesOf(config, data),
    dtype: config.dtype,
    Xb,
    Yb,
  });
  const grads = model.graph.backward(model.loss);
  const comparison = model.graph.compare(model.loss, { labels: EX4_COMPARE_LABELS });
  const everyNode = model.graph.compare(model.loss);
  return {
    exercise: 4,
    title: EXERCISE_TITLES[4],
    dtype: config.dtype,
    graph: model.graph,
    lossNode: model.loss,
    loss: model.loss.value.item(),
    grads,
    comparison,
    everyNode,
    // The one-step rules sum in another order than backprop through the subgraphs: approximate
    // agreement (within the dtype's rounding), not bit for bit.
    passed: everyNode.firstDivergent === undefined &&
      comparison.rows.every((r) => r.approximate && r.shapeMatch),
    expectation: `all ${comparison.rows.length} rows approximate (within ${config.dtype}'s ` +
      "rounding), and every other node too",
    source: data.source,
    words: words.length,
    trainExamples: data.train.n,
    batch: config.batch,
    itos: data.vocab.itos,
    training: { config, data },
  };
}

/** A composite op's one-step rules as an override table. */
function closedForm<N extends string, A>(op: CompositeOp<N, A>): Record<string, AnyRule> {
  const table: Record<string, AnyRule> = {};
  for (const [name, rule] of Object.entries(op.closedForm ?? {})) {
    if (rule) table[name] = rule as AnyRule;
  }
  return table;
}
