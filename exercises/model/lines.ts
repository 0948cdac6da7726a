/**
 * Exercise 1 as the lecture writes it: one line of the forward pass after another, and for each
 * line a hand-written rule per input. This file holds the table of lines, the type of a rule table
 * (what `exercises/rules/ex1.ts` and a learner's file export), and the plumbing that installs such
 * a table on the graph as per-node overrides.
 *
 * A rule for the line `probs = counts * counts_sum_inv` and its input `counts_sum_inv` receives
 * the line's upstream gradient as `dprobs` (also `g`) and every forward value by its lecture name,
 * and returns that input's contribution, `dcounts_sum_inv`. A value that two lines use (counts,
 * logits, bndiff, hprebn) gets one contribution from each, and the engine adds them up.
 * @module
 */
import type { Gradients } from "../../graph/backward.ts";
import { automaticRule } from "../../graph/rules.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import type { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";
import type { Tensor } from "../../ops/kernels/tensor.ts";
import type { AnyRule } from "../../graph/op.ts";
import {
  EX1_PARAMS,
  EX1_VALUES,
  type Ex1Model,
  type Ex1ParamName,
  type Ex1ValueName,
} from "./ex1.ts";

/** The lines of the forward pass in backward order (the lecture's), each with its inputs. */
export const EX1_LINES = {
  loss: { forward: "loss = -logprobs[range(n), Yb].mean()", inputs: ["logprobs"] },
  logprobs: { forward: "logprobs = probs.log()", inputs: ["probs"] },
  probs: { forward: "probs = counts * counts_sum_inv", inputs: ["counts", "counts_sum_inv"] },
  counts_sum_inv: { forward: "counts_sum_inv = counts_sum**-1", inputs: ["counts_sum"] },
  counts_sum: { forward: "counts_sum = counts.sum(1, keepdim=True)", inputs: ["counts"] },
  counts: { forward: "counts = norm_logits.exp()", inputs: ["norm_logits"] },
  norm_logits: { forward: "norm_logits = logits - logit_maxes", inputs: ["logits", "logit_maxes"] },
  logit_maxes: { forward: "logit_maxes = logits.max(1, keepdim=True).values", inputs: ["logits"] },
  logits: { forward: "logits = h @ W2 + b2", inputs: ["h", "W2", "b2"] },
  h: { forward: "h = torch.tanh(hpreact)", inputs: ["hpreact"] },
  hpreact: { forward: "hpreact = bngain * bnraw + bnbias", inputs: ["bngain", "bnraw", "bnbias"] },
  bnraw: { forward: "bnraw = bndiff * bnvar_inv", inputs: ["bndiff", "bnvar_inv"] },
  bnvar_inv: { forward: "bnvar_inv = (bnvar + 1e-5)**-0.5", inputs: ["bnvar"] },
  bnvar: { forward: "bnvar = 1/(n-1) * bndiff2.sum(0, keepdim=True)", inputs: ["bndiff2"] },
  bndiff2: { forward: "bndiff2 = bndiff**2", inputs: ["bndiff"] },
  bndiff: { forward: "bndiff = hprebn - bnmeani", inputs: ["hprebn", "bnmeani"] },
  bnmeani: { forward: "bnmeani = 1/n * hprebn.sum(0, keepdim=True)", inputs: ["hprebn"] },
  hprebn: { forward: "hprebn = embcat @ W1 + b1", inputs: ["embcat", "W1", "b1"] },
  embcat: { forward: "embcat = emb.view(emb.shape[0], -1)", inputs: ["emb"] },
  emb: { forward: "emb = C[Xb]", inputs: ["C"] },
} as const;

/** A line of the forward pass, named for the value it computes. */
export type Ex1Line = keyof typeof EX1_LINES;
/** The inputs of a line, by their lecture names. */
export type Ex1LineInput<L extends Ex1Line> = (typeof EX1_LINES)[L]["inputs"][number];

/** The lines in backward order. */
export const EX1_LINE_NAMES = Object.keys(EX1_LINES) as Ex1Line[];

/** Every forward value by its lecture name, the minibatch, and n (the batch size). */
export type Ex1Forward =
  & { readonly [K in Ex1ValueName | Ex1ParamName | "loss" | "Xb" | "Yb"]: Tensor }
  & { readonly n: number };

