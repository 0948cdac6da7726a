/**
 * `deno task exercise N [--data PATH] [--dtype float32|float64] [--seed S] [--rng seedrandom|torch]
 * [--json]`: the lecture's exercises, each ending in its cmp table.
 * - 1: every atomic node's rule written by hand (exercises/rules/ex1.ts); all 26 rows exact.
 * - 2: cross-entropy in one step (the op's closed form) against backprop through its atomic
 *   subgraph; the `logits` row approximate.
 * - 3: batchnorm in one step, likewise; the `hprebn` row approximate.
 * Exits 0 when the exercise's expectation holds. `--json` prints, last, one line
 * `{"rows": [{name, shape, exact, approximate, maxdiff, shapeMatch}, …], …}`.
 * @module
 */
import { NinjagradError, UsageError } from "../graph/errors.ts";
import { type Comparison, type ComparisonRow, formatComparison } from "../graph/compare.ts";
import type { FloatDType } from "../graph/tensor.ts";
import type { AnyRule, CompositeOp } from "../ops/op.ts";
import * as nn from "../ops/nn.ts";
import { choiceFlag, numberFlag, parseFlags, runMain, userPath } from "./cli/main.ts";
import { buildEx1, EX1_ROWS, type Ex1Fuse } from "./model/ex1.ts";
import { installEx1Rules } from "./model/lines.ts";
import { lectureMinibatch, type MinibatchOptions } from "./model/minibatch.ts";
import { ex1Rules } from "./rules/ex1.ts";
import { LECTURE_SEEDS, RNG_KINDS } from "./rng/recipe.ts";

/** A command-line exercise: parses its own flags (after N) and runs. */
export type ExerciseRunner = (args: string[]) => Promise<void>;

/**
 * The exercises by number. Exercise 4 (training with the hand-written backward only) plugs in
 * here: replace its entry with a runner, e.g. `(args) => import("./train/…").then((m) => m.main(args))`.
 */
export const EXERCISES: Record<string, { title: string; run: ExerciseRunner }> = {
  "1": { title: "backprop through every atomic node by hand", run: (a) => runCli(1, a) },
  "2": { title: "cross-entropy in one step", run: (a) => runCli(2, a) },
  "3": { title: "batchnorm in one step", run: (a) => runCli(3, a) },
  "4": {
    title: "train the net with the hand-written backward only",
    run: () => {
      throw new NinjagradError(
        "exercise 4 (training with the hand-written backward) is not available yet; exercises 1, 2 and 3 are",
      );
    },
  },
};

/** Options of {@link runExercise}. */
export interface ExerciseOptions extends MinibatchOptions {
  /** The graph's float dtype (default float32, the lecture's). */
  dtype?: FloatDType;
}

/** What one exercise found. */
export interface ExerciseResult {
  exercise: 1 | 2 | 3;
  title: string;
  dtype: FloatDType;
  /** The minibatch's loss. */
  loss: number;
  comparison: Comparison;
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
}

/** The largest maxdiff exercises 2 and 3 accept (the lecture sees about 5e-9 and 1e-9). */
export const ONE_STEP_TOLERANCE = 1e-7;

const SETUP: Record<1 | 2 | 3, { fuse: Ex1Fuse; labels: readonly string[] }> = {
  1: { fuse: "none", labels: EX1_ROWS },
  2: { fuse: "crossEntropy", labels: ["logits"] },
  3: { fuse: "batchNorm", labels: ["hprebn"] },
};

