/**
 * `ninja check`: a learner's rules against the engine, node by node, for any of the four
 * exercises. Every rule is fed the correct upstream gradient (from the engine's automatic pass),
 * so a wrong rule shows at its own node and does not drag the nodes after it down; each rule is
 * also compared on its own with the reference rule on the same inputs, so a node fed by two lines
 * says which part is wrong, and the difference between the two results names the mistake
 * (`hints.ts`).
 * @module
 */
import type { Gradients } from "../../graph/backward.ts";
import type { Comparison } from "../../graph/compare.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import {
  type FloatDType,
  formatShape,
  sameShape,
  type Shape,
  Tensor,
} from "../../ops/kernels/tensor.ts";
import { installLineRules, linesOf, partName, ruleIn } from "../model/lines.ts";
import { NotWritten } from "./api.ts";
import {
  type CheckGraph,
  type CheckOptions,
  type ExerciseNumber,
  EXERCISES,
  type ExerciseSpec,
  ruleCount,
} from "./exercises.ts";
import {
  entriesHint,
  type Hint,
  matmulHint,
  type MistakeKind,
  shapeHint,
  type Term,
  transposed,
  valueHint,
} from "./hints.ts";
import { mutantHint } from "./mutants.ts";
import { errorLocation, firstLine, formatLocation, type SourceLocation } from "./source.ts";
import { RULE_TERMS } from "./terms.ts";

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
  /** The lines of the forward pass whose rules make this gradient. */
  forward: string;
  /** The mistake the hint names, as data (wrong nodes only). */
  mistake?: MistakeKind;
  /** The catalogue's name for it, when the hint comes from `mutants.ts` (`divide-by-classes`). */
  mutant?: string;
  /** Where in the learner's file its rule threw. */
  location?: SourceLocation;
  /** Whether the node's true gradient is zero (logit_maxes, b1). */
  zeroInTruth?: boolean;
}

/** The whole check. */
export interface CheckReport {
  exercise: ExerciseNumber;
  title: string;
  nodes: NodeVerdict[];
  /** The first wrong node in backward order. */
  firstWrong: NodeVerdict | undefined;
  /** The first node in backward order whose rules are not all written. */
  nextToWrite: NodeVerdict | undefined;
  counts: Record<NodeStatus, number>;
  /** The rules of the table, and how many of them are written. */
  rules: { total: number; written: number };
  /** The engine's comparison behind the verdicts (for charts). */
  comparison: Comparison;
  /**
   * The first wrong node's gradient from your rules and the engine's (for the charts' heatmap),
   * as plain arrays so that it crosses from the sandbox as JSON.
   */
  firstWrongGradients?: {
    name: string;
    shape: Shape;
    yours: number[];
    reference: number[];
  };
}

/** An exercise's graph, built once and checked against as many rule tables as needed. */
export interface CheckSession {
  spec: ExerciseSpec;
  net: CheckGraph;
  /** The engine's own gradients, made on first use. */
  correct?: Gradients;
}

/** Options of a check. */
export interface CheckRunOptions {
  /** The learner file's URL: a rule that throws is located in it. */
  file?: string;
}

/** How one rule fared, recorded while the engine runs it. */
type RuleOutcome =
  | { kind: "returned"; exact: boolean; approximate: boolean; hint?: Hint }
  | { kind: "not written" }
  | { kind: "problem"; hint: Hint; location?: SourceLocation };

/** Builds exercise `n`'s graph on one minibatch, ready for {@link checkOn}. */
export async function prepareCheck(
  n: ExerciseNumber,
  options: CheckOptions = {},
): Promise<CheckSession> {
  const spec = EXERCISES[n];
  return { spec, net: await spec.build(options) };
}

/** Builds exercise `exercise`'s graph (default 1) and checks `rules` on it. */
export async function checkRules(
  rules: unknown,
  options: CheckOptions & CheckRunOptions & { exercise?: ExerciseNumber } = {},
): Promise<CheckReport> {
  return checkOn(await prepareCheck(options.exercise ?? 1, options), rules, options);
}

/**
 * Checks a rule table's lines and inputs and returns it with every missing rule replaced by one
 * that throws `NotWritten`. Unknown lines or inputs, and rules that are not functions, are
 * one-line errors.
 */
