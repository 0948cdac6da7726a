/**
 * A short exercise-4 run for `deno task exercise 4`: the training Observable run to its end, its
 * minibatch losses kept and summarised in ten segments, and the final split losses.
 * @module
 */
import type { RuleCounts } from "../graph/graph.ts";
import type { TrainConfig } from "./train/config.ts";
import type { TrainData } from "./train/data.ts";
import { train } from "./train/run.ts";

/** The mean minibatch loss over steps `from`..`to` (1-based, inclusive). */
export interface LossSegment {
  from: number;
  to: number;
  loss: number;
}

/** What a short run found. */
export interface ShortRun {
  steps: number;
  /** The minibatch loss in (up to) ten equal segments of the run. */
  curve: LossSegment[];
  /** Split losses with BatchNorm statistics re-estimated over the training set. */
  train: number;
  val: number;
  msPerStep: number;
  ruleCounts: RuleCounts;
}

/** Trains `config` on `data` to the end (no periodic evaluations) and summarises the run. */
export function shortRun(config: TrainConfig, data: TrainData): Promise<ShortRun> {
  const losses = new Float64Array(config.steps);
  return new Promise((resolve, reject) => {
    let seen = 0;
    train({ ...config, evalEvery: 0 }, data).subscribe({
      next: (e) => {
        if (e.type === "step") losses[seen++] = e.loss;
        if (e.type !== "done") return;
        resolve({
          steps: e.step,
          curve: segments(losses.subarray(0, seen), 10),
          train: e.train,
          val: e.val,
          msPerStep: e.msPerStep,
          ruleCounts: e.ruleCounts,
        });
      },
      error: reject,
    });
  });
}

/** Means of `xs` over `parts` near-equal consecutive segments (fewer if `xs` is shorter). */
export function segments(xs: ArrayLike<number>, parts: number): LossSegment[] {
  const n = Math.min(parts, xs.length), out: LossSegment[] = [];
  for (let k = 0; k < n; k++) {
    const lo = Math.floor((k * xs.length) / n), hi = Math.floor(((k + 1) * xs.length) / n);
    let sum = 0;
    for (let i = lo; i < hi; i++) sum += xs[i];
    out.push({ from: lo + 1, to: hi, loss: sum / (hi - lo) });
  }
  return out;
}
