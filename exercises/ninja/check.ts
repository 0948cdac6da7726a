/**
 * `ninja check`: a learner's exercise-1 rules against the engine, node by node. Every rule is fed
 * the correct upstream gradient (from the engine's automatic pass), so a wrong rule shows at its
 * own node and does not drag the nodes after it down; each rule is also compared on its own with
 * the reference rule, so a node fed by two lines says which of its two parts is wrong.
 * @module
 */
import { pathToFileURL } from "node:url";
import { shapeHint } from "../../graph/rules.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import {
  type FloatDType,
  formatShape,
  sameShape,
  type Shape,
  Tensor,
} from "../../ops/kernels/tensor.ts";
import { buildEx1, EX1_ROWS, type Ex1Model } from "../model/ex1.ts";
import {
  contributionName,
  EX1_LINE_NAMES,
  EX1_LINES,
  EX1_RULE_REFS,
  type Ex1Line,
  type Ex1Rules,
  installEx1Rules,
  linesUsing,
  ruleOf,
} from "../model/lines.ts";
import { lectureMinibatch, type MinibatchOptions } from "../model/minibatch.ts";
import { ex1Rules } from "../rules/ex1.ts";
import { NotWritten } from "./api.ts";

/** A node's verdict. */
export type NodeStatus = "ok" | "wrong" | "not written";

/** One row of the check: a node of the cmp table and what the learner's rules gave it. */
export interface NodeVerdict {
  name: string;
  status: NodeStatus;
  /** The node's shape. */
  shape: Shape;
  /** Bit-equal to the engine's gradient. */
  exact: boolean;
  /** Largest |yours − engine's| (NaN when a rule failed). */
  maxdiff: number;
  /** What is wrong or missing, in a line; for an ok node, "exact" or its maxdiff. */
  detail: string;
}

/** The whole check. */
export interface CheckReport {
  nodes: NodeVerdict[];
  /** The first wrong node in backward order. */
  firstWrong: NodeVerdict | undefined;
  /** The first node in backward order whose rules are not all written. */
  nextToWrite: NodeVerdict | undefined;
  counts: Record<NodeStatus, number>;
}

/** Options of {@link checkRules}. */
export interface CheckOptions extends MinibatchOptions {
  dtype?: FloatDType;
}

/** How one rule fared, recorded while the engine runs it. */
type RuleOutcome =
  | { kind: "returned"; exact: boolean; approximate: boolean; maxdiff: number }
  | { kind: "not written" }
  | { kind: "problem"; message: string };

/** Hints shown next to a node whose values are wrong: the lecture's usual slips there. */
const TIPS: Partial<Record<string, string>> = {
  logprobs: "the loss is a mean over n rows: each picked entry gets −1/n · dloss, the others 0",
  logits: "the max routes its gradient to each row's arg-max entry only (one_hot × dlogit_maxes)",
  bndiff2: "bnvar divides by n − 1 (Bessel's correction), not by n",
  hpreact: "tanh' = 1 − tanh², written with h itself",
  C: "letters repeat in Xb: add each demb[k, j] into dC[Xb[k, j]] (+=); assigning keeps only the last",
};