export function completeRules(spec: ExerciseSpec, rules: unknown): object {
  const n = spec.exercise;
  if (typeof rules !== "object" || rules === null || Array.isArray(rules)) {
    throw new NinjagradError(
      `rules must be an object of lines ({ ${Object.keys(spec.lines)[0]}: { ... }, ... }), got ${
        rules === null ? "null" : typeof rules
      }`,
    );
  }
  const table = rules as Record<string, unknown>;
  for (const line of Object.keys(table)) {
    if (!(line in spec.lines)) {
      throw new NinjagradError(
        `rules.${line} is not a line of exercise ${n}; the lines are ${
          Object.keys(spec.lines).join(", ")
        }`,
      );
    }
    const entry = table[line];
    if (typeof entry !== "object" || entry === null) {
      throw new NinjagradError(`rules.${line} must be an object of rules by input`);
    }
    const { forward, inputs } = spec.lines[line];
    for (const [input, rule] of Object.entries(entry)) {
      if (!inputs.includes(input)) {
        throw new NinjagradError(
          `rules.${line}.${input}: in exercise ${n}, ${forward} takes rules for ${
            inputs.join(", ")
          }, not ${input}`,
        );
      }
      if (typeof rule !== "function") {
        throw new NinjagradError(`rules.${line}.${input} must be a function, got ${typeof rule}`);
      }
    }
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [line, { inputs }] of Object.entries(spec.lines)) {
    out[line] = {};
    for (const input of inputs) {
      out[line][input] = ruleIn(table, line, input) ?? (() => {
        throw new NotWritten(partName(spec.lines, line, input));
      });
    }
  }
  return out;
}

/** Runs the learner's rules on the session's graph and judges every node of the cmp table. */
export function checkOn(
  session: CheckSession,
  rules: unknown,
  options: CheckRunOptions = {},
): CheckReport {
  const { spec, net } = session;
  const { graph, loss, dtype } = net;
  const table = completeRules(spec, rules);
  const rtol = 1e-5, atol = spec.atol(dtype);
  const correct = session.correct ??= graph.backward(loss, { overrides: false, notify: false });
  const outcomes = new Map<string, RuleOutcome>();
  const results = new Map<string, unknown>();
  const watched: Record<string, Record<string, unknown>> = {};
  for (const [line, { inputs }] of Object.entries(spec.lines)) {
    watched[line] = {};
    for (const input of inputs) {
      const mine = ruleIn(table, line, input)!;
      const reference = ruleIn(spec.reference, line, input)!;
      const key = `${line}.${input}`;
      const judging: Judging = {
        what: partName(spec.lines, line, input),
        line,
        input,
        want: graph.node(input).shape,
        dtype,
        n: net.n,
        rtol,
        atol,
        terms: RULE_TERMS[key],
      };
      watched[line][input] = (ctx: Record<string, Tensor | number>) => {
        // The learner gets copies: a rule that writes into a forward value or `g` must not spoil
        // the other rules, and the copies tell that it did.
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
              : threw(e, judging, ctx, options.file),
          );
          throw e;
        }
        outcomes.set(key, judge(result, reference(ctx), judging, ctx, changed(copy, ctx)));
        results.set(key, result);
        return result;
      };
    }
  }
  const undo = installLineRules(graph, spec.lines, watched, {
    forward: spec.forward,
    n: net.n,
    upstream: correct,
  });
  let comparison: Comparison;
  try {
    comparison = graph.compare(loss, { labels: spec.rows, rtol, atol });
  } finally {
    undo();
  }
  const zeroTolerance = dtype === "float32" ? 1e-5 : 1e-12;
  const nodes = comparison.rows.map((row): NodeVerdict => {
    const lines = linesOf(spec.lines, row.name);
    const parts = lines.map((line) => ({
      line,
      name: partName(spec.lines, line, row.name),
      outcome: outcomes.get(`${line}.${row.name}`) ?? { kind: "not written" as const },
    }));
    const zeroWhy = spec.zeroInTruth[row.name];
    const base = {
      name: row.name,
      shape: row.shape,
      exact: row.exact,
      maxdiff: row.maxdiff,
      forward: lines.map((l) => spec.lines[l].forward).join("; "),
      ...(zeroWhy ? { zeroInTruth: true } : {}),
    };
    const problems = parts.flatMap((p) => (p.outcome.kind === "problem" ? [p.outcome] : []));
    if (problems.length > 0) {
      return {
        ...base,
        status: "wrong",
        detail: problems.map((p) => p.hint.text).join("; "),
        mistake: problems[0].hint.kind,
        ...(problems[0].hint.mutant ? { mutant: problems[0].hint.mutant } : {}),
        ...(problems[0].location ? { location: problems[0].location } : {}),
      };
    }
    const missing = parts.filter((p) => p.outcome.kind === "not written");
    if (missing.length > 0) {
      const detail = missing.length === parts.length
        ? "not written yet"
        : `${missing.map((p) => p.name).join(", ")} not written yet`;
      return { ...base, status: "not written", detail };
    }
    // A gradient that is zero in truth is judged against the size of what flows into it.
    let upstream = 0, upstreamName = "";
    for (const line of lines) {
      const g = correct.get(line);
      const size = g ? largest(g) : 0;
      if (size >= upstream) [upstream, upstreamName] = [size, `d${line}`];
    }
    const noise = zeroWhy !== undefined && row.maxdiff <= zeroTolerance * upstream;
    if ((row.approximate && row.shapeMatch && !row.error) || noise) {
      const detail = row.exact ? "exact" : `maxdiff ${fmt(row.maxdiff)}`;
      return {
        ...base,
        status: "ok",
        detail: zeroWhy && !row.exact
          ? `${detail}: zero in truth (${zeroWhy}); yours is rounding noise next to ` +
            `${upstreamName} (largest ${fmt(upstream)})`
          : detail,
      };
    }
    const returned = parts.flatMap((p) =>
      p.outcome.kind === "returned" ? [{ name: p.name, outcome: p.outcome }] : []
    );
    const wrong = returned.filter((p) => !p.outcome.approximate);
    const right = returned.filter((p) => p.outcome.approximate);
    const hints = wrong.map((p) => p.outcome.hint!);
    const zeroNote = zeroWhy
      ? `zero in truth (${zeroWhy}), but yours is ${fmt(row.maxdiff)} off, not rounding noise ` +
        `next to ${upstreamName} (largest ${fmt(upstream)}): `
      : "";
    const tip = spec.tips[row.name];
    const unclear = hints.length === 0 || hints.every((h) => h.kind === "entries");
    const detail = zeroNote +
      (hints.length > 0
        ? hints.map((h) => h.text).join("; ")
        : `maxdiff ${fmt(row.maxdiff)} from the engine's gradient`) +
      (wrong.length > 0 && right.length > 0
        ? ` (${right.map((p) => p.name).join(", ")} is right)`
        : "") +
      (unclear && tip ? `; ${tip}` : "");
    return {
      ...base,
      status: "wrong",
      detail,
      ...(zeroWhy
        ? { mistake: "zero in truth" as const }
        : hints[0]
        ? { mistake: hints[0].kind }
        : {}),
      ...(hints[0]?.mutant ? { mutant: hints[0].mutant } : {}),
    };
  });
  const counts = { ok: 0, wrong: 0, "not written": 0 };
  for (const v of nodes) counts[v.status]++;
  const total = ruleCount(spec);
  const written = [...outcomes.values()].filter((o) => o.kind !== "not written").length;
  const firstWrong = nodes.find((v) => v.status === "wrong");
  return {
    exercise: spec.exercise,
    title: spec.title,
    nodes,
    firstWrong,
    firstWrongGradients: firstWrong && gradientsOf(firstWrong, spec, results, correct),
    nextToWrite: nodes.find((v) => v.status === "not written"),
    counts,
    rules: { total, written },
    comparison,
  };
}

