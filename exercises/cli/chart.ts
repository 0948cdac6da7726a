/**
 * `deno task chart exercise N [--out DIR] [--data PATH] [--dtype float32|float64] [--seed S]
 * [--rng seedrandom|torch]`: sets exercise N (1–4) up on one minibatch of the names exactly as
 * `deno task exercise N` does (exercises/setup.ts: its graph, its hand-written rules, a backward
 * pass) and writes its charts (gradient-flow graph, comparison, dlogits heatmap for exercise 2,
 * gradient per parameter, grad:data ratio, histograms) as .vl.json, .svg and .png, plus
 * report.html. Exercise 4 is drawn on its first minibatch; its training charts come from
 * `deno task train --charts DIR`.
 * @module
 */
import { UsageError } from "../../ops/kernels/errors.ts";
import { parseFlags, runMain, userPath } from "./main.ts";
import { type ExerciseNumber, setupExercise, type SetupOptions } from "../setup.ts";
import { SETUP_FLAGS, setupOptionsFromFlags } from "./setup_flags.ts";
import { graphCharts } from "../../viz/chart_sets.ts";
import { writeCharts, type WrittenCharts } from "../../viz/export.ts";
import type { Chart } from "../../viz/spec.ts";

/** Options of `exerciseCharts`. */
export type ExerciseChartOptions = SetupOptions;

/** Exercise N's graph after a backward pass through its hand-written rules, as charts. */
export async function exerciseCharts(
  n: ExerciseNumber,
  options: ExerciseChartOptions = {},
): Promise<Chart[]> {
  const setup = await setupExercise(n, options);
  const { graph, grads, lossNode } = setup;
  // Exercises 2 and 3 compare one row; the chart shows every labelled node, so that it shows how
  // the one-step rule's rounding travels upstream.
  const comparison = n === 2 || n === 3 ? graph.compare(lossNode) : setup.comparison;
  return graphCharts({
    graph,
    grads,
    comparison,
    dlogits: n === 2 ? grads.get("logits") : undefined,
    vocab: setup.itos,
    title: `exercise ${n}`,
  });
}

const USAGE =
  "deno task chart exercise N [--out DIR] [--data PATH] [--dtype float32|float64] [--seed S] [--rng seedrandom|torch]";

/** Parses the command line and writes the charts; returns what it wrote. */
export async function main(args: string[]): Promise<WrittenCharts> {
  const { values, positionals } = parseFlags("chart", args, {
    ...SETUP_FLAGS,
    out: { type: "string" },
  });
  const [what, number, ...extra] = positionals;
  if (what !== "exercise") {
    throw new UsageError(`chart draws an exercise's graph: ${USAGE}`);
  }
  if (number !== "1" && number !== "2" && number !== "3" && number !== "4") {
    throw new UsageError(
      `chart exercise needs 1, 2, 3 or 4${number === undefined ? "" : `, got "${number}"`} ` +
        "(training charts come from deno task train --charts DIR)",
    );
  }
  if (extra.length > 0) throw new UsageError(`chart takes no further arguments, got "${extra[0]}"`);
  const n = Number(number) as ExerciseNumber;
  const charts = await exerciseCharts(n, setupOptionsFromFlags(values));
  const out = userPath(typeof values.out === "string" ? values.out : `charts/exercise-${n}`);
  const written = await writeCharts(out, charts, { title: `ninjagrad: exercise ${n}` });
  for (const f of written.files) {
    console.log(`${f.png}  (${f.width}×${f.height}; also .svg, .vl.json)`);
  }
  console.log(`${written.report}  (every chart, opens offline)`);
  return written;
}

if (import.meta.main) await runMain(async () => void (await main(Deno.args)));
