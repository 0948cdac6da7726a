/**
 * `ninja train` inside the sandboxed child: the learner's exercise-4 rules checked on the run's
 * first minibatch, then the whole training run with them, its events sent to the parent as data
 * (steps thinned to what a progress bar shows, evaluations, and the end with its sampled names).
 * The child saves nothing and draws no charts.
 * @module
 */
import { share } from "../../graph/deps.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { LECTURE_NAMES_SOURCE, lectureNames } from "../data.ts";
import { prepareData } from "../train/data.ts";
import { sampleNames, samplingRandom } from "../train/sample.ts";
import type { DoneEvent } from "../train/events.ts";
import { checkBeforeTraining, doneOf, trainWithLearnerRules } from "./train.ts";
import type { LearnerFile } from "./source.ts";
import type { TrainRequest } from "./sandbox_wire.ts";
import { encodeReport } from "./sandbox_wire.ts";

/** What the child sends besides the run's own events: the check before training. */
export interface CheckEvent {
  type: "check";
  report: unknown;
}

/** The end of a run, as data: the done event without the model, and the names it samples. */
export interface EndEvent {
  type: "done";
  step: number;
  train: number;
  val: number;
  msPerStep: number;
  ruleCounts: DoneEvent["ruleCounts"];
  interrupted?: boolean;
  samples: string[];
}

/** Checks, then trains with `rules` (the learner's, marked), sending `emit` each event. */
export async function runTraining(
  request: TrainRequest,
  file: LearnerFile,
  rules: object,
  emit: (event: unknown) => void,
): Promise<void> {
  if (file.exercise !== 4) {
    throw new NinjagradError(
      `${request.path} holds exercise ${file.exercise}'s rules; ninja train trains with ` +
        "exercise 4's (deno task ninja init DIR --exercise 4)",
    );
  }
  const { config } = request;
  const words = request.words ? [...request.words] : lectureNames();
  const data = prepareData(words, config.block, request.source ?? LECTURE_NAMES_SOURCE);
  const report = checkBeforeTraining(rules, config, data, file.url);
  emit({ type: "check", report: encodeReport(report) } satisfies CheckEvent);
  if (report.counts.ok !== report.nodes.length) return;
  let shown = 0;
  // One run, watched here and awaited below: a cold Observable would run twice.
  const run$ = trainWithLearnerRules(rules, config, data, { file: file.url }).pipe(share());
  const seen = run$.subscribe((e) => {
    if (e.type === "eval") emit(e);
    if (e.type !== "step") return;
    // A progress bar redraws ten times a second, a plain log twenty times a run: steps between
    // are not worth a frame each.
    const now = performance.now();
    const every = Math.max(1, Math.round(e.totalSteps / 20));
    if (now - shown < 100 && e.step % every !== 0 && e.step !== e.totalSteps) return;
    shown = now;
    const { model: _model, ...step } = e;
    emit(step);
  });
  const done = await doneOf(run$);
  seen.unsubscribe();
  const { step, train, val, msPerStep, ruleCounts, interrupted } = done;
  emit(
    {
      type: "done",
      step,
      train,
      val,
      msPerStep,
      ruleCounts,
      ...(interrupted ? { interrupted } : {}),
      samples: sampleNames(done.model, 20, samplingRandom(config.seed)),
    } satisfies EndEvent,
  );
}