/**
 * A node's gradient as the learner's rules made it (the sum of what each line that reads it
 * returned) beside the engine's; undefined when a rule threw or returned the wrong shape.
 */
function gradientsOf(
  v: NodeVerdict,
  spec: ExerciseSpec,
  results: ReadonlyMap<string, unknown>,
  correct: Gradients,
): CheckReport["firstWrongGradients"] {
  const reference = correct.get(v.name);
  if (!reference) return undefined;
  const yours = new Float64Array(reference.data.length);
  for (const line of linesOf(spec.lines, v.name)) {
    const r = results.get(`${line}.${v.name}`);
    if (!(r instanceof Tensor) || r.data.length !== reference.data.length) return undefined;
    for (let i = 0; i < yours.length; i++) yours[i] += r.data[i];
  }
  return {
    name: v.name,
    shape: [...v.shape],
    yours: Array.from(yours),
    reference: Array.from(reference.data),
  };
}

/** What a rule's result is judged by. */
interface Judging {
  /** `dcounts (from probs)`. */
  what: string;
  line: string;
  input: string;
  want: Shape;
  dtype: FloatDType;
  n: number;
  rtol: number;
  atol: number;
  terms?: (values: Readonly<Record<string, Tensor | number>>) => Term[];
}

/** A rule that threw: where in the learner's file, and, for a matmul, which transpose fixes it. */
function threw(
  e: unknown,
  j: Judging,
  values: Readonly<Record<string, unknown>>,
  file: string | undefined,
): RuleOutcome {
  const location = file ? errorLocation(e, file) : undefined;
  const at = location ? ` (${formatLocation(location).split("/").pop()})` : "";
  const message = firstLine(e);
  const fix = matmulHint(message, j.want, values, `d${j.line}`);
  const text = `${j.what}: your rule threw ${message}${at}${fix ? `; ${fix.text}` : ""}`;
  return {
    kind: "problem",
    hint: { kind: fix ? "matmul" : "threw", text },
    ...(location ? { location } : {}),
  };
}

