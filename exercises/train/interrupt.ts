/**
 * Ctrl-C during `deno task train`: the first SIGINT asks the run to stop after the step in
 * progress (its `done` event then says `interrupted`, and the CLI saves it); a second one quits
 * at once, without saving, for a person who does not want to wait.
 */
import { lastValueFrom, type Observable } from "../../graph/deps.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import type { DoneEvent, TrainEvent } from "./events.ts";

/** The exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

/**
 * Runs `body` with Ctrl-C handled as the module comment says: the first aborts `stop`, the
 * second exits. `say` prints a notice (to stderr).
 */
export async function interruptible<T>(
  stop: AbortController,
  say: (line: string) => void,
  body: () => Promise<T>,
): Promise<T> {
  let count = 0;
  const onInterrupt = () => {
    if (++count > 1) {
      say("interrupted again: quitting without saving");
      Deno.exit(INTERRUPTED_EXIT);
    }
    say("stopping after the step in progress (Ctrl-C again to quit without saving)");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    return await body();
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/** The run's `done` event (an error if the run completes without one). */
export async function runToDone(run$: Observable<TrainEvent>): Promise<DoneEvent> {
  const last = await lastValueFrom(run$, { defaultValue: undefined });
  if (last?.type !== "done") throw new NinjagradError("the run ended without its results");
  return last;
}
