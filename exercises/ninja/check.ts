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
import {
  type Comparison,
  EPSILON,
  NOISE_FRACTION,
  ROUNDING_FACTOR,
  SEED_SCALES,
} from "../../graph/compare.ts";
import { seededRandom } from "../../ops/kernels/random.ts";
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
  /** maxdiff over the engine's gradient's largest entry. */
  relerr: number;
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
  /**
   * Whether the node's true gradient is zero (logit_maxes, b1): the engine's gradient does not
   * scale with its seed. Its rules are then judged on random upstream gradients.
   */
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
  /**
   * A second minibatch, judged after the first: a rule that keeps something from an earlier call
   * (a one-hot built once) is right on the first and wrong here.
   */
  second?: { net: CheckGraph; correct?: Gradients };
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

/** Builds exercise `n`'s graph on two minibatches, ready for {@link checkOn}. */
export async function prepareCheck(
  n: ExerciseNumber,
  options: CheckOptions = {},
): Promise<CheckSession> {
  const spec = EXERCISES[n];
  return {
    spec,
    net: await spec.build(options),
    second: { net: await spec.build({ ...options, second: true }) },
  };
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

/**
 * Runs the learner's rules on the session's graph and judges every node of the cmp table: each
 * rule on the true upstream gradient and on random ones (a rule is linear in it), then the whole
 * table again on the second minibatch, where there is one.
 */
export function checkOn(
  session: CheckSession,
  rules: unknown,
  options: CheckRunOptions = {},
): CheckReport {
  const table = completeRules(session.spec, rules);
  const first = checkNet(session.spec, session, table, options);
  if (!session.second) return first;
  const again = checkNet(session.spec, session.second, table, options);
  const nodes = first.nodes.map((v, i): NodeVerdict => {
    const w = again.nodes[i];
    if (v.status !== "ok" || w.status !== "wrong") return v;
    return {
      ...w,
      detail: "right on the first minibatch, wrong on a second: does your rule keep something " +
        `from an earlier call (a one-hot built once, a cached value)? On the second: ${w.detail}`,
      mistake: "state",
    };
  });
  const report = summarise(session.spec, nodes, first.rules, first.comparison);
  // The first wrong node's gradients from the minibatch it was found wrong on.
  const name = report.firstWrong?.name;
  const from = [first, again].find((r) => name !== undefined && r.firstWrong?.name === name);
  return from?.firstWrongGradients
    ? { ...report, firstWrongGradients: from.firstWrongGradients }
    : report;
}

/** The report of `nodes`: counts, the first wrong node, the next to write. */
function summarise(
  spec: ExerciseSpec,
  nodes: NodeVerdict[],
  rules: CheckReport["rules"],
  comparison: Comparison,
): CheckReport {
  const counts = { ok: 0, wrong: 0, "not written": 0 };
  for (const v of nodes) counts[v.status]++;
  return {
    exercise: spec.exercise,
    title: spec.title,
    nodes,
    firstWrong: nodes.find((v) => v.status === "wrong"),
    nextToWrite: nodes.find((v) => v.status === "not written"),
    counts,
    rules,
    comparison,
  };
}

/** {@link checkOn} on one minibatch. */
function checkNet(
  spec: ExerciseSpec,
  at: { net: CheckGraph; correct?: Gradients },
  table: object,
  options: CheckRunOptions,
): CheckReport {
  const { graph, loss, dtype } = at.net;
  const net = at.net;
  const correct = at.correct ??= graph.backward(loss, { overrides: false, notify: false });
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
        terms: RULE_TERMS[key],
        seed: hashOf(key),
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
        outcomes.set(key, judge(result, { mine, reference }, judging, ctx, changed(copy, ctx)));
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
    // The rules here read the engine's upstream gradient, not the one passed: their probes are judge's.
    comparison = graph.compare(loss, { labels: spec.rows, probes: 0 });
  } finally {
    undo();
  }
  const nodes = comparison.rows.map((row): NodeVerdict => {
    const lines = linesOf(spec.lines, row.name);
    const parts = lines.map((line) => ({
      line,
      name: partName(spec.lines, line, row.name),
      outcome: outcomes.get(`${line}.${row.name}`) ?? { kind: "not written" as const },
    }));
    // Zero in truth is what the engine's gradient shows when its seed is scaled (it does not
    // scale: rounding noise), never a guess from its size; the exercise says why.
    const zeroWhy = row.zeroInTruth
      ? spec.zeroInTruth[row.name] ?? "the loss does not depend on it"
      : undefined;
    const base = {
      name: row.name,
      shape: row.shape,
      exact: row.exact,
      maxdiff: row.maxdiff,
      relerr: row.relerr,
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
    const returned = parts.flatMap((p) =>
      p.outcome.kind === "returned" ? [{ name: p.name, outcome: p.outcome }] : []
    );
    const wrong = returned.filter((p) => !p.outcome.approximate);
    const right = returned.filter((p) => p.outcome.approximate);
    if (row.approximate && row.shapeMatch && !row.error && wrong.length === 0) {
      const detail = row.exact
        ? "exact"
        : `maxdiff ${fmt(row.maxdiff)} (relative ${fmt(row.relerr)})`;
      return {
        ...base,
        status: "ok",
        detail: zeroWhy
          ? `${detail}: zero in truth (${zeroWhy}); both sides are rounding noise, so your ` +
            "rule was also judged on random upstream gradients, and agrees there"
          : detail,
      };
    }
    const hints = wrong.map((p) => p.outcome.hint!);
    const tip = spec.tips[row.name];
    const unclear = hints.length === 0 || hints.every((h) => h.kind === "entries");
    // Zero in truth: a rule that agrees on the true gradient (both noise) and fails only on the
    // random ones does no harm to training; one that is off on the true gradient sends its error on.
    const zeroNote = !zeroWhy
      ? ""
      : row.approximate
      ? `its true gradient is zero (${zeroWhy}), so training does not feel this, but the rule ` +
        "is wrong: "
      : `zero in truth (${zeroWhy}), but yours is ${fmt(row.maxdiff)} off on this minibatch, ` +
        "where the engine's is rounding noise: ";
    const detail = zeroNote +
      (hints.length > 0
        ? hints.map((h) => h.text).join("; ")
        : `maxdiff ${fmt(row.maxdiff)} (relative ${fmt(row.relerr)}) from the engine's gradient`) +
      (wrong.length > 0 && right.length > 0
        ? ` (${right.map((p) => p.name).join(", ")} is right)`
        : "") +
      (unclear && tip ? `; ${tip}` : "");
    return {
      ...base,
      status: "wrong",
      detail,
      ...(zeroWhy && !row.approximate
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
  terms?: (values: Readonly<Record<string, Tensor | number>>) => Term[];
  /** Seeds the random upstream gradients of this rule's probes. */
  seed: number;
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

/** A rule as the installer calls it. */
type LooseRule = (ctx: Record<string, Tensor | number>) => unknown;

/** Random upstream gradients each rule is also judged on (besides the true one). */
const PROBES = 2;

/**
 * What a rule returned, judged against the reference rule's result on the same inputs; then,
 * where it agrees, both rules fed random upstream gradients of the same shape and size (a rule is
 * linear in its upstream gradient, so it must agree on any, even where the true one gives zero).
 */
function judge(
  result: unknown,
  rules: { mine: LooseRule; reference: LooseRule },
  j: Judging,
  values: Readonly<Record<string, Tensor | number>>,
  wrote: string[],
): RuleOutcome {
  const reference = rules.reference(values) as Tensor;
  const problem = (kind: MistakeKind, text: string, mutant?: string): RuleOutcome => ({
    kind: "problem",
    hint: { kind, text, ...(mutant ? { mutant } : {}) },
  });
  const named = (mine: Tensor, want = reference, at = values) =>
    mutantHint(mine, want, at, {
      key: `${j.line}.${j.input}`,
      what: j.what,
      dtype: j.dtype,
      n: j.n,
    });
  if (!(result instanceof Tensor)) {
    return problem("not a tensor", `${j.what} returned ${describe(result)}, not a Tensor`);
  }
  const tolerance = roundingTolerance(rules.reference, values, reference, j);
  if (!sameShape(result.shape, j.want)) {
    const mutant = named(result);
    if (mutant) {
      const shapes = `${j.what} has shape ${formatShape(result.shape)}, but ${j.input} is ` +
        formatShape(j.want);
      return problem(mutant.kind, `${shapes}: ${mutant.text}`, mutant.mutant);
    }
    const advice = shapeHint(result, j.want, (fixed) => close(fixed, reference, tolerance));
    const flipped = advice.kind === "transpose" &&
      close(transposed(result), reference, tolerance);
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
  const hintFor = (mine: Tensor, want: Tensor, at: typeof values, tol: number) =>
    named(mine, want, at) ?? valueHint(mine, want, {
      n: j.n,
      what: j.what,
      upstream: { name: `d${j.line}`, value: at.g as Tensor },
      terms: j.terms?.(at),
    }) ?? entriesHint(mine, want, j.what, tol, 0);
  if (!close(result, reference, tolerance)) {
    return {
      kind: "returned",
      exact,
      approximate: false,
      hint: hintFor(result, reference, values, tolerance),
    };
  }
  const probed = probe(rules, j, values);
  if (probed) {
    const { mine, want, at, tol } = probed;
    const says = `${j.what} agrees on this minibatch's d${j.line}, but not on a random one ` +
      `(a rule is linear in d${j.line}, so it must agree on any)`;
    if (!(mine instanceof Tensor) || !sameShape(mine.shape, want.shape)) {
      return problem("not linear", `${says}: it returned ${describe(mine)} there`);
    }
    const hint = hintFor(mine, want, at, tol);
    return {
      kind: "returned",
      exact: false,
      approximate: false,
      hint: { ...hint, text: `${says}: there, ${hint.text}` },
    };
  }
  return { kind: "returned", exact, approximate: true };
}

/**
 * Feeds both rules random upstream gradients (seeded, of the true one's shape and largest size)
 * and returns the first on which they differ, if any. A rule that throws there returns the error.
 */
function probe(
  rules: { mine: LooseRule; reference: LooseRule },
  j: Judging,
  values: Readonly<Record<string, Tensor | number>>,
): { mine: unknown; want: Tensor; at: Record<string, Tensor | number>; tol: number } | undefined {
  const g = values.g as Tensor;
  const size = largest(g) || 1;
  const random = seededRandom(j.seed);
  for (let k = 0; k < PROBES; k++) {
    const p = Tensor.zeros(g.shape, j.dtype);
    for (let i = 0; i < p.size; i++) p.data[i] = size * (2 * random() - 1);
    const at: Record<string, Tensor | number> = { ...values, g: p, [`d${j.line}`]: p };
    const copy: Record<string, Tensor | number> = {};
    for (const [key, v] of Object.entries(at)) copy[key] = v instanceof Tensor ? v.clone() : v;
    let mine: unknown;
    try {
      mine = rules.mine(copy);
    } catch (e) {
      mine = e;
    }
    const want = rules.reference(at) as Tensor;
    const tol = roundingTolerance(rules.reference, at, want, j);
    if (
      !(mine instanceof Tensor) || !sameShape(mine.shape, want.shape) || !close(mine, want, tol)
    ) {
      return { mine, want, at, tol };
    }
  }
  return undefined;
}

/**
 * How far a correct rule may be from the reference: as graph.compare judges a node, the reference
 * rule's own rounding (its result on the upstream gradient scaled, scaled back) and the
 * gradient's largest entry's, times ROUNDING_FACTOR.
 */
function roundingTolerance(
  reference: LooseRule,
  values: Readonly<Record<string, Tensor | number>>,
  want: Tensor,
  j: Judging,
): number {
  const g = values.g as Tensor;
  let noise = 0;
  for (const c of SEED_SCALES) {
    const gc = Tensor.zeros(g.shape, j.dtype);
    for (let i = 0; i < g.size; i++) gc.data[i] = g.data[i] * c;
    const r = reference({ ...values, g: gc, [`d${j.line}`]: gc }) as Tensor;
    for (let i = 0; i < want.size; i++) {
      noise = Math.max(noise, Math.abs(r.data[i] / c - want.data[i]));
    }
  }
  // A result that is all rounding noise (a zero-in-truth gradient) is itself a sample of it.
  const scale = largest(want);
  return ROUNDING_FACTOR *
    (noise > NOISE_FRACTION * scale ? Math.max(noise, scale) : noise + EPSILON[j.dtype] * scale);
}

/** |a − b| ≤ tolerance everywhere. */
function close(a: Tensor, b: Tensor, tolerance: number): boolean {
  for (let i = 0; i < b.size; i++) {
    if (!(Math.abs(a.data[i] - b.data[i]) <= tolerance)) return false;
  }
  return true;
}

/** A number from a rule's name, to seed its probes (the same every run). */
function hashOf(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h >>> 0;
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
