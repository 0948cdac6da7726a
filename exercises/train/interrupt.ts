/**
 * Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP) during `deno task train`, all alike:
 * the first asks the run to stop after the step in progress (its `done` event then says
 * `interrupted`, and the training state is saved at once); a second one quits as soon as that
 * state is on the disk, skipping what is left (the full BatchNorm statistics, the charts). A
 * checkpoint is written synchronously, so no handler ever runs in the middle of a write.
 */
import { lastValueFrom, type Observable } from "../../graph/deps.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import type { DoneEvent, TrainEvent } from "./events.ts";

/** The signals that stop a run. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** One of them. */
export type StopSignal = typeof STOP_SIGNALS[number];

/** The exit code of a run stopped by a signal: 128 + its number, as shells report it. */
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = {
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
};

/** The exit code of a run stopped by Ctrl-C. */
export const INTERRUPTED_EXIT = SIGNAL_EXIT.SIGINT;

/** How each signal is named in the notice. */
const SAID: Readonly<Record<StopSignal, string>> = {
  SIGINT: "Ctrl-C",
  SIGTERM: "SIGTERM",
  SIGHUP: "SIGHUP (the terminal closed)",
};

/**
 * Listens for the stop signals while a run goes on. `stop` is aborted at the first; at the
 * second, `quit` runs at once if the state is `safe` (saved, or nothing to save), else as soon
 * as `markSafe` is called.
 */
export class StopSignals {
  /** Aborted at the first signal: the run ends after the step in progress. */
  readonly stop: AbortController = new AbortController();
  /** The first signal received, if any. */
  first: StopSignal | undefined;
  /** Whether a second signal asked to quit. */
  quitAsked = false;
  #safe = false;
  #finished = false;
  readonly #say: (line: string) => void;
  readonly #quit: () => void;
  readonly #listening: [StopSignal, () => void][] = [];

  readonly #onFirst: ((signal: StopSignal) => void) | undefined;

  /**
   * `say` prints a notice (to stderr); `quit` ends the process (it must not return); `onFirst`
   * hears the first signal before anything else happens (a closed terminal's SIGHUP: stop
   * writing to it).
   */
  constructor(
    say: (line: string) => void,
    quit: () => void,
    onFirst?: (signal: StopSignal) => void,
  ) {
    this.#say = say;
    this.#quit = quit;
    this.#onFirst = onFirst;
    for (const signal of STOP_SIGNALS) {
      const listener = () => this.#heard(signal);
      try {
        Deno.addSignalListener(signal, listener);
        this.#listening.push([signal, listener]);
      } catch { /* a signal this system does not have (Windows: SIGTERM, SIGHUP) */ }
    }
  }

  /** The exit code for the first signal (0 when none came). */
  get exitCode(): number {
    return this.first === undefined ? 0 : SIGNAL_EXIT[this.first];
  }

  #heard(signal: StopSignal): void {
    if (this.first === undefined) {
      this.first = signal;
      this.#onFirst?.(signal);
      if (this.#finished) return this.#quit();
      this.#say(
        `${SAID[signal]}: stopping after the step in progress, then saving ` +
          "(again to quit as soon as the training state is saved)",
      );
      this.stop.abort();
      return;
    }
    if (this.quitAsked) return;
    this.quitAsked = true;
    if (this.#safe) this.#quit();
    else this.#say(`${SAID[signal]} again: quitting as soon as the training state is saved`);
  }

  /** The training state is saved (or there is none to save): a second signal may quit now. */
  markSafe(): void {
    this.#safe = true;
    if (this.quitAsked) this.#quit();
  }

  /** Everything is saved: any signal from now on quits at once. */
  finished(): void {
    this.#finished = this.#safe = true;
  }

  /** Stops listening. */
  dispose(): void {
    for (const [signal, listener] of this.#listening.splice(0)) {
      Deno.removeSignalListener(signal, listener);
    }
  }
}

/** The run's `done` event (an error if the run completes without one). */
export async function runToDone(run$: Observable<TrainEvent>): Promise<DoneEvent> {
  const last = await lastValueFrom(run$, { defaultValue: undefined });
  if (last?.type !== "done") throw new NinjagradError("the run ended without its results");
  return last;
}
