/**
 * The lecture's notebook (exercises/notebook/backprop_ninja.ipynb) as functions its cells call:
 * the data, one workbench per exercise (the forward pass, the learner's rules written a part at
 * a time, the cmp table after each part), and training with the learner's exercise-4 rules. What
 * a cell shows is text its front end displays as it is (`Shown`); the charts come from viz/mod.ts
 * in the notebook itself.
 * @module
 */
import type { Comparison } from "../../graph/compare.ts";
import { share } from "../../graph/deps.ts";
import { formatShape, type Tensor } from "../../ops/kernels/tensor.ts";
import { loadNames } from "../data.ts";
import { countParams } from "../model/ex4.ts";
import type { RngKind } from "../rng/recipe.ts";
import { DEFAULT_CONFIG, type TrainConfig } from "../train/config.ts";
import { loadTrainData, prepareData, type TrainData } from "../train/data.ts";
import type { DoneEvent, TrainEvent } from "../train/events.ts";
import { sizesOf } from "../train/run.ts";
import { sampleNames, samplingRandom } from "../train/sample.ts";
import { checkOn, type CheckReport, type CheckSession, prepareCheck } from "./check.ts";
import { formatCheck, formatCounts } from "./report.ts";
import { type ExerciseNumber, EXERCISES, type ExerciseSpec } from "./exercises.ts";
import type { Ex1Rules, Ex2Rules, Ex3Rules, Ex4Rules } from "./api.ts";
import { excerpt } from "./source.ts";
import { checkBeforeTraining, doneOf, trainWithLearnerRules } from "./train.ts";

/** The symbol Deno's Jupyter kernel looks for on a cell's value. */
const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** Text a notebook cell shows as it is (a table keeps its columns); `String(x)` elsewhere. */
export class Shown {
  constructor(readonly text: string) {}
  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.text };
  }
  toString(): string {
    return this.text;
  }
}

/** Where the notebook's numbers come from. */
export interface LabOptions {
  /** Names file or URL (default: the lecture's). */
  data?: string;
  /** `torch` (the lecture's generators) or `seedrandom`. */
  rng?: RngKind;
  /** Seeds the parameters and the minibatches. */
  seed?: number;
}

/** The lecture's data, as its first cells show it. */
export interface LectureData {
  /** Names read. */
  words: number;
  /** The vocabulary, index to symbol (`.` first). */
  vocab: readonly string[];
  /** The examples of each split (block_size 3). */
  examples: { train: number; val: number; test: number };
  /** The first names, as they come in the file. */
  first: readonly string[];
  /** All of the above as text. */
  shown: Shown;
}

/** Loads the names, splits them 80/10/10 as the lecture does and builds the examples. */
export async function lectureData(options: LabOptions = {}): Promise<LectureData> {
  const words = await loadNames(options.data);
  const data = prepareData(words, 3, options.data ?? "the lecture's names.txt");
  const int = (x: number) => x.toLocaleString("en");
  const examples = { train: data.train.n, val: data.val.n, test: data.test.n };
  const vocab = data.vocab.itos;
  const first = words.slice(0, 8);
  return {
    words: words.length,
    vocab,
    examples,
    first,
    shown: new Shown([
      `${int(words.length)} names from ${data.source}: ${first.join(", ")}, …`,
      `vocabulary (${vocab.length}): ${vocab.join("")}  ('.' starts and ends every name)`,
      `block_size 3: every name of length L gives L + 1 examples (context of 3 → next letter)`,
      `split 80/10/10 by name after random.seed(42); random.shuffle(words):`,
      `  train ${int(examples.train)}  val ${int(examples.val)}  test ${int(examples.test)} ` +
      "examples",
    ].join("\n")),
  };
}

/** The rule tables by exercise. */
export interface RulesOf {
  1: Ex1Rules;
  2: Ex2Rules;
  3: Ex3Rules;
  4: Ex4Rules;
}

/** Some of a rule table: the lines (and inputs) written so far. */
export type PartOf<R> = { readonly [L in keyof R]?: Partial<R[L]> };

/**
 * One exercise in the notebook: its graph on one minibatch, the rules written so far, and the
 * checks of them.
 */
export class Workbench<N extends ExerciseNumber> {
  readonly exercise: N;
  readonly spec: ExerciseSpec;
  readonly #session: CheckSession;
  readonly #rules: Record<string, Record<string, unknown>> = {};
  #last: CheckReport | undefined;

  constructor(exercise: N, session: CheckSession) {
    this.exercise = exercise;
    this.spec = EXERCISES[exercise];
    this.#session = session;
  }

  /** The forward pass: every labelled node in forward order, its shape and op, and the loss. */
  forward(): Shown {
    const { graph, loss, n, source } = this.#session.net;
    const lines = graph.nodes.filter((node) => node.label !== undefined).map((node) =>
      `${node.name.padEnd(15)} ${formatShape(node.shape).padEnd(12)} ${
        node.op ? node.op.name : node.kind
      }`
    );
    return new Shown(
      `${lines.join("\n")}\nloss ${
        loss.value.item().toFixed(4)
      } on a minibatch of ${n} (${source})`,
    );
  }

