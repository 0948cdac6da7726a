/**
 * `deno task chart exercise N [--out DIR] [--wrong RULE] [--data PATH] [--dtype float32|float64]
 * [--seed S] [--rng seedrandom|torch]`: sets exercise N (1–4) up on one minibatch of the names
 * exactly as `deno task exercise N` does (exercises/setup.ts: its graph, its hand-written rules, a
 * backward pass), says which names it used, and writes its charts (gradient-flow graph with each
 * node's verdict, comparison, dlogits heatmap for exercise 2, gradient per parameter, histograms)
 * as .vl.json, .svg and .png, plus report.html. `--wrong tanh` (exercise 1) swaps one deliberately
 * wrong hand-written rule in, to see how the charts show a mistake. Exercise 4 is drawn on its
 * first minibatch; its training charts come from `deno task train --charts DIR`.
 *
 * `deno task chart compare DIR_A DIR_B ... [--names A,B,...] [--out DIR]`: overlays the runs whose
 * chart folders (or run.json files) are given, each `deno task train --charts DIR`'s: their
 * losses, update:data ratios and final losses, each run named by its folder (or `--names`),
 * written to `--out` (default charts/compare) as .vl.json, .svg, .png and report.html.
 * @module
 */
import { UsageError } from "../../ops/kernels/errors.ts";
import type { AnyRule } from "../../graph/op.ts";
import { parseFlags, runMain, userPath } from "./main.ts";
import {
  type ExerciseNumber,
  ONE_STEP_TOLERANCE,
  setupExercise,
  type SetupOptions,
} from "../setup.ts";
import { LECTURE_NAMES_SOURCE } from "../data.ts";
import { SETUP_FLAGS, setupOptionsFromFlags } from "./setup_flags.ts";
import { graphCharts, writeRunComparison } from "../../viz/chart_sets.ts";
import { readRunFile } from "../../viz/run_file.ts";
import { writeCharts, type WrittenCharts } from "../../viz/export.ts";
import type { ReportFact } from "../../viz/report.ts";
import type { Chart } from "../../viz/spec.ts";
import { verdictCounts, verdictsFromComparison } from "../../viz/verdicts.ts";

/**
 * Mistakes a learner makes, each a wrong hand-written rule for one node of exercise 1: swapped in
 * with `--wrong NAME`, they show what the charts make of a wrong rule.
 */
export const WRONG_RULES: Readonly<Record<string, { node: string; rule: AnyRule; says: string }>> =
  {
    tanh: {
      node: "h",
      rule: ({ g }) => g,
      says: "h = tanh(hpreact)'s rule forgets the local derivative: dhpreact = dh, not (1 − h²)·dh",
    },
    exp: {
      node: "counts",
      rule: ({ g }) => g,
      says:
        "counts = exp(norm_logits)'s rule forgets the local derivative: dnorm_logits = dcounts, " +
        "not counts·dcounts",
    },
  };

/** Options of `exerciseCharts`. */
export interface ExerciseChartOptions extends SetupOptions {
  /** A key of WRONG_RULES: swap that wrong rule in (exercise 1 only). */
  wrong?: string;
}

/** What `exerciseCharts` drew, and what the report's header says about it. */
export interface ExerciseCharts {
  charts: Chart[];
  facts: ReportFact[];
  /** One line naming the names the minibatch came from. */
  dataLine: string;
}

/** Exercise N's graph after a backward pass through its hand-written rules, as charts. */
export async function exerciseCharts(
  n: ExerciseNumber,
  options: ExerciseChartOptions = {},
): Promise<ExerciseCharts> {
  const setup = await setupExercise(n, options);
  const { graph, lossNode } = setup;
  let grads = setup.grads, comparison = setup.everyNode;
  const wrong = options.wrong === undefined ? undefined : WRONG_RULES[options.wrong];
  if (options.wrong !== undefined) {
    if (n !== 1) {
      throw new UsageError(`--wrong swaps a rule of exercise 1; drop it for exercise ${n}`);
    }
    if (!wrong) {
      throw new UsageError(
        `--wrong ${options.wrong}: no such rule; choose one of ${
          Object.keys(WRONG_RULES).join(", ")
        }`,
      );
    }
    graph.override(wrong.node, wrong.rule);
    grads = graph.backward(lossNode);
  }
  // The chart shows every node, named or not, as the exercise's own verdict judges them.
  if (wrong) comparison = graph.compare(lossNode);
  const focus = n === 2 ? ["logits"] : n === 3 ? ["hprebn"] : undefined;
  const verdicts = { ...verdictsFromComparison(comparison), hint: wrong?.says };
  const lr = setup.training?.config.lr;
  const first = comparison.firstDivergent?.name;
  const charts = graphCharts({
    graph,
    grads,
    comparison,
    verdicts,
    difference: first === undefined ? undefined : {
      name: first,
      yours: grads.get(first)!,
      reference: graph.backward(lossNode, { overrides: false, notify: false }).get(first)!,
      yoursLabel: "hand-written",
    },
    focus,
    focusLabel: focus ? `exercise ${n}` : undefined,
    threshold: focus ? ONE_STEP_TOLERANCE : undefined,
    dlogits: n === 2 ? grads.get("logits") : undefined,
    vocab: setup.itos,
    lr,
    title: `exercise ${n}${wrong ? ` with a wrong ${options.wrong} rule` : ""}`,
  });
  const names = `${options.data ?? LECTURE_NAMES_SOURCE} (${
    setup.words.toLocaleString("en")
  } names)`;
  const dataLine = `exercise ${n} on one minibatch of ${setup.batch} examples from ${names}` +
    (options.data === undefined ? `; --data PATH draws it from your own names` : "");
  const facts: ReportFact[] = [
    { label: "exercise", value: `${n}: ${setup.title}` },
    { label: "data", value: `one minibatch of ${setup.batch} from ${names}` },
    {
      label: "set-up",
      value: `${setup.dtype}, seed ${options.seed ?? "default"}, rng ${
        options.rng ?? "seedrandom"
      }`,
    },
    { label: "loss", value: setup.loss.toFixed(4) },
    { label: "verdicts", value: `${verdictCounts(verdicts)} (${setup.expectation})` },
  ];
  if (wrong) facts.push({ label: "wrong rule", value: wrong.says });
  return { charts, facts, dataLine };
}