/** Runs exercise 1, 2 or 3 on one minibatch of the names and compares, node by node. */
export async function runExercise(
  n: 1 | 2 | 3,
  options: ExerciseOptions = {},
): Promise<ExerciseResult> {
  const dtype = options.dtype ?? "float32";
  const batch = await lectureMinibatch(options);
  const { fuse, labels } = SETUP[n];
  const model = buildEx1(batch.params, batch.Xb, batch.Yb, { dtype, fuse });
  if (n === 1) installEx1Rules(model, ex1Rules);
  if (n === 2) model.graph.override("loss", closedForm(nn.crossEntropy));
  if (n === 3) model.graph.override("hpreact", closedForm(nn.batchNorm));
  const comparison = model.graph.compare(model.loss, { labels });
  const rows = comparison.rows;
  const passed = n === 1
    ? rows.every((r) => r.exact && r.shapeMatch)
    : rows.every((r) => r.approximate && r.shapeMatch && r.maxdiff < ONE_STEP_TOLERANCE);
  return {
    exercise: n,
    title: EXERCISES[n].title,
    dtype,
    loss: model.loss.value.item(),
    comparison,
    passed,
    expectation: n === 1
      ? `all ${rows.length} rows exact (bit-equal), as in the lecture`
      : `${labels[0]} approximate, with maxdiff below ${ONE_STEP_TOLERANCE}`,
    source: batch.source,
    words: batch.words,
    trainExamples: batch.trainExamples,
    batch: batch.sizes.batch,
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

/** A row as the `--json` line carries it (maxdiff null when the shapes differ). */
export function jsonRow(r: ComparisonRow) {
  return {
    name: r.name,
    shape: [...r.shape],
    exact: r.exact,
    approximate: r.approximate,
    maxdiff: Number.isFinite(r.maxdiff) ? r.maxdiff : null,
    shapeMatch: r.shapeMatch,
  };
}

/** Parses `exercise N …` and runs exercise N. */
export async function main(args: string[]): Promise<void> {
  const [n, ...rest] = args;
  const entry = n === undefined ? undefined : EXERCISES[n];
  if (!entry) {
    throw new UsageError(
      `exercise needs a number: ${Object.keys(EXERCISES).join(", ")}${
        n === undefined ? "" : `, got "${n}"`
      } (deno task exercise 1 [--data PATH] [--dtype float32|float64] [--seed S] [--json])`,
    );
  }
  await entry.run(rest);
}

async function runCli(n: 1 | 2 | 3, args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(`exercise ${n}`, args, {
    data: { type: "string" },
    dtype: { type: "string" },
    seed: { type: "string" },
    rng: { type: "string" },
    json: { type: "boolean" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`exercise ${n} takes no further arguments, got "${positionals[0]}"`);
  }
  const str = (
    name: string,
  ) => (typeof values[name] === "string" ? values[name] as string : undefined);
  const data = str("data");
  const result = await runExercise(n, {
    data: data === undefined ? undefined : userPath(data),
    dtype: choiceFlag("dtype", str("dtype"), ["float32", "float64"] as const, "float32"),
    seed: numberFlag("seed", str("seed"), LECTURE_SEEDS.seed, {
      min: 0,
      max: 2 ** 32 - 1,
      integer: true,
    }),
    rng: choiceFlag("rng", str("rng"), RNG_KINDS, "seedrandom"),
  });
  console.log(describe(result, data));
  if (values.json) {
    console.log(JSON.stringify({
      exercise: n,
      dtype: result.dtype,
      loss: result.loss,
      passed: result.passed,
      rows: result.comparison.rows.map(jsonRow),
    }));
  }
  if (!result.passed) {
    throw new NinjagradError(`exercise ${n} does not hold: expected ${result.expectation}`);
  }
}

/** The exercise's header, its cmp table and its verdict. */
export function describe(r: ExerciseResult, data: string | undefined): string {
  const int = (x: number) => x.toLocaleString("en-US");
  const rows = r.comparison.rows;
  const verdict = r.exercise === 1
    ? `${rows.filter((x) => x.exact).length} of ${rows.length} rows exact`
    : `${rows[0].name}: maxdiff ${rows[0].maxdiff.toExponential(2)} (the lecture sees about ${
      r.exercise === 2 ? "5e-9" : "1e-9"
    } in float32)`;
  return [
    `exercise ${r.exercise}: ${r.title}`,
    `${r.dtype}, ${data ?? r.source} (${int(r.words)} names, ${
      int(r.trainExamples)
    } training examples), batch of ${r.batch}, loss ${r.loss.toFixed(4)}`,
    "",
    formatComparison(r.comparison),
    "",
    `${verdict}; expected ${r.expectation}: ${r.passed ? "yes" : "NO"}`,
  ].join("\n");
}

if (import.meta.main) await runMain(() => main(Deno.args));
