/**
 * What a sandboxed learner's run (`sandbox_child.ts`) and its parent (`sandbox.ts`) say to each
 * other. The parent sends one request on the child's stdin (with a random nonce, read before the
 * learner's file is imported); the child answers with frames on stdout, one a line, each led by
 * the nonce, so that nothing the learner's code prints can pass for a report.
 * @module
 */
import type { CheckOptions, ExerciseNumber } from "./exercises.ts";
import type { CheckReport, NodeVerdict } from "./check.ts";
import type { Diagnostic, LoadFailure } from "./source.ts";
import type { TrainConfig } from "../train/config.ts";

/** `ninja check`'s request: check the file's rules on the exercise's graph. */
export interface CheckRequest {
  mode: "check";
  nonce: string;
  path: string;
  options: CheckOptions;
}

/** `ninja train`'s request: check, then train with the file's exercise-4 rules. */
export interface TrainRequest {
  mode: "train";
  nonce: string;
  path: string;
  config: TrainConfig;
  /** The names, read by the parent (the child reads neither the user's files nor the net). */
  words?: readonly string[];
  /** `--data` as the user gave it. */
  source?: string;
}

/** What the parent asks. */
export type SandboxRequest = CheckRequest | TrainRequest;

/** Why a run failed without a report. */
export type FailKind = LoadFailure;

/** What the child says. */
export type Frame =
  /** The child starts importing the file (`load`), or runs what it loaded (`run`). */
  | { t: "mark"; at: "load" | "run"; exercise?: ExerciseNumber }
  /** A learner's rule starts (`line.input`), or returns or throws (`rule: null`). */
  | { t: "rule"; rule: string | null }
  /** The learner's code printed (console.*). */
  | { t: "print"; text: string }
  /** The check's report (see {@link encodeReport}). */
  | { t: "report"; report: unknown }
  /** A training event, or the run's end (`ninja train`). */
  | { t: "event"; event: unknown }
  /** The run failed, in one line. */
  | {
    t: "fail";
    kind: FailKind;
    message: string;
    diagnostics: Diagnostic[];
    exercise?: ExerciseNumber;
  };

/** JSON with NaN and ±Infinity kept (a failed rule's maxdiff is NaN). */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(
    frame,
    (_k, v) => typeof v === "number" && !Number.isFinite(v) ? { $num: String(v) } : v,
  );
}

/** The inverse of {@link encodeFrame}. */
export function decodeFrame(text: string): Frame {
  return JSON.parse(
    text,
    (_k, v) =>
      typeof v === "object" && v !== null && typeof v.$num === "string" &&
        Object.keys(v).length === 1
        ? Number(v.$num)
        : v,
  );
}

/**
 * A check report as data: the engine's comparison (graph nodes, tensors) keeps only its
 * tolerances, and the first wrong and next nodes travel by name.
 */
export function encodeReport(report: CheckReport): unknown {
  return {
    ...report,
    comparison: { rtol: report.comparison.rtol, atol: report.comparison.atol },
    firstWrong: report.firstWrong?.name ?? null,
    nextToWrite: report.nextToWrite?.name ?? null,
  };
}

/** The inverse of {@link encodeReport}: the nodes are one array again, referred to by name. */
export function decodeReport(data: unknown): CheckReport {
  const r = data as Omit<CheckReport, "firstWrong" | "nextToWrite" | "comparison"> & {
    firstWrong: string | null;
    nextToWrite: string | null;
    comparison: { rtol: number; atol: number };
  };
  const find = (name: string | null): NodeVerdict | undefined =>
    name === null ? undefined : r.nodes.find((v) => v.name === name);
  return {
    ...r,
    comparison: { ...r.comparison, rows: [], firstDivergent: undefined },
    firstWrong: find(r.firstWrong),
    nextToWrite: find(r.nextToWrite),
  };
}