/** The names of the tensors a rule wrote into (its copies differ from the originals). */
function changed(
  copy: Readonly<Record<string, Tensor | number>>,
  original: Readonly<Record<string, Tensor | number>>,
): string[] {
  const names: string[] = [];
  for (const [k, v] of Object.entries(copy)) {
    const o = original[k];
    if (k === "g" || !(v instanceof Tensor) || !(o instanceof Tensor)) continue;
    if (v.data.some((x, i) => !Object.is(x, o.data[i]))) names.push(k);
  }
  return names;
}

/** What a rule returned, judged against the reference rule's result on the same inputs. */
function judge(
  result: unknown,
  reference: Tensor,
  j: Judging,
  values: Readonly<Record<string, Tensor | number>>,
  wrote: string[],
): RuleOutcome {
  const problem = (kind: MistakeKind, text: string, mutant?: string): RuleOutcome => ({
    kind: "problem",
    hint: { kind, text, ...(mutant ? { mutant } : {}) },
  });
  const named = (mine: Tensor) =>
    mutantHint(mine, reference, values, {
      key: `${j.line}.${j.input}`,
      what: j.what,
      dtype: j.dtype,
      n: j.n,
    });
  if (!(result instanceof Tensor)) {
    return problem("not a tensor", `${j.what} returned ${describe(result)}, not a Tensor`);
  }
  if (!sameShape(result.shape, j.want)) {
    const mutant = named(result);
    if (mutant) {
      const shapes = `${j.what} has shape ${formatShape(result.shape)}, but ${j.input} is ` +
        formatShape(j.want);
      return problem(mutant.kind, `${shapes}: ${mutant.text}`, mutant.mutant);
    }
    const advice = shapeHint(result, j.want, (fixed) => close(fixed, reference, j));
    const flipped = advice.kind === "transpose" && close(transposed(result), reference, j);
    const text = flipped
      ? "it is the right gradient, transposed: a matmul's gradient has the shape of its " +
        "operand, so swap the operands or the transposes (dA = dOut @ Bᵀ, dB = Aᵀ @ dOut)"
      : advice.text;
    return problem(
      advice.kind,
      `${j.what} has shape ${formatShape(result.shape)}, but ${j.input} is ${
        formatShape(j.want)
      }: ${text}`,
    );
  }
  if (result.dtype !== j.dtype) {
    return problem(
      "dtype",
      `${j.what} is ${result.dtype} in a ${j.dtype} graph: make new tensors with the inputs' ` +
        "dtype (Tensor.zeros(shape, x.dtype))",
    );
  }
  const bad = result.data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    return problem("not finite", `${j.what} holds ${result.data[bad]} at flat index ${bad}`);
  }
  if (wrote.length > 0) {
    return problem(
      "wrote into input",
      `${j.what}'s rule wrote into ${wrote.join(", ")}: the forward values and d${j.line} are ` +
        `shared with the other rules; compute into a new tensor (${wrote[0]}.clone() first)`,
    );
  }
  let exact = true;
  for (let i = 0; i < reference.size; i++) {
    if (result.data[i] !== reference.data[i]) exact = false;
  }
  const approximate = close(result, reference, j);
  if (approximate) return { kind: "returned", exact, approximate };
  const g = values.g as Tensor;
  const hint = named(result) ?? valueHint(result, reference, {
    n: j.n,
    what: j.what,
    upstream: { name: `d${j.line}`, value: g },
    terms: j.terms?.(values),
  }) ?? entriesHint(result, reference, j.what, j.atol, j.rtol);
  return { kind: "returned", exact, approximate, hint };
}

/** allclose with the check's tolerances. */
function close(a: Tensor, b: Tensor, j: Judging): boolean {
  for (let i = 0; i < b.size; i++) {
    if (!(Math.abs(a.data[i] - b.data[i]) <= j.atol + j.rtol * Math.abs(b.data[i]))) return false;
  }
  return true;
}

function largest(t: Tensor): number {
  let m = 0;
  for (let i = 0; i < t.size; i++) m = Math.max(m, Math.abs(t.data[i]));
  return m;
}

function fmt(x: number): string {
  return x === 0 ? "0" : Number.isNaN(x) ? "n/a" : x.toExponential(1);
}

function describe(x: unknown): string {
  if (x === undefined) return "nothing (a missing return?)";
  if (x === null) return "null";
  if (Array.isArray(x)) return "a plain array";
  return typeof x === "object" ? `a ${x.constructor?.name ?? "object"}` : `a ${typeof x}`;
}
