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
import { Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";

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
  return JSON.stringify(frame, (k, v) => {
    if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
    return withoutGraph(k, v);
  });
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
 * A check report as data: the engine's graph nodes and tensors in it (the comparison's rows and
 * blame hold them) are left out, and the first wrong and next nodes travel by name.
 */
export function encodeReport(report: CheckReport): unknown {
  const plain = JSON.parse(
    encodeFrame({ t: "report", report: { ...report, firstWrong: null, nextToWrite: null } }),
    (_k, v) => v,
  ).report;
  return {
    ...plain,
    firstWrong: report.firstWrong?.name ?? null,
    nextToWrite: report.nextToWrite?.name ?? null,
  };
}

/** JSON that leaves out graph nodes and tensors (a comparison row's `node`, a blame's). */
function withoutGraph(_k: string, v: unknown): unknown {
  return v instanceof Node || v instanceof Tensor ? undefined : v;
}

/**
 * The inverse of {@link encodeReport}: the nodes are one array again, referred to by name. The
 * comparison keeps its data, less its graph nodes.
 */
export function decodeReport(data: unknown): CheckReport {
  const r = data as Omit<CheckReport, "firstWrong" | "nextToWrite"> & {
    firstWrong: string | null;
    nextToWrite: string | null;
  };
  const find = (name: string | null): NodeVerdict | undefined =>
    name === null ? undefined : r.nodes.find((v) => v.name === name);
  return { ...r, firstWrong: find(r.firstWrong), nextToWrite: find(r.nextToWrite) };
}