const USAGE = "deno task chart exercise N [--out DIR] [--wrong tanh|exp] [--data PATH] " +
  "[--dtype float32|float64] [--seed S] [--rng seedrandom|torch], or deno task chart compare " +
  "DIR_A DIR_B ... [--names A,B,...] [--out DIR]";

/** `chart compare`: reads each run's run.json, names the runs, writes the comparison. */
async function compare(dirs: string[], names: string | undefined, out: string | undefined) {
  if (dirs.length < 2) {
    throw new UsageError(
      `chart compare needs two run folders or more (each written by deno task train --charts ` +
        `DIR), got ${dirs.length}: ${USAGE}`,
    );
  }
  const given = names === undefined ? dirs : names.split(",").map((n) => n.trim());
  if (given.length !== dirs.length || given.some((n) => n === "")) {
    throw new UsageError(
      `--names gives ${given.length} name(s) for ${dirs.length} runs: one per run, ` +
        "separated by commas",
    );
  }
  const runs = [];
  for (const [i, dir] of dirs.entries()) {
    const run = await readRunFile(userPath(dir));
    runs.push({ name: given[i], trace: run.trace });
  }
  const target = userPath(out ?? "charts/compare");
  const written = await writeRunComparison(target, runs, {
    facts: runs.map((r, i) => ({
      label: r.name,
      value: `${dirs[i]}: ${r.trace.steps.toLocaleString("en")} steps` +
        (r.trace.evals.length
          ? `, final train ${r.trace.evals.at(-1)!.train.toFixed(4)}, val ` +
            `${r.trace.evals.at(-1)!.val.toFixed(4)}`
          : ""),
    })),
  });
  for (const f of written.files) {
    console.log(`${f.png}  (${f.width}×${f.height}; also .svg, .vl.json)`);
  }
  console.log(`${written.report}  (every chart, opens offline)`);
  return written;
}

/** Parses the command line and writes the charts; returns what it wrote. */
export async function main(args: string[]): Promise<WrittenCharts> {
  const { values, positionals } = parseFlags("chart", args, {
    ...SETUP_FLAGS,
    out: { type: "string" },
    wrong: { type: "string" },
    names: { type: "string" },
  }, USAGE);
  const [what, number, ...extra] = positionals;
  if (what === "compare") {
    return await compare(
      positionals.slice(1),
      values.names as string | undefined,
      values.out as string | undefined,
    );
  }
  if (values.names !== undefined) throw new UsageError("--names goes with chart compare");
  if (what !== "exercise") {
    throw new UsageError(`chart draws an exercise's graph or compares runs: ${USAGE}`);
  }
  if (number !== "1" && number !== "2" && number !== "3" && number !== "4") {
    throw new UsageError(
      `chart exercise needs 1, 2, 3 or 4${number === undefined ? "" : `, got "${number}"`} ` +
        "(training charts come from deno task train --charts DIR)",
    );
  }
  if (extra.length > 0) throw new UsageError(`chart takes no further arguments, got "${extra[0]}"`);
  const n = Number(number) as ExerciseNumber;
  const wrong = typeof values.wrong === "string" ? values.wrong : undefined;
  const { charts, facts, dataLine } = await exerciseCharts(n, {
    ...setupOptionsFromFlags(values),
    wrong,
  });
  console.log(dataLine);
  const out = userPath(typeof values.out === "string" ? values.out : `charts/exercise-${n}`);
  const written = await writeCharts(out, charts, {
    title: `ninjagrad: exercise ${n}${wrong ? ` with a wrong ${wrong} rule` : ""}`,
    facts,
  });
  for (const f of written.files) {
    console.log(`${f.png}  (${f.width}×${f.height}; also .svg, .vl.json)`);
  }
  console.log(`${written.report}  (every chart, opens offline)`);
  return written;
}

if (import.meta.main) await runMain(async () => void (await main(Deno.args)));
