/**
 * `deno task exercise N [--data PATH] [--dtype float32|float64] [--seed S] [--rng seedrandom|torch]
 * [--json]`: the lecture's exercises, each ending in its cmp table.
 * - 1: every atomic node's rule written by hand (exercises/rules/ex1.ts); all 26 rows exact.
 * - 2: cross-entropy in one step (the op's closed form) against backprop through its atomic
 *   subgraph; the `logits` row approximate.
 * - 3: batchnorm in one step, likewise; the `hprebn` row approximate.
 * - 4 [--steps N]: the training net's hand-written backward against the automatic one on its first
 *   minibatch, every parameter and activation approximate; then a short run (1000 steps) with the
 *   hand-written backward only, and its losses. `deno task train` runs the whole of it.
 * Exits 0 when the exercise's expectation holds. `--json` prints, last, one line
 * `{"rows": [{name, shape, exact, approximate, maxdiff, relerr, tolerance, zeroInTruth,
 * shapeMatch}, …], …}`.
 * @module
 */
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { type ComparisonRow, formatComparison } from "../../graph/compare.ts";
import { type FlagSpec, HelpRequested, numberFlag, parseFlags, runMain } from "./main.ts";
import {
  EXERCISE_TITLES,
  type ExerciseNumber,
  type ExerciseSetup,
  setupExercise,
  type SetupOptions,
} from "../setup.ts";
import { SETUP_FLAGS, setupOptionsFromFlags } from "./setup_flags.ts";
import { type ShortRun, shortRun } from "../short_run.ts";
import { detectAnomalies } from "../train/anomaly.ts";

export { ONE_STEP_TOLERANCE } from "../setup.ts";

/** A command-line exercise: parses its own flags (after N) and runs. */
export type ExerciseRunner = (args: string[]) => Promise<void>;

/** The exercises by number. */
export const EXERCISES: Record<string, { title: string; run: ExerciseRunner }> = {
  "1": { title: EXERCISE_TITLES[1], run: (a) => runCli(1, a) },
  "2": { title: EXERCISE_TITLES[2], run: (a) => runCli(2, a) },
  "3": { title: EXERCISE_TITLES[3], run: (a) => runCli(3, a) },
  "4": { title: EXERCISE_TITLES[4], run: (a) => runCli(4, a) },
};

/** What one exercise found (its graph, gradients and cmp). */
export type ExerciseResult = ExerciseSetup;

/** Runs exercise N on one minibatch of the names and compares, node by node. */
export function runExercise(
  n: ExerciseNumber,
  options: SetupOptions = {},
): Promise<ExerciseResult> {
  return setupExercise(n, options);
}

/** A row as the `--json` line carries it (maxdiff null when the shapes differ). */
export function jsonRow(r: ComparisonRow) {
  return {
    name: r.name,
    shape: [...r.shape],
    exact: r.exact,
    approximate: r.approximate,
    maxdiff: Number.isFinite(r.maxdiff) ? r.maxdiff : null,
    relerr: Number.isFinite(r.relerr) ? r.relerr : null,
    tolerance: r.tolerance,
    zeroInTruth: r.zeroInTruth,
    shapeMatch: r.shapeMatch,
  };
}

/** Parses `exercise N …` and runs exercise N. */
export async function main(args: string[]): Promise<void> {
  const [n, ...rest] = args;
  const entry = n === undefined ? undefined : EXERCISES[n];
  const usage = "deno task exercise N [--data PATH] [--dtype float32|float64] [--seed S] " +
    "[--json]; exercise 4 also takes [--steps N]";
  if (n === "--help" || n === "-h") throw new HelpRequested(usage);
  if (!entry) {
    throw new UsageError(
      `exercise needs a number: ${Object.keys(EXERCISES).join(", ")}${
        n === undefined ? "" : `, got "${n}"`
      } (${usage})`,
    );
  }
  await entry.run(rest);
}

/** Exercise 4's short run, unless `--steps` says otherwise. */
export const EX4_SHORT_STEPS = 1000;

async function runCli(n: ExerciseNumber, args: string[]): Promise<void> {
  const spec: FlagSpec = {
    ...SETUP_FLAGS,
    json: { type: "boolean" },
    "detect-anomaly": { type: "boolean" },
  };
  if (n === 4) spec.steps = { type: "string" };
  const { values, positionals } = parseFlags(`exercise ${n}`, args, spec);
  if (positionals.length > 0) {
    throw new UsageError(`exercise ${n} takes no further arguments, got "${positionals[0]}"`);
  }
  const steps = numberFlag("steps", values.steps as string | undefined, EX4_SHORT_STEPS, {
    min: 1,
    integer: true,
  });
  const options = setupOptionsFromFlags(values);
  const result = await setupExercise(n, options);
  const detectAnomaly = values["detect-anomaly"] === true;
  if (detectAnomaly) detectAnomalies(result.graph, result.lossNode);
  console.log(describe(result, options.data));
  // Exercise 4 trains only on a backward pass that agrees with the engine's.
  let run: ShortRun | undefined;
  if (result.training && result.passed) {
    run = await shortRun(
      { ...result.training.config, steps, detectAnomaly },
      result.training.data,
    );
    console.log("\n" + describeRun(run));
  }
  if (values.json) {
    console.log(JSON.stringify({
      exercise: n,
      dtype: result.dtype,
      loss: result.loss,
      passed: result.passed,
      rows: result.comparison.rows.map(jsonRow),
      ...(run
        ? { run: { steps: run.steps, curve: run.curve, train: run.train, val: run.val } }
        : {}),
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
  const largest = Math.max(...rows.map((x) => x.maxdiff));
  const verdict = r.exercise === 1
    ? `${rows.filter((x) => x.exact).length} of ${rows.length} rows exact`
    : r.exercise === 4
    ? `${rows.filter((x) => x.approximate).length} of ${rows.length} rows approximate, ` +
      `largest maxdiff ${largest.toExponential(2)}`
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

/** Exercise 4's short run: the minibatch loss along the way, then the split losses. */
export function describeRun(run: ShortRun): string {
  return [
    `${run.steps} steps with the hand-written backward only (deno task train runs the lecture's 200,000):`,
    ...run.curve.map((p) => `  steps ${p.from}–${p.to}: mean minibatch loss ${p.loss.toFixed(4)}`),
    `BatchNorm statistics re-estimated over the training set: train ${run.train.toFixed(4)}  val ${
      run.val.toFixed(4)
    }`,
    `${run.msPerStep.toFixed(2)} ms/step; rules run: ${
      run.ruleCounts.override.toLocaleString("en")
    } ` +
    `hand-written, ${run.ruleCounts.auto.toLocaleString("en")} automatic`,
  ].join("\n");
}

if (import.meta.main) await runMain(() => main(Deno.args));
