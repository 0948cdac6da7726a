/**
 * `deno task chart exercise N [--out DIR] [--data PATH] [--dtype float32|float64] [--seed S]
 * [--rng seedrandom|torch]`: builds exercise N's graph on one minibatch of the names (as
 * `deno task exercise N` does), installs its hand-written rules, runs backward, and writes its
 * charts (gradient-flow graph, comparison, dlogits heatmap for exercise 2, gradient per
 * parameter, grad:data ratio, histograms) as .vl.json, .svg and .png, plus report.html.
 * @module
 */
import type { CompositeOp } from "../ops/op.ts";
import type { AnyRule } from "../ops/op.ts";
import * as nn from "../ops/nn.ts";
import { UsageError } from "../graph/errors.ts";
import type { FloatDType } from "../graph/tensor.ts";
import { choiceFlag, numberFlag, parseFlags, runMain, userPath } from "../exercises/cli/main.ts";
import { buildVocab, loadNames } from "../exercises/data.ts";
import { buildEx1, EX1_ROWS, type Ex1Fuse } from "../exercises/model/ex1.ts";
import { installEx1Rules } from "../exercises/model/lines.ts";
import { lectureMinibatch } from "../exercises/model/minibatch.ts";
import { ex1Rules } from "../exercises/rules/ex1.ts";
import { LECTURE_SEEDS, RNG_KINDS, type RngKind } from "../exercises/rng/recipe.ts";
import { graphCharts } from "./chart_sets.ts";
import { writeCharts, type WrittenCharts } from "./export.ts";
import type { Chart } from "./spec.ts";

/** Options of `exerciseCharts`. */
export interface ExerciseChartOptions {
  data?: string;
  dtype?: FloatDType;
  seed?: number;
  rng?: RngKind;
}

const FUSE: Record<1 | 2 | 3, Ex1Fuse> = { 1: "none", 2: "crossEntropy", 3: "batchNorm" };

/** Exercise N's graph after a backward pass through its hand-written rules, as charts. */
export async function exerciseCharts(
  n: 1 | 2 | 3,
  options: ExerciseChartOptions = {},
): Promise<Chart[]> {
  const batch = await lectureMinibatch(options);
  const model = buildEx1(batch.params, batch.Xb, batch.Yb, {
    dtype: options.dtype ?? "float32",
    fuse: FUSE[n],
  });
  const { graph, loss } = model;
  if (n === 1) installEx1Rules(model, ex1Rules);
  if (n === 2) graph.override("loss", closedForm(nn.crossEntropy));
  if (n === 3) graph.override("hpreact", closedForm(nn.batchNorm));
  const grads = graph.backward(loss);
  // Exercise 1 compares the lecture's 26 rows; 2 and 3 every labelled node, so the chart shows
  // how the one-step rule's rounding travels upstream.
  const comparison = graph.compare(loss, n === 1 ? { labels: EX1_ROWS } : {});
  const vocab = buildVocab(await loadNames(options.data)).itos;
  return graphCharts({
    graph,
    grads,
    comparison,
    dlogits: n === 2 ? grads.get("logits") : undefined,
    vocab,
    title: `exercise ${n}`,
  });
}

function closedForm<N extends string, A>(op: CompositeOp<N, A>): Record<string, AnyRule> {
  const table: Record<string, AnyRule> = {};
  for (const [name, rule] of Object.entries(op.closedForm ?? {})) {
    if (rule) table[name] = rule as AnyRule;
  }
  return table;
}

const USAGE =
  "deno task chart exercise N [--out DIR] [--data PATH] [--dtype float32|float64] [--seed S] [--rng seedrandom|torch]";

/** Parses the command line and writes the charts; returns what it wrote. */
export async function main(args: string[]): Promise<WrittenCharts> {
  const { values, positionals } = parseFlags("chart", args, {
    out: { type: "string" },
    data: { type: "string" },
    dtype: { type: "string" },
    seed: { type: "string" },
    rng: { type: "string" },
  });
  const [what, number, ...extra] = positionals;
  if (what !== "exercise") {
    throw new UsageError(`chart draws an exercise's graph: ${USAGE}`);
  }
  if (number !== "1" && number !== "2" && number !== "3") {
    throw new UsageError(
      `chart exercise needs 1, 2 or 3${number === undefined ? "" : `, got "${number}"`} ` +
        "(exercise 4's charts come from training: deno task train --charts DIR)",
    );
  }
  if (extra.length > 0) throw new UsageError(`chart takes no further arguments, got "${extra[0]}"`);
  const str = (
    name: string,
  ) => (typeof values[name] === "string" ? values[name] as string : undefined);
  const n = Number(number) as 1 | 2 | 3;
  const data = str("data");
  const charts = await exerciseCharts(n, {
    data: data === undefined ? undefined : userPath(data),
    dtype: choiceFlag("dtype", str("dtype"), ["float32", "float64"] as const, "float32"),
    seed: numberFlag("seed", str("seed"), LECTURE_SEEDS.seed, {
      min: 0,
      max: 2 ** 32 - 1,
      integer: true,
    }),
    rng: choiceFlag("rng", str("rng"), RNG_KINDS, "seedrandom"),
  });
  const out = userPath(str("out") ?? `charts/exercise-${n}`);
  const written = await writeCharts(out, charts, { title: `ninjagrad: exercise ${n}` });
  for (const f of written.files) {
    console.log(`${f.png}  (${f.width}×${f.height}; also .svg, .vl.json)`);
  }
  console.log(`${written.report}  (every chart, opens offline)`);
  return written;
}

if (import.meta.main) await runMain(async () => void (await main(Deno.args)));
