/**
 * Training the lecture's net with a learner's exercise-4 rules: the same training run as
 * `deno task train` (exercises/train/run.ts), with the learner's table installed on every node in
 * place of the project's. A rule that throws mid-run names the line of the learner's file.
 * @module
 */
import { catchError, lastValueFrom, type Observable, tap } from "../../graph/deps.ts";
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
import { buildEx4Check, ex4CheckGraph, EXERCISES } from "./exercises.ts";
import { formatCheck, formatCounts } from "./report.ts";
import { type Ex4Weights, type FloatArray, PARAM_NAMES } from "../model/ex4.ts";
import type { LiveModel } from "../train/events.ts";
import { errorLocation, firstLine, formatLocation } from "./source.ts";

type LooseRule = (ctx: Record<string, Tensor | number>) => Tensor;

/**
 * Checks a learner's exercise-4 rules on the first two minibatches of the run `config`
 * describes, as `deno task train` checks its own before training (the second catches a rule that
 * keeps something from its first call).
 */
export function checkBeforeTraining(
  rules: unknown,
  config: TrainConfig,
  data: TrainData,
  file?: string,
): CheckReport {
  return checkOn(
    {
      spec: EXERCISES[4],
      net: buildEx4Check(config, data),
      second: { net: buildEx4Check(config, data, true) },
    },
    rules,
    { file },
  );
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

/**
 * How often (in steps) a run with a learner's rules checks them again, on the step's own
 * minibatch and weights (and at steps 100, 300, 1,000 and 3,000 before the first): one check
 * takes about as long as 200 steps of the lecture's net (0.13 s here), so this adds about 2% to a
 * run, 24 checks in the lecture's 200,000 steps.
 */
export const RECHECK_EVERY = 10_000;

/** The learner's rules stopped agreeing with the engine's during a run: the check says where. */
export class RulesDisagree extends NinjagradError {
  /**
   * The step whose minibatch they were checked on, the check, and what ended the run first
   * (a diverged loss), when the check was made because of it.
   */
  constructor(readonly step: number, readonly report: CheckReport, readonly after?: string) {
    super(
      `${after ? `${after}; ` : ""}at step ${step.toLocaleString("en")}, your rules no longer ` +
        `agree with the engine's on that step's minibatch: ${formatCounts(report)}; fix ${
          report.firstWrong?.name ?? "them"
        } first (it was right on the run's first minibatches: a rule that keeps something from ` +
        `an earlier call does this)\n${formatCheck(report)}`,
    );
  }
}

/** Options of {@link trainWithLearnerRules}. */
export interface LearnerTrainOptions extends Omit<TrainOptions, "installRules"> {
  /** The learner file's URL: errors and checks point into it. */
  file?: string;
  /**
   * Check the rules again every this many steps (default RECHECK_EVERY; 0: never); a run that
   * breaks down is checked on its last step in any case.
   */
  recheckEvery?: number;
}

/**
 * A training run with the learner's rules: `train` with them installed, checked again every
 * `recheckEvery` steps on that step's minibatch; the run ends with {@link RulesDisagree} when
 * they no longer agree.
 */
export function trainWithLearnerRules(
  rules: unknown,
  config: TrainConfig,
  data: TrainData,
  options: LearnerTrainOptions = {},
): Observable<TrainEvent> {
  if (config.backward !== "manual") {
    throw new NinjagradError("a learner's rules train with backward manual");
  }
  const { file, recheckEvery = RECHECK_EVERY, ...rest } = options;
  const run$ = train(config, data, { ...rest, installRules: learnerRules(rules, file) });
  let last: { step: number; model: LiveModel } | undefined;
  return run$.pipe(
    tap((event) => {
      if (event.type !== "step") return;
      last = { step: event.step, model: event.model };
      if (!isRecheckStep(event.step, recheckEvery)) return;
      const report = recheck(rules, event.step, event.model, config, data, file);
      if (report.firstWrong) throw new RulesDisagree(event.step, report);
    }),
    // A run that breaks down (a loss gone infinite) is checked at once, on the step that broke:
    // a rule gone wrong is the likelier cause than the learning rate the error suggests.
    catchError((e: unknown) => {
      if (e instanceof RulesDisagree || !(e instanceof NinjagradError) || !last) throw e;
      let report: CheckReport;
      try {
        report = recheck(rules, last.step + 1, last.model, config, data, file);
      } catch {
        throw e;
      }
      if (report.firstWrong) {
        throw new RulesDisagree(last.step + 1, report, e.message.split("\n")[0]);
      }
      throw e;
    }),
  );
}

/**
 * Whether a run checks the rules again at `step`: every `every` steps, and sooner at first
 * (at 1%, 3%, 10% and 30% of it: steps 100, 300, 1,000 and 3,000), since a rule that goes stale
 * can make a run diverge long before step 10,000.
 */
export function isRecheckStep(step: number, every: number): boolean {
  if (!(every > 0)) return false;
  return step % every === 0 || [0.01, 0.03, 0.1, 0.3].some((f) => step === Math.round(f * every));
}

/** The learner's rules checked on a step's minibatch and weights (before its update). */
export function recheck(
  rules: unknown,
  step: number,
  model: LiveModel,
  config: TrainConfig,
  data: TrainData,
  file?: string,
): CheckReport {
  const weights = {} as Ex4Weights;
  for (const name of PARAM_NAMES) weights[name] = model.params[name].value.data as FloatArray;
  const { graph } = model;
  const net = ex4CheckGraph(
    config,
    data,
    weights,
    graph.node("Xb").value.data as Int32Array,
    graph.node("Yb").value.data as Int32Array,
    `step ${step}'s minibatch`,
  );
  return checkOn({ spec: EXERCISES[4], net }, rules, { file });
}

/** The run's `done` event. */
export async function doneOf(run$: Observable<TrainEvent>): Promise<DoneEvent> {
  const last = await lastValueFrom(run$, { defaultValue: undefined });
  if (last?.type !== "done") throw new NinjagradError("the run ended without its results");
  return last;
}
