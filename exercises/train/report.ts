/**
 * What `deno task train` shows while it runs, each a subscriber of the training Observable:
 * a progress bar on a terminal (npm cli-progress), a plain periodic log line elsewhere, or one
 * JSON object per evaluation; and the lines it prints before and after.
 */
import process from "node:process";
import { cliProgress } from "../../ops/deps.ts";
import type { Observable, Subscription } from "../../graph/deps.ts";
import type { DoneEvent, EvalEvent, StepEvent } from "./events.ts";
import type { FitEvent } from "../../ops/fit.ts";
import { countParams } from "../model/ex4.ts";
import { decayStep, type TrainConfig } from "./config.ts";
import type { TrainData } from "./data.ts";
import { sizesOf } from "./run.ts";

/** The part of cli-progress's MultiBar this file uses (the package ships no types). */
interface MultiBar {
  create(total: number, start: number, payload: Record<string, string>): Bar;
  log(text: string): void;
  stop(): void;
}
interface Bar {
  update(value: number, payload: Record<string, string>): void;
}
type MultiBarClass = new (options: Record<string, unknown>) => MultiBar;
const MultiBarImpl = (cliProgress as unknown as { MultiBar: MultiBarClass }).MultiBar;

/** A line of text to the output. */
export type Write = (line: string) => void;

/** `1h 02m`, `6m 40s`, `12s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** An evaluation as one line of text (a lecture run's says what its estimates were made on). */
export function formatEval(e: Omit<EvalEvent, "type">): string {
  const subset = e.trainExamples === undefined
    ? ""
    : ` (BatchNorm statistics and train loss on ${
      e.trainExamples.toLocaleString("en")
    } training examples)`;
  return `step ${e.step}: train ${e.train.toFixed(4)}  val ${e.val.toFixed(4)}${subset}`;
}

function eta(e: StepEvent): string {
  return formatDuration((e.totalSteps - e.step) * e.msPerStep);
}

/**
 * The reporters below read any training run: the lecture's (`train`) or any graph's (`fit`),
 * whose step and eval events are the same.
 */
type RunEvents = Observable<FitEvent>;

/**
 * A progress bar on stderr: step, batch loss, steps/s, ETA; evaluations are printed above it.
 * Redraws at most ten times a second however fast the steps come.
 */
export function progressBar(events: RunEvents): Subscription {
  // A terminal that closed (SIGHUP) fails the bar's writes later, asynchronously (EPIPE, EIO):
  // dropped, never thrown at the run, which has its state to save.
  if (process.stderr.listenerCount("error") === 0) process.stderr.on("error", () => {});
  const multi = new MultiBarImpl({
    format: "{bar} {value}/{total} | loss {loss} | {speed} steps/s | ETA {left}",
    hideCursor: true,
    clearOnComplete: true,
    barsize: 24,
    fps: 10,
  });
  let bar: Bar | undefined;
  let last = 0;
  const sub = events.subscribe({
    next: (e) => {
      if (e.type === "eval") multi.log(formatEval(e) + "\n");
      if (e.type !== "step") return;
      const now = performance.now();
      if (bar && now - last < 100 && e.step !== e.totalSteps) return;
      last = now;
      const payload = {
        loss: e.loss.toFixed(4),
        speed: e.msPerStep > 0 ? (1000 / e.msPerStep).toFixed(0) : "…",
        left: e.msPerStep > 0 ? eta(e) : "…",
      };
      bar ??= multi.create(e.totalSteps, 0, payload);
      bar.update(e.step, payload);
    },
    complete: () => multi.stop(),
    error: () => multi.stop(),
  });
  sub.add(() => multi.stop());
  return sub;
}

/** A plain line every 5% of the steps and one per evaluation, for logs and pipes. */
export function plainLog(events: RunEvents, write: Write): Subscription {
  return events.subscribe((e) => {
    if (e.type === "eval") write(formatEval(e));
    if (e.type !== "step") return;
    const every = Math.max(1, Math.round(e.totalSteps / 20));
    if (e.step % every !== 0 || e.step === e.totalSteps) return;
    write(
      `step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(4)}  lr ${e.lr}  ` +
        `${e.msPerStep.toFixed(2)} ms/step  ETA ${eta(e)}`,
    );
  });
}

