/**
 * The messages between the page and its Worker (the learner's code runs only in the Worker, so
 * that a rule that loops forever can be stopped by ending the Worker, and the page stays
 * responsive). Plain data: it crosses by structured clone.
 * @module
 */
import type { Diagnostic, LoadFailure } from "../../ninja/source.ts";
import type { reportData } from "../../ninja/report.ts";
import type { VegaLiteSpec } from "../../../viz/spec.ts";

/** What the page asks of the Worker. */
export type Request = { t: "check"; exercise: number; source: string };

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
  /** The file cannot be checked: one line, and each problem at its line. */
  | { t: "fail"; kind: LoadFailure; message: string; diagnostics: Diagnostic[] };