/** What the rules of line `L` receive: the forward values and `d<L>` (= `g`), its upstream gradient. */
export type Ex1RuleContext<L extends Ex1Line> =
  & Ex1Forward
  & { readonly g: Tensor }
  & { readonly [K in L as `d${K}`]: Tensor };

/** One rule: the gradient contribution that line `L` sends to one of its inputs. */
export type Ex1Rule<L extends Ex1Line> = (ctx: Ex1RuleContext<L>) => Tensor;

/** A rule per line and input: the whole hand-written backward pass of exercise 1. */
export type Ex1Rules = {
  readonly [L in Ex1Line]: { readonly [X in Ex1LineInput<L>]: Ex1Rule<L> };
};

/** One (line, input) pair: a rule of the table. */
export interface Ex1RuleRef {
  line: Ex1Line;
  input: string;
}

/** Every rule of the table, in backward order (30: four values feed two lines each). */
export const EX1_RULE_REFS: readonly Ex1RuleRef[] = EX1_LINE_NAMES.flatMap((line) =>
  EX1_LINES[line].inputs.map((input) => ({ line, input }))
);

/** The lines that use `value`, in backward order. */
export function linesUsing(value: string): Ex1Line[] {
  return linesOf(EX1_LINES, value) as Ex1Line[];
}

/** A rule as the installer calls it: any line's context. */
type LooseRule = (ctx: Record<string, Tensor | number>) => Tensor;

/** Looks up the rule of (line, input) in a table, loosely typed. */
export function ruleOf(rules: Ex1Rules, line: Ex1Line, input: string): LooseRule | undefined {
  return ruleIn(rules, line, input);
}

/** Options of {@link installEx1Rules}. */
export interface InstallOptions {
  /**
   * Feed every rule the upstream gradient from these (correct) gradients instead of the one
   * flowing in the pass: each rule is then judged on its own, whatever the rules after it did.
   */
  upstream?: Gradients;
}

/** The forward values every exercise-1 rule receives, by label (and `n`). */
export const EX1_FORWARD: ForwardSpec = {
  nodes: [...EX1_VALUES, "loss", ...EX1_PARAMS, "Xb", "Yb"],
};

/**
 * Installs a rule table as overrides on the exercise-1 graph and returns a function that removes
 * them. See {@link installLineRules}.
 */
export function installEx1Rules(
  model: Ex1Model,
  rules: Ex1Rules,
  options: InstallOptions = {},
): () => void {
  if (model.fuse !== "none") {
    throw new NinjagradError("the exercise-1 rules need the atomic net (build it with fuse none)");
  }
  return installLineRules(model.graph, EX1_LINES, rules, {
    forward: EX1_FORWARD,
    n: model.sizes.batch,
    upstream: options.upstream,
  });
}

/** A line of an exercise's forward pass: its text, and the inputs that take a hand-written rule. */
export interface LineSpec {
  /** The line as the lecture writes it (`probs = counts * counts_sum_inv`). */
  readonly forward: string;
  /** The labels of its inputs that take a hand-written rule, in the lecture's order. */
  readonly inputs: readonly string[];
}

/** An exercise's lines in backward order, by the label of the value each one computes. */
export type LineTable = Readonly<Record<string, LineSpec>>;

/**
 * The forward values a rule receives, besides `g`, `d<line>` and `n`: node values by label, and
 * values that a composite node's forward saved (`saved.hpreact: ["bnraw"]` passes `bnraw`).
 */
export interface ForwardSpec {
  readonly nodes: readonly string[];
  readonly saved?: Readonly<Record<string, readonly string[]>>;
}

/** Options of {@link installLineRules}. */
export interface LineInstallOptions extends InstallOptions {
  /** What each rule receives. */
  forward: ForwardSpec;
  /** The batch size, passed as `n`. */
  n: number;
}

/** The lines of `lines` that use `value`, in backward order. */
export function linesOf(lines: LineTable, value: string): string[] {
  return Object.keys(lines).filter((l) => lines[l].inputs.includes(value));
}