  /** Adds rules to the ones written so far (a line's inputs add up across calls). */
  write(rules: PartOf<RulesOf[N]>): void {
    for (const [line, table] of Object.entries(rules as Record<string, object>)) {
      this.#rules[line] = { ...this.#rules[line], ...table };
    }
  }

  /** The rules written so far, as a table (training and other workbenches take it). */
  get rules(): RulesOf[N] {
    return this.#rules as unknown as RulesOf[N];
  }

  /** Checks the rules written so far against the engine. */
  check(): CheckReport {
    return this.#last = checkOn(this.#session, this.#rules);
  }

  /** The cmp table of the nodes written so far: `ninja check`'s, after each part. */
  cmp(): Shown {
    const report = this.check();
    return new Shown(formatCheck(report, { writtenOnly: true, excerpt }));
  }

  /** The last check's comparison (for `comparisonSpec`). */
  comparison(): Comparison {
    return (this.#last ?? this.check()).comparison;
  }

  /** The engine's own gradient of a node (for charts: `dlogitsHeatmapSpec`). */
  expected(label: string): Tensor {
    const { graph, loss } = this.#session.net;
    const grads = this.#session.correct ??= graph.backward(loss, {
      overrides: false,
      notify: false,
    });
    return grads.get(label)!;
  }

  /** The project's own rules for these lines (all of them by default): the answers. */
  reference(lines: readonly string[] = Object.keys(this.spec.lines)): PartOf<RulesOf[N]> {
    const all = this.spec.reference as Record<string, object>;
    return Object.fromEntries(lines.map((l) => [l, all[l]])) as PartOf<RulesOf[N]>;
  }
}

/** A workbench for exercise `n` on one minibatch of the lecture's set-up. */
export async function workbench<N extends ExerciseNumber>(
  n: N,
  options: LabOptions = {},
): Promise<Workbench<N>> {
  return new Workbench(n, await prepareCheck(n, options));
}

/** What a training run in the notebook ended with. */
export interface LabRun {
  /** Whether it trained (the rules agreed with the engine's). */
  ok: boolean;
  done?: DoneEvent;
  samples: string[];
  shown: Shown;
  [JUPYTER_DISPLAY](): Record<string, string>;
}

/**
 * Trains the lecture's net with the learner's exercise-4 rules once they agree with the engine's
 * (otherwise says what to fix, and trains nothing), printing a line every tenth of the run;
 * `onEvent` sees every training event (a chart's trace collector).
 */
export async function train(
  rules: unknown,
  overrides: Partial<TrainConfig> & { data?: string } = {},
  onEvent?: (e: TrainEvent) => void,
): Promise<LabRun> {
  const { data: source, ...settings } = overrides;
  const config: TrainConfig = { ...DEFAULT_CONFIG, ...settings, backward: "manual" };
  const data: TrainData = await loadTrainData(source, config.block);
  const report = checkBeforeTraining(rules, config, data);
  const result = (ok: boolean, text: string, done?: DoneEvent, samples: string[] = []) => {
    const shown = new Shown(text);
    return { ok, done, samples, shown, [JUPYTER_DISPLAY]: () => shown[JUPYTER_DISPLAY]() };
  };
  if (report.counts.ok !== report.nodes.length) {
    const first = report.firstWrong ?? report.nextToWrite!;
    return result(
      false,
      `exercise 4 is not done: ${formatCounts(report)}; ${
        report.firstWrong ? "fix" : "write"
      } ${first.name} first. Training takes only rules that agree with the engine's.`,
    );
  }
  const run$ = trainWithLearnerRules(rules, config, data).pipe(share());
  const every = Math.max(1, Math.round(config.steps / 10));
  const log = run$.subscribe((e) => {
    onEvent?.(e);
    if (e.type === "step" && (e.step % every === 0 || e.step === 1)) {
      console.log(
        `step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(4)}  lr ${e.lr}  ` +
          `${e.msPerStep.toFixed(2)} ms/step`,
      );
    }
  });
  const done = await doneOf(run$);
  log.unsubscribe();
  const samples = sampleNames(done.model, 20, samplingRandom(config.seed));
  const { auto, override } = done.ruleCounts;
  return result(
    true,
    [
      `${countParams(sizesOf(config, data)).toLocaleString("en")} parameters, ${done.step} ` +
      `steps with your rules; BatchNorm statistics re-estimated over the training set:`,
      `train ${done.train.toFixed(4)}  val ${done.val.toFixed(4)}   (the lecture, 200,000 ` +
      "steps: train 2.0705, val 2.1099)",
      `rules run: ${override.toLocaleString("en")} hand-written (yours), ` +
      `${auto.toLocaleString("en")} automatic`,
      `20 names: ${samples.join(", ")}`,
    ].join("\n"),
    done,
    samples,
  );
}
