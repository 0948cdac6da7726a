/**
 * A training run that keeps what it did (`deno task train --save FILE`): `trainAndSave` runs
 * `train`, writes a checkpoint every so often (`checkpointEvery`: a kill -9 loses at most that
 * much) and at the end, and stops on the signals of interrupt.ts: the run ends after its step,
 * the training state is saved at once (BatchNorm statistics estimated on a subset), then the
 * full statistics are computed and the checkpoint written again with them and the losses.
 */
import { type Observable, share, type Subscription } from "../../graph/deps.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import type { Checkpoint } from "../checkpoint.ts";
import type { TrainConfig } from "./config.ts";
import type { TrainData } from "./data.ts";
import type { DoneEvent, TrainEvent } from "./events.ts";
import { finalStatistics } from "./final.ts";
import { runToDone, type StopSignals } from "./interrupt.ts";
import { type RunSnapshot, train, type TrainStart } from "./run.ts";
import type { SaveTarget } from "./save.ts";

/** What {@link trainAndSave} runs, where it saves, and who watches. */
export interface SessionOptions {
  config: TrainConfig;
  data: TrainData;
  /** Continue a saved run. */
  start?: TrainStart;
  /** Where checkpoints go (none: nothing is saved). */
  target?: SaveTarget;
  /** How often to write a checkpoint while training (with `target`). */
  checkpointEvery?: { steps: number } | { ms: number };
  /** The stop signals' listener; its `stop` ends the run. */
  signals: StopSignals;
  /** Subscribes what shows the run (progress, logs, traces); returns the subscriptions. */
  observe?: (run$: Observable<TrainEvent>) => Subscription[];
  /** Prints a notice (to stderr). */
  say: (line: string) => void;
}

/** How the run ended. */
export interface SessionResult {
  /** The last event: full statistics, unless a stopped run was told to quit before them. */
  done: DoneEvent;
  /** The subscriptions `observe` made. */
  reporters: Subscription[];
}

/** The checkpoint of a run's state (`losses` once they are measured over the whole splits). */
export function checkpointOf(
  config: TrainConfig,
  data: TrainData,
  state: Pick<RunSnapshot, "step" | "model" | "rngState">,
  losses?: { train: number; val: number },
): Checkpoint {
  if (data.fingerprint === undefined) {
    throw new Error("data to be saved with a checkpoint comes from loadTrainData");
  }
  const { step, model, rngState } = state;
  return { config, step, model, rngState, ...(losses ? { losses } : {}), data: data.fingerprint };
}

/** See the module comment. */
export async function trainAndSave(o: SessionOptions): Promise<SessionResult> {
  const { config, data, target, signals, say } = o;
  let warned = false;
  const periodic = (snapshot: RunSnapshot) => {
    // A run going to NaN is caught at its next step; its last good checkpoint stays.
    if (!finite(snapshot)) return;
    try {
      target!.write(checkpointOf(config, data, snapshot), snapshot.bnExamples);
    } catch (e) {
      if (!(e instanceof NinjagradError)) throw e;
      // A full disk is no reason to throw the run away: the end may find room again.
      if (!warned) say(`warning: ${e.message}; training goes on${held(target!)}`);
      warned = true;
    }
  };
  const snapshots = target && o.checkpointEvery
    ? { snapshotEvery: o.checkpointEvery, onSnapshot: periodic }
    : {};
  const run$ = train(config, data, { start: o.start, signal: signals.stop.signal, ...snapshots })
    .pipe(share());
  const reporters = o.observe?.(run$) ?? [];
  let done: DoneEvent;
  try {
    done = await runToDone(run$);
  } catch (e) {
    // A run that broke down says what the file still holds.
    if (e instanceof NinjagradError && target) {
      throw new NinjagradError(`${e.message}${held(target)}`);
    }
    throw e;
  }
  if (!done.interrupted) {
    if (target) write(target, checkpointOf(config, data, done, lossesOf(done)));
    signals.finished();
    return { done, reporters };
  }
  if (target) write(target, checkpointOf(config, data, done), done.estimatedOn);
  signals.markSafe(); // a second signal quits from here on
  if (!target) return { done, reporters };
  say(
    `training state at step ${done.step} saved to ${target.path}; re-estimating BatchNorm ` +
      `statistics over all ${data.train.n.toLocaleString("en")} training examples`,
  );
  const { bn, train: trainLoss, val } = await finalStatistics(done.model, data);
  const { estimatedOn: _, ...rest } = done;
  const final: DoneEvent = { ...rest, train: trainLoss, val, model: { ...done.model, bn } };
  write(target, checkpointOf(config, data, final, lossesOf(final)));
  signals.finished();
  return { done: final, reporters };
}

/** Whether every parameter and statistic of a snapshot is a finite number. */
function finite(snapshot: RunSnapshot): boolean {
  const { weights, bn } = snapshot.model;
  for (const a of [...Object.values(weights), bn.mean, bn.var]) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  }
  return true;
}

function lossesOf(done: DoneEvent): { train: number; val: number } {
  return { train: done.train, val: done.val };
}

/** Writes a checkpoint; a failure says what the file still holds. */
function write(target: SaveTarget, c: Checkpoint, estimatedOn?: number): void {
  try {
    target.write(c, estimatedOn);
  } catch (e) {
    if (e instanceof NinjagradError) throw new NinjagradError(`${e.message}${held(target)}`);
    throw e;
  }
}

/** What the checkpoint file holds after a failed write, if this run wrote it before. */
function held(target: SaveTarget): string {
  return target.lastStep === undefined
    ? ""
    : `; ${target.path} still holds the checkpoint of step ${target.lastStep}`;
}