/** Loads a learner file's `rules` export; every failure is one line naming the file. */
export async function loadLearnerRules(path: string): Promise<unknown> {
  try {
    if ((await Deno.stat(path)).isDirectory) {
      throw new NinjagradError(`${path} is a directory: pass the backprop.ts inside it`);
    }
  } catch (e) {
    if (e instanceof NinjagradError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new NinjagradError(
        `${path} not found: create one with deno task ninja init DIR, then check DIR/backprop.ts`,
      );
    }
    throw new NinjagradError(`${path} cannot be read: ${firstLine(e)}`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (e) {
    throw new NinjagradError(`${path} does not load: ${firstLine(e)}`);
  }
  if (!("rules" in mod)) {
    throw new NinjagradError(
      `${path} exports no "rules": keep its line export const rules: Ex1Rules = { ... }`,
    );
  }
  return mod.rules;
}

/**
 * Checks a rule table's shape (lines and inputs) and returns it with every missing rule replaced
 * by one that throws `NotWritten`. Unknown lines or inputs, and rules that are not functions, are
 * one-line errors.
 */
export function completeRules(rules: unknown): Ex1Rules {
  if (typeof rules !== "object" || rules === null || Array.isArray(rules)) {
    throw new NinjagradError(
      `rules must be an object of lines ({ loss: { logprobs: ... }, ... }), got ${typeof rules}`,
    );
  }
  const table = rules as Record<string, unknown>;
  for (const line of Object.keys(table)) {
    if (!(line in EX1_LINES)) {
      throw new NinjagradError(
        `rules.${line} is not a line of exercise 1; the lines are ${EX1_LINE_NAMES.join(", ")}`,
      );
    }
    const entry = table[line];
    if (typeof entry !== "object" || entry === null) {
      throw new NinjagradError(`rules.${line} must be an object of rules by input`);
    }
    const inputs = EX1_LINES[line as Ex1Line].inputs as readonly string[];
    for (const [input, rule] of Object.entries(entry)) {
      if (!inputs.includes(input)) {
        throw new NinjagradError(
          `rules.${line}.${input}: ${EX1_LINES[line as Ex1Line].forward} has no input ${input}; ` +
            `its inputs are ${inputs.join(", ")}`,
        );
      }
      if (typeof rule !== "function") {
        throw new NinjagradError(`rules.${line}.${input} must be a function, got ${typeof rule}`);
      }
    }
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const { line, input } of EX1_RULE_REFS) {
    out[line] ??= {};
    out[line][input] = ruleOf(rules as Ex1Rules, line, input) ??
      (() => {
        throw new NotWritten(contributionName(line, input));
      });
  }
  return out as unknown as Ex1Rules;
}

/** Runs the learner's rules on one minibatch and judges every node of the cmp table. */
export async function checkRules(rules: unknown, options: CheckOptions = {}): Promise<CheckReport> {
  const table = completeRules(rules);
  const batch = await lectureMinibatch(options);
  const model = buildEx1(batch.params, batch.Xb, batch.Yb, { dtype: options.dtype ?? "float32" });
  return checkOnModel(model, table);
}

/** {@link checkRules} on a built exercise-1 model (atomic). */
export function checkOnModel(model: Ex1Model, table: Ex1Rules): CheckReport {
  const { graph } = model;
  const correct = graph.backward(model.loss, { overrides: false, notify: false });
  const outcomes = new Map<string, RuleOutcome>();
  const watched = {} as Record<string, Record<string, unknown>>;
  for (const { line, input } of EX1_RULE_REFS) {
    const mine = ruleOf(table, line, input)!;
    const reference = ruleOf(ex1Rules, line, input)!;
    const want = graph.node(input).shape;
    const key = `${line}.${input}`;
    watched[line] ??= {};
    watched[line][input] = (ctx: Record<string, Tensor | number>) => {
      // The learner gets copies: writing into a forward value or `g` must not spoil other rules.
      const copy: Record<string, Tensor | number> = {};
      for (const [k, v] of Object.entries(ctx)) copy[k] = v instanceof Tensor ? v.clone() : v;
      let result: unknown;
      try {
        result = mine(copy);
      } catch (e) {
        outcomes.set(
          key,
          e instanceof NotWritten
            ? { kind: "not written" }
            : { kind: "problem", message: `your rule threw ${firstLine(e)}` },
        );
        throw e;
      }
      outcomes.set(key, judge(result, reference(ctx), want, graph.dtype, line, input));
      return result;
    };
  }
  const undo = installEx1Rules(model, watched as unknown as Ex1Rules, { upstream: correct });
  let cmp;
  try {
    cmp = graph.compare(model.loss, { labels: EX1_ROWS });
  } finally {
    undo();
  }
  const nodes = cmp.rows.map((row): NodeVerdict => {
    const parts = linesUsing(row.name).map((line) => ({
      line,
      name: contributionName(line, row.name),
      outcome: outcomes.get(`${line}.${row.name}`) ?? { kind: "not written" as const },
    }));
    const base = { name: row.name, shape: row.shape, exact: row.exact, maxdiff: row.maxdiff };
    const problems = parts.filter((p) => p.outcome.kind === "problem");
    if (problems.length > 0) {
      const detail = problems.map((p) => (p.outcome as { message: string }).message).join("; ");
      return { ...base, status: "wrong", detail };
    }
    const missing = parts.filter((p) => p.outcome.kind === "not written");
    if (missing.length > 0) {
      const detail = missing.length === parts.length
        ? "not written yet"
        : `${missing.map((p) => p.name).join(", ")} not written yet`;
      return { ...base, status: "not written", detail };
    }
    if (row.approximate && row.shapeMatch && !row.error) {
      return { ...base, status: "ok", detail: row.exact ? "exact" : `maxdiff ${fmt(row.maxdiff)}` };
    }
    const wrong = parts.filter((p) => p.outcome.kind === "returned" && !p.outcome.approximate);
    const which = wrong.length > 0 && wrong.length < parts.length
      ? `${wrong.map((p) => p.name).join(", ")} is off: `
      : "";
    const tip = TIPS[row.name] ? `; ${TIPS[row.name]}` : "";
    return {
      ...base,
      status: "wrong",
      detail: `${which}maxdiff ${fmt(row.maxdiff)} from the engine's gradient${tip}`,
    };
  });
  const counts = { ok: 0, wrong: 0, "not written": 0 };
  for (const n of nodes) counts[n.status]++;
  return {
    nodes,
    firstWrong: nodes.find((n) => n.status === "wrong"),
    nextToWrite: nodes.find((n) => n.status === "not written"),
    counts,
  };
}

/** What a rule returned, judged against the reference rule's result for the same input. */
function judge(
  result: unknown,
  reference: Tensor,
  want: Shape,
  dtype: FloatDType,
  line: Ex1Line,
  input: string,
): RuleOutcome {
  const what = contributionName(line, input);
  const problem = (message: string): RuleOutcome => ({ kind: "problem", message });
  if (!(result instanceof Tensor)) {
    return problem(`${what} returned ${describe(result)}, not a Tensor`);
  }
  if (!sameShape(result.shape, want)) {
    return problem(
      `${what} has shape ${formatShape(result.shape)}, but ${input} is ${formatShape(want)}${
        transposed(result.shape, want) || shapeHint(result.shape, want)
      }`,
    );
  }
  if (result.dtype !== dtype) {
    return problem(
      `${what} is ${result.dtype} in a ${dtype} graph: make new tensors with the inputs' dtype ` +
        "(Tensor.zeros(shape, x.dtype))",
    );
  }
  const bad = result.data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) return problem(`${what} holds ${result.data[bad]} at flat index ${bad}`);
  let exact = true, approximate = true, maxdiff = 0;
  for (let i = 0; i < reference.size; i++) {
    const x = result.data[i], y = reference.data[i], d = Math.abs(x - y);
    if (x !== y) exact = false;
    if (!(d <= 1e-8 + 1e-5 * Math.abs(y))) approximate = false;
    maxdiff = Math.max(maxdiff, d);
  }
  return { kind: "returned", exact, approximate, maxdiff };
}

/** A hint for a 2-D gradient that has its input's shape the other way round. */
function transposed(have: Shape, want: Shape): string {
  if (have.length !== 2 || want.length !== 2 || have[0] === have[1]) return "";
  if (have[0] !== want[1] || have[1] !== want[0]) return "";
  return `: it is transposed; a matmul's gradient has the shape of its operand, so swap the ` +
    "operands or the transposes (dA = dOut @ Bᵀ, dB = Aᵀ @ dOut)";
}

/** The report as a table, with the first wrong node and what to write next. */
export function formatCheck(report: CheckReport): string {
  const nw = Math.max(...report.nodes.map((n) => n.name.length), 4);
  const lines = [
    `${"node".padEnd(nw)}  ${"status".padEnd(11)}  detail`,
    ...report.nodes.map((n) => `${n.name.padEnd(nw)}  ${n.status.padEnd(11)}  ${n.detail}`),
    "",
    `${report.counts.ok} ok, ${report.counts.wrong} wrong, ${
      report.counts["not written"]
    } not written (of ${report.nodes.length}).`,
  ];
  if (report.firstWrong) {
    lines.push(
      `first wrong node in backward order: ${report.firstWrong.name} (${
        linesUsing(report.firstWrong.name).map((l) => EX1_LINES[l].forward).join("; ")
      })`,
    );
  }
  if (report.nextToWrite) {
    lines.push(
      `next to write: ${report.nextToWrite.name} (${
        linesUsing(report.nextToWrite.name).map((l) => EX1_LINES[l].forward).join("; ")
      })`,
    );
  }
  if (!report.firstWrong && !report.nextToWrite) {
    lines.push("every gradient agrees with the engine's: you are a backprop ninja.");
  }
  return lines.join("\n");
}

function fmt(x: number): string {
  return x === 0 ? "0" : Number.isNaN(x) ? "n/a" : x.toExponential(1);
}

function firstLine(e: unknown): string {
  const text = e instanceof Error
    ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}`
    : String(e);
  return text.split("\n")[0];
}

function describe(x: unknown): string {
  if (x === undefined) return "nothing (a missing return?)";
  if (x === null) return "null";
  if (Array.isArray(x)) return "a plain array";
  return typeof x === "object" ? `a ${x.constructor?.name ?? "object"}` : `a ${typeof x}`;
}
