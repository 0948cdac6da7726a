/**
 * The messages between the page and its Worker (the learner's code runs only in the Worker, so
 * that a rule that loops forever can be stopped by ending the Worker, and the page stays
 * responsive). Plain data: it crosses by structured clone.
 * @module
 */
import type { Diagnostic, LoadFailure } from "../../ninja/source.ts";
import type { reportData } from "../../ninja/report.ts";
import type { VegaLiteSpec } from "../../../viz/spec.ts";

/** What the page asks of the Worker: a check, or (exercise 4) a training run of `steps`. */
export type Request =
  | { t: "check"; exercise: number; source: string }
  /**
   * `shared` (where the page is cross-origin isolated): 8 bytes in which the Worker says which
   * rule runs during training (see `watch`).
   */
  | { t: "train"; source: string; steps: number; shared?: SharedArrayBuffer }
  /** `deno task bench`'s exercise-4 step, timed here: `repeats` runs of `steps` after a warm-up. */
  | { t: "bench"; steps: number; repeats: number; warmup: number };

/** What the Worker answers. */
export type Reply =
  /** The rule that starts now (`dlogits.logits`), or null when it has returned. */
  | { t: "rule"; rule: string | null }
  /** The check's verdict: `ninja check`'s text, its data, and the verdict graph. */
  | {
    t: "report";
    text: string;
    data: ReturnType<typeof reportData>;
    graph: VegaLiteSpec;
  }
  /** Training starts; while rule i (from 1) runs, `shared[0]` is i, and `shared[1]` counts calls. */
  | { t: "watch"; names: string[] }
  /** Training: the run so far, as the charts `--charts` draws (loss, update:data, histograms). */
  | {
    t: "progress";
    step: number;
    totalSteps: number;
    loss: number;
    charts: { name: string; spec: VegaLiteSpec }[];
  }
  /** Training is over: the last evaluation, the step time, and names sampled from the net. */
  | {
    t: "trained";
    step: number;
    train: number;
    val: number;
    msPerStep: number;
    samples: string[];
    charts: { name: string; spec: VegaLiteSpec }[];
  }
  /** The bench's timing: each repeat's wall-clock ms per step. */
  | { t: "bench"; wallMsPerStep: number[] }
  /** The file cannot be checked: one line, and each problem at its line. */
  | { t: "fail"; kind: LoadFailure; message: string; diagnostics: Diagnostic[] };
