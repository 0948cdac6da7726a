/**
 * `fit`'s progress bar on a terminal, as `deno task train` draws it (npm cli-progress): step,
 * batch loss, steps per second and time left, evaluations printed above it; redrawn at most ten
 * times a second. It wraps the run's Observable, so the run starts once, with its subscriber.
 */
import process from "node:process";
import { lastValueFrom as rxLast, Observable as RxObservable } from "../graph/deps.ts";
import type { Observable } from "../graph/node.ts";
import { cliProgress } from "./deps.ts";
import type { FitEvent } from "./fit.ts";

/** The part of cli-progress's SingleBar this file uses. */
interface Bar {
  start(total: number, start: number, payload: Record<string, string>): void;
  update(value: number, payload: Record<string, string>): void;
  stop(): void;
}
type BarClass = new (options: Record<string, unknown>) => Bar;
const SingleBar = (cliProgress as unknown as { SingleBar: BarClass }).SingleBar;

/** `6m 40s`, `12s`. */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** Where the bar is drawn: a stream with a terminal's width. */
export interface BarStream {
  /** Writes text. */
  write(text: string): unknown;
  /** Whether it is a terminal. */
  isTTY?: boolean;
}

/** `events` with a progress bar drawn on `stream` (default stderr) while they run. */
export function withProgressBar(
  events: Observable<FitEvent>,
  stream: BarStream = process.stderr,
): Observable<FitEvent> {
  return new RxObservable<FitEvent>((subscriber) => {
    const bar = new SingleBar({
      format: "{bar} {value}/{total} | loss {loss} | {speed} steps/s | ETA {left}",
      hideCursor: true,
      clearOnComplete: true,
      barsize: 24,
      fps: 10,
      stream,
      noTTYOutput: !stream.isTTY,
    });
    let started = false, last = 0;
    const stop = () => started && (started = false, bar.stop());
    const sub = events.subscribe({
      next: (e) => {
        if (e.type === "eval") {
          stop();
          stream.write(`step ${e.step}: train ${e.train.toFixed(4)}  val ${e.val.toFixed(4)}\n`);
        }
        if (e.type === "step") {
          const now = performance.now();
          const payload = {
            loss: e.loss.toFixed(4),
            speed: e.msPerStep > 0 ? (1000 / e.msPerStep).toFixed(0) : "…",
            left: e.msPerStep > 0 ? duration((e.totalSteps - e.step) * e.msPerStep) : "…",
          };
          if (!started) {
            started = true, last = now;
            bar.start(e.totalSteps, e.step, payload);
          } else if (now - last >= 100 || e.step === e.totalSteps) {
            last = now;
            bar.update(e.step, payload);
          }
        }
        subscriber.next(e);
      },
      error: (err) => {
        stop();
        subscriber.error(err);
      },
      complete: () => {
        stop();
        subscriber.complete();
      },
    });
    return () => {
      sub.unsubscribe();
      stop();
    };
  });
}

/**
 * Resolves with the last value `source` emits once it completes (RxJS's lastValueFrom):
 * `const done = await lastValueFrom(fit({ ... }))`.
 */
export function lastValueFrom<T>(source: Observable<T>): Promise<T> {
  return rxLast(source);
}