/** One JSON object per periodic evaluation (the final line is the CLI's). */
export function jsonLog(events: RunEvents, write: Write): Subscription {
  return events.subscribe((e) => {
    if (e.type === "eval") write(JSON.stringify(e));
  });
}

/** The run's first line: what is trained on what (`from`: the checkpoint a run resumes). */
export function startLine(
  config: TrainConfig,
  data: TrainData,
  start?: { step: number },
  from?: string,
): string {
  const names = data.fingerprint?.names;
  const source = `${data.source}${
    names === undefined ? "" : ` (${names.toLocaleString("en")} names)`
  }`;
  return `${start ? `resuming ${from} at step ${start.step}: ` : ""}` +
    `training ${countParams(sizesOf(config, data)).toLocaleString("en")} parameters on ` +
    `${data.train.n.toLocaleString("en")} examples from ${source}: ${config.steps} ` +
    `steps, batch ${config.batch}, lr ${config.lr} then ${config.lr / 10} from step ` +
    `${decayStep(config)}, ${config.dtype}, backward ${config.backward}`;
}

/** The first line in `--json` mode, saying what the text mode's first line says. */
export function startJson(
  config: TrainConfig,
  data: TrainData,
  start?: { step: number },
  from?: string,
): string {
  return JSON.stringify(startRecord(config, data, start, from));
}

/** What `startJson` prints, as an object that a command may add to. */
export function startRecord(
  config: TrainConfig,
  data: TrainData,
  start?: { step: number },
  from?: string,
): Record<string, unknown> {
  return {
    type: "start",
    ...(start ? { resumedFrom: from, step: start.step } : {}),
    data: {
      source: data.source,
      names: data.fingerprint?.names,
      sha256: data.fingerprint?.sha256,
      examples: { train: data.train.n, val: data.val.n, test: data.test.n },
    },
    parameters: countParams(sizesOf(config, data)),
    config,
  };
}

/** The last line of a stopped run: where its checkpoint is and how to go on. */
export function stoppedLine(
  step: number | undefined,
  total: number,
  save: string | undefined,
  estimatedOn?: number,
): string {
  if (save === undefined || step === undefined) {
    return `interrupted at step ${step ?? 0} of ${total}; nothing saved ` +
      "(--save FILE keeps an interrupted run)";
  }
  const estimated = estimatedOn === undefined
    ? ""
    : ` (BatchNorm statistics estimated on ${estimatedOn.toLocaleString("en")} training examples)`;
  return `interrupted at step ${step} of ${total}; checkpoint saved to ${save}${estimated}; ` +
    `continue with: deno task train --resume ${save}`;
}

/**
 * The results of a finished run, line by line: losses, sampled names, rules run. `whose` says
 * whose hand-written rules ran ("yours"), `compare` what to read the losses against.
 */
export function resultLines(
  done: DoneEvent,
  data: TrainData,
  config: TrainConfig,
  samples: string[],
  { whose, compare }: { whose?: string; compare?: string } = {},
): string[] {
  const { auto, override } = done.ruleCounts;
  return [
    `after ${done.step} steps, BatchNorm statistics re-estimated over all ` +
    `${data.train.n.toLocaleString("en")} training examples:`,
    `train ${done.train.toFixed(4)}  val ${done.val.toFixed(4)}${compare ? `   (${compare})` : ""}`,
    `20 names sampled with seed ${config.seed + 10}:`,
    ...samples.map((name) => `  ${name}`),
    `${done.msPerStep.toFixed(2)} ms/step; rules run: ${override.toLocaleString("en")} ` +
    `hand-written${whose ? ` (${whose})` : ""}, ${auto.toLocaleString("en")} automatic` +
    (whose ? "" : ` (--backward ${config.backward})`),
  ];
}
