/**
 * The four exercises as `ninja` sees them, one record each: the lines whose rules the learner
 * writes, what those rules receive, the cmp rows, the reference rules, and how to build the graph
 * they are checked on (one minibatch of the lecture's set-up). `ninja check`, `ninja init`, the
 * notebook and `ninja train` all read these records.
 * @module
 */
import { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";
import { type FloatDType, Tensor } from "../../ops/kernels/tensor.ts";
import { loadNames } from "../data.ts";
import { buildEx1, EX1_ROWS, type Ex1Fuse } from "../model/ex1.ts";
import { buildEx4, type Ex4Weights } from "../model/ex4.ts";
import { EX1_FORWARD, EX1_LINES, type ForwardSpec, type LineTable } from "../model/lines.ts";
import { lectureMinibatch, type MinibatchOptions } from "../model/minibatch.ts";
import { ex1Rules } from "../rules/ex1.ts";
import { ex2Rules } from "../rules/ex2.ts";
import { ex3Rules } from "../rules/ex3.ts";
import { EX4_COMPARE_LABELS } from "../rules/ex4.ts";
import { ex4Rules } from "../rules/ex4_lines.ts";
import { EXERCISE_TITLES, type ExerciseNumber } from "../setup.ts";
import { DEFAULT_CONFIG, type TrainConfig } from "../train/config.ts";
import { prepareData, type TrainData } from "../train/data.ts";
import { drawBatch, initialState, sizesOf } from "../train/run.ts";
import { EX2_FORWARD, EX2_LINES, EX3_FORWARD, EX3_LINES, EX4_FORWARD, EX4_LINES } from "./lines.ts";

export type { ExerciseNumber } from "../setup.ts";

/** The exercises' numbers, in order. */
export const EXERCISE_NUMBERS: readonly ExerciseNumber[] = [1, 2, 3, 4];

/** Where a check's graph comes from: exercise 1's minibatch options, and the float dtype. */
export interface CheckOptions extends MinibatchOptions {
  /** The graph's float dtype (default float32, the lecture's). */
  dtype?: FloatDType;
  /**
   * Another minibatch than the one these options give (exercises 1–3: the next seed's;
   * exercise 4: the run's second), to judge the rules on twice.
   */
  second?: boolean;
}

/** The seed a check draws with when none is given (the project's default). */
const DEFAULT_SEED = DEFAULT_CONFIG.seed;

/** A graph to check rules on: the exercise's net, its forward pass run on one minibatch. */
export interface CheckGraph {
  graph: Graph;
  loss: Node;
  /** The batch size (the rules' `n`). */
  n: number;
  dtype: FloatDType;
  /** The net's sizes, for messages: `n_hidden 64`. */
  sizes: { vocab: number; nEmbd: number; blockSize: number; nHidden: number };
  /** Where the names came from and how the minibatch was drawn, in words. */
  source: string;
}

/** One exercise, as `ninja` needs it. */
export interface ExerciseSpec {
  exercise: ExerciseNumber;
  title: string;
  /** The lines whose rules the learner writes, in backward order. */
  lines: LineTable;
  /** What each rule receives besides `g`, `d<line>` and `n`. */
  forward: ForwardSpec;
  /** The nodes whose gradients are compared (the cmp rows), in backward order. */
  rows: readonly string[];
  /** The project's own rules in the learner's format: what a correct file computes. */
  reference: object;
  /** The file `ninja init DIR --exercise N` writes into DIR. */
  file: string;
  /** The type a learner's file gives its rule table. */
  rulesType: string;
  /** Nodes whose true gradient is zero, with why. */
  zeroInTruth: Readonly<Record<string, string>>;
  /** What to look at next to a wrong node, where the lecture's learners usually slip. */
  tips: Readonly<Record<string, string>>;
  /** Builds the graph on one minibatch. */
  build(options: CheckOptions): Promise<CheckGraph>;
}

/** Why a gradient is zero in truth. */
const ZERO_IN_TRUTH = {
  logit_maxes: "subtracting each row's max leaves softmax unchanged, so the loss does not " +
    "depend on logit_maxes",
  b1: "batchnorm subtracts the batch mean, which cancels any bias added before it",
};

const TIPS = {
  logprobs: "the loss is a mean over n rows: each picked entry gets −1/n · dloss, the others 0",
  logits: "the formula: dlogits is dnorm_logits (from norm_logits) plus the max's part, " +
    "routed to each row's arg-max entry only (one_hot × dlogit_maxes)",
  hpreact: "tanh' = 1 − tanh², written with h itself",
  // A reminder of the formula, never a diagnosis: a loop that already adds (+=) is wrong elsewhere.
  C: "the formula: dC[Xb[k, j]] receives demb[k, j] for every example k and block position j, " +
    "and a letter that repeats receives the sum of its rows",
};

const FUSED_TIPS = {
  logits: "dlogits is softmax(logits), less 1 at each row's target, over n (times dloss)",
  hprebn: "every row's dhprebn has three parts: directly, through bnmeani and through bnvar",
  hpreact: "tanh' = 1 − tanh², written with h itself",
  C: TIPS.C,
};

/** Whose random numbers, in words. */
function randomness(rng: string, seed: number | undefined): string {
  const seeded = seed === undefined ? "" : ` seed ${seed}`;
  return rng === "torch" ? `the lecture's random numbers (torch${seeded})` : `${rng}${seeded}`;
}

/** Exercise 1's graph, or exercise 2's and 3's (the same net with one part fused). */
async function buildLectureNet(fuse: Ex1Fuse, options: CheckOptions): Promise<CheckGraph> {
  const batch = await lectureMinibatch(
    options.second ? { ...options, seed: (options.seed ?? DEFAULT_SEED) - 1 } : options,
  );
  const dtype = options.dtype ?? "float32";
  const model = buildEx1(batch.params, batch.Xb, batch.Yb, { dtype, fuse });
  return {
    graph: model.graph,
    loss: model.loss,
    n: batch.sizes.batch,
    dtype,
    sizes: batch.sizes,
    source: `${batch.source}, ${randomness(options.rng ?? "seedrandom", options.seed)}`,
  };
}

/**
 * Exercise 4's graph: the training net on the first minibatch that a run of `config` draws (as
 * `deno task exercise 4` and `train`'s own check do), or its second, with its forward pass run
 * and no rules installed.
 */
export function buildEx4Check(config: TrainConfig, data: TrainData, second = false): CheckGraph {
  const { weights, random } = initialState(config, data);
  const Xb = new Int32Array(config.batch * config.block), Yb = new Int32Array(config.batch);
  drawBatch(random, data.train, Xb, Yb);
  if (second) drawBatch(random, data.train, Xb, Yb);
  return ex4CheckGraph(
    config,
    data,
    weights,
    Xb,
    Yb,
    `${data.source}, ${randomness(config.rng, config.seed)}, the run's ${
      second ? "second" : "first"
    } minibatch`,
  );
}

/**
 * Exercise 4's graph on given weights and minibatch (copied), its forward pass run and no rules
 * installed: what `ninja train` checks the learner's rules on again during a run.
 */
export function ex4CheckGraph(
  config: TrainConfig,
  data: TrainData,
  weights: Ex4Weights,
  Xb: Int32Array,
  Yb: Int32Array,
  source: string,
): CheckGraph {
  const sizes = sizesOf(config, data);
  const model = buildEx4(new Graph({ dtype: config.dtype }), weights, sizes, config.batch);
  model.graph.run({
    Xb: new Tensor(Xb.slice(), [config.batch, config.block]),
    Yb: new Tensor(Yb.slice(), [config.batch]),
  });
  return {
    graph: model.graph,
    loss: model.loss,
    n: config.batch,
    dtype: config.dtype,
    sizes: { vocab: sizes.vocab, nEmbd: sizes.embd, blockSize: sizes.block, nHidden: sizes.hidden },
    source,
  };
}

/** The exercises by number. */
export const EXERCISES: Readonly<Record<ExerciseNumber, ExerciseSpec>> = {
  1: {
    exercise: 1,
    title: EXERCISE_TITLES[1],
    lines: EX1_LINES,
    forward: EX1_FORWARD,
    rows: EX1_ROWS,
    reference: ex1Rules,
    file: "backprop.ts",
    rulesType: "Ex1Rules",
    zeroInTruth: ZERO_IN_TRUTH,
    tips: TIPS,
    build: (o) => buildLectureNet("none", o),
  },
  2: {
    exercise: 2,
    title: EXERCISE_TITLES[2],
    lines: EX2_LINES,
    forward: EX2_FORWARD,
    rows: ["logits"],
    reference: ex2Rules,
    file: "cross_entropy.ts",
    rulesType: "Ex2Rules",
    zeroInTruth: {},
    tips: FUSED_TIPS,
    build: (o) => buildLectureNet("crossEntropy", o),
  },
  3: {
    exercise: 3,
    title: EXERCISE_TITLES[3],
    lines: EX3_LINES,
    forward: EX3_FORWARD,
    rows: ["hprebn"],
    reference: ex3Rules,
    file: "batchnorm.ts",
    rulesType: "Ex3Rules",
    zeroInTruth: {},
    tips: FUSED_TIPS,
    build: (o) => buildLectureNet("batchNorm", o),
  },
  4: {
    exercise: 4,
    title: "the whole backward pass of the training step, fused",
    lines: EX4_LINES,
    forward: EX4_FORWARD,
    rows: EX4_COMPARE_LABELS,
    reference: ex4Rules,
    file: "fused_backward.ts",
    rulesType: "Ex4Rules",
    zeroInTruth: { b1: ZERO_IN_TRUTH.b1 },
    tips: FUSED_TIPS,
    build: async (o) => {
      const config: TrainConfig = {
        ...DEFAULT_CONFIG,
        dtype: o.dtype ?? DEFAULT_CONFIG.dtype,
        seed: o.seed ?? DEFAULT_CONFIG.seed,
        rng: o.rng ?? DEFAULT_CONFIG.rng,
        batch: o.sizes?.batch ?? DEFAULT_CONFIG.batch,
        hidden: o.sizes?.nHidden ?? DEFAULT_CONFIG.hidden,
        embd: o.sizes?.nEmbd ?? DEFAULT_CONFIG.embd,
        block: o.sizes?.blockSize ?? DEFAULT_CONFIG.block,
      };
      const words = o.words ? [...o.words] : await loadNames(o.data);
      return buildEx4Check(
        config,
        prepareData(words, config.block, o.data ?? "the built-in names"),
        o.second,
      );
    },
  },
};

/** The number of rules an exercise's table has (one per line and input). */
export function ruleCount(spec: ExerciseSpec): number {
  return Object.values(spec.lines).reduce((k, l) => k + l.inputs.length, 0);
}

/** Whether `x` is an exercise's number. */
export function isExerciseNumber(x: unknown): x is ExerciseNumber {
  return x === 1 || x === 2 || x === 3 || x === 4;
}

/**
 * Which exercise a rule table is for, from its lines, when its file does not say
 * (`export const exercise = N`): exercise 1 unless its lines are only those of 2, 3 or 4.
 */
export function exerciseOfRules(rules: unknown): ExerciseNumber {
  if (typeof rules !== "object" || rules === null) return 1;
  const lines = Object.keys(rules);
  const inputs = (line: string) => Object.keys((rules as Record<string, object>)[line] ?? {});
  const only = (table: LineTable) =>
    lines.length > 0 && lines.every((l) => l in table) &&
    lines.every((l) => inputs(l).every((x) => table[l].inputs.includes(x)));
  if (only(EX2_LINES)) return 2;
  if (only(EX3_LINES)) return 3;
  if (only(EX4_LINES) && !inputs("loss").includes("logprobs")) return 4;
  return 1;
}
