/**
 * Training the lecture's net with a learner's exercise-4 rules: the same training run as
 * `deno task train` (exercises/train/run.ts), with the learner's table installed on every node in
 * place of the project's. A rule that throws mid-run names the line of the learner's file.
 * @module
 */
import { lastValueFrom, type Observable } from "../../graph/deps.ts";
import type { Graph } from "../../graph/graph.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import type { Tensor } from "../../ops/kernels/tensor.ts";
import { installLineRules, ruleIn } from "../model/lines.ts";
import type { TrainConfig } from "../train/config.ts";
import type { TrainData } from "../train/data.ts";
import type { DoneEvent, TrainEvent } from "../train/events.ts";
import { train, type TrainOptions } from "../train/run.ts";
import { NotWritten } from "./api.ts";
import { checkOn, type CheckReport, completeRules } from "./check.ts";
import { buildEx4Check, EXERCISES } from "./exercises.ts";
import { errorLocation, firstLine, formatLocation } from "./source.ts";

type LooseRule = (ctx: Record<string, Tensor | number>) => Tensor;

/**
 * Checks a learner's exercise-4 rules on the first minibatch of the run `config` describes, as
 * `deno task train` checks its own before training.
 */
export function checkBeforeTraining(
  rules: unknown,
  config: TrainConfig,
  data: TrainData,
  file?: string,
): CheckReport {
  return checkOn({ spec: EXERCISES[4], net: buildEx4Check(config, data) }, rules, { file });
}

/**
 * The installer of a learner's exercise-4 rules for `train`'s `installRules`: every op node of
 * the training graph gets the learner's rule for each input (so the engine's automatic rules
 * never run: `ruleCounts.auto` stays 0), and an error thrown by a rule says where in `file`.
 */
export function learnerRules(rules: unknown, file?: string): (graph: Graph) => void {
  const spec = EXERCISES[4];
  const table = completeRules(spec, rules) as Record<string, Record<string, LooseRule>>;
  const located: Record<string, Record<string, LooseRule>> = {};
  for (const [line, { inputs }] of Object.entries(spec.lines)) {
    located[line] = {};
    for (const input of inputs) {
      const rule = ruleIn(table, line, input)!;
      located[line][input] = (ctx) => {
        try {
          return rule(ctx);
        } catch (e) {
          if (e instanceof NotWritten || !file) throw e;
          const at = errorLocation(e, file);
          throw new Error(`${firstLine(e)}${at ? ` at ${formatLocation(at)}` : ""}`);
        }
      };
    }
  }
  return (graph) => {
    installLineRules(graph, spec.lines, located, {
      forward: spec.forward,
      n: graph.node("Yb").shape[0],
    });
    const missed = graph.nodes.filter((n) => n.op && n.requiresGrad && !n.override);
    if (missed.length > 0) {
      throw new NinjagradError(
        `no hand-written rule for ${missed.map((n) => n.name).join(", ")}: exercise 4's lines ` +
          "must cover every node of the training graph",
      );
    }
  };
}

/** A training run with the learner's rules: `train` with them installed. */
export function trainWithLearnerRules(
  rules: unknown,
  config: TrainConfig,
  data: TrainData,
  options: Omit<TrainOptions, "installRules"> & { file?: string } = {},
): Observable<TrainEvent> {
  if (config.backward !== "manual") {
    throw new NinjagradError("a learner's rules train with backward manual");
  }
  const { file, ...rest } = options;
  return train(config, data, { ...rest, installRules: learnerRules(rules, file) });
}

/** The run's `done` event. */
export async function doneOf(run$: Observable<TrainEvent>): Promise<DoneEvent> {
  const last = await lastValueFrom(run$, { defaultValue: undefined });
  if (last?.type !== "done") throw new NinjagradError("the run ended without its results");
  return last;
}