/** The rule of (line, input) in a table of any exercise, if it is a function. */
export function ruleIn(rules: object, line: string, input: string): LooseRule | undefined {
  const table = (rules as Record<string, unknown>)[line] as Record<string, unknown> | undefined;
  const rule = typeof table === "object" && table !== null ? table[input] : undefined;
  return typeof rule === "function" ? rule as LooseRule : undefined;
}

/**
 * Installs a rule table (`rules.<line>.<input>`) as overrides on `graph` and returns a function
 * that removes them. Where a line is several engine nodes (`h @ W2 + b2` is a matmul and an add),
 * each rule goes on the node that takes its input, and the unlabelled node between them passes
 * the gradient on with its op's own rule; the line's upstream gradient is read where it arrives.
 * An input that the line does not list (batchnorm's gain in exercise 3) keeps its automatic rule.
 */
export function installLineRules(
  graph: Graph,
  lines: LineTable,
  rules: object,
  options: LineInstallOptions,
): () => void {
  const named = options.forward.nodes.map((l) => [l, graph.node(l)] as const);
  const saved = Object.entries(options.forward.saved ?? {}).map(([l, names]) =>
    [graph.node(l), names] as const
  );
  // One context per line, refilled in place on every call: a training step makes no garbage.
  const fill = (ctx: Record<string, Tensor | number>) => {
    for (const [label, node] of named) ctx[label] = node.value;
    for (const [node, names] of saved) {
      const values = node.saved as Record<string, Tensor>;
      for (const name of names) ctx[name] = values[name];
    }
  };
  // Every table is built before any is installed, so a missing rule leaves the graph as it was.
  const tables: [Node, Record<string, AnyRule>][] = [];
  for (const line of Object.keys(lines)) {
    const out = graph.node(line);
    const ctx: Record<string, Tensor | number> = { n: options.n };
    const grad = `d${line}`;
    let arrived: Tensor | undefined; // the line's upstream gradient in the pass running now
    const upstream = (): Tensor => {
      const g = options.upstream ? options.upstream.get(out) : arrived;
      if (!g) throw new NinjagradError(`no upstream gradient reached ${line}`);
      return g;
    };
    for (const node of lineNodes(out)) {
      const table: Record<string, AnyRule> = {};
      const op = node.op!;
      op.inputs.forEach((name, i) => {
        const x = node.inputs[i];
        if (op.nondiff.includes(name) || !x.requiresGrad) return;
        let rule: AnyRule;
        if (isInner(x) || !lines[line].inputs.includes(x.label!)) {
          rule = automaticRule(node, name); // glue inside the line, not one of the lecture's rules
        } else {
          const input = x.label!;
          const handWritten = ruleIn(rules, line, input);
          if (!handWritten) {
            throw new NinjagradError(
              `the rule table has no function for line ${line}, input ${input}: add ${line}: { ${input}: ... }`,
            );
          }
          rule = () => {
            const g = upstream();
            fill(ctx);
            ctx.g = g;
            ctx[grad] = g;
            return handWritten(ctx);
          };
        }
        table[name] = node === out
          ? (args) => {
            arrived = args.g;
            return rule(args);
          }
          : rule;
      });
      tables.push([node, table]);
    }
  }
  const undo = tables.map(([node, table]) => graph.override(node, table));
  return () => undo.forEach((u) => u());
}

/** An unlabelled op node: a step inside a line of the table (`h @ W2` inside `logits`). */
function isInner(x: Node): boolean {
  return x.kind === "op" && x.label === undefined;
}

/** The line's output and the unlabelled op nodes under it, outermost first. */
function lineNodes(out: Node): Node[] {
  const nodes = [out];
  for (let i = 0; i < nodes.length; i++) {
    for (const x of nodes[i].inputs) if (isInner(x) && !nodes.includes(x)) nodes.push(x);
  }
  return nodes;
}

/** How a rule's result is called: `dcounts_sum_inv`, or `dcounts (from probs)` for a shared value. */
export function contributionName(line: Ex1Line, input: string): string {
  return partName(EX1_LINES, line, input);
}

/** {@link contributionName} in any exercise's lines. */
export function partName(lines: LineTable, line: string, input: string): string {
  return linesOf(lines, input).length > 1 ? `d${input} (from ${line})` : `d${input}`;
}
