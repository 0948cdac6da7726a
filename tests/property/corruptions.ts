/**
 * Wrong versions of correct hand-written rules, the mistakes a learner makes: the sign flipped,
 * the result doubled, every element shifted by one place, the result transposed, or the sum over
 * a broadcast axis forgotten. For exercise 1, a corrupted rule table is the correct one with a
 * single rule wrapped; the wrapper records what the correct rule and the corrupted one returned,
 * and `toleranceRatio` says how far that moves the gradient, in units of compare's tolerance.
 */
import { sameShape, Tensor } from "../../ops/kernels/tensor.ts";
import * as t from "../../ops/kernels/mod.ts";
import type {
  Ex1Line,
  Ex1LineInput,
  Ex1Rule,
  Ex1RuleRef,
  Ex1Rules,
} from "../../exercises/model/lines.ts";
import { ruleOf } from "../../exercises/model/lines.ts";
import type { Ex1Model } from "../../exercises/model/ex1.ts";
import { ex1Rules } from "../../exercises/rules/ex1.ts";
import type { Rule } from "../../graph/op.ts";

/** The mistakes. */
export const CORRUPTIONS = ["negate", "double", "shift", "transpose", "missingSum"] as const;
/** One of {@link CORRUPTIONS}. */
export type Corruption = typeof CORRUPTIONS[number];

/** A rule as the installer calls it. */
type LooseRule = (ctx: Record<string, Tensor | number>) => Tensor;

/**
 * The rules whose gradient is zero in exact arithmetic: softmax does not change when a row is
 * shifted, so the loss does not depend on logit_maxes; batchnorm subtracts the batch mean, so it
 * does not depend on b1 either (the lecture's "useless" bias). Negating, doubling, shifting or
 * transposing (if square) a zero gradient changes nothing, so only a shape mistake shows there.
 */
const ZERO_GRADIENT = new Set(["norm_logits.logit_maxes", "logit_maxes.logits", "hprebn.b1"]);

/**
 * What a learner returns who forgets to sum over the axes an input was broadcast along: the
 * gradient at the line's output shape. One entry per broadcast input of exercise 1.
 */
const UNREDUCED: { readonly [L in Ex1Line]?: { readonly [X in Ex1LineInput<L>]?: Ex1Rule<L> } } = {
  // probs = counts * counts_sum_inv: counts_sum_inv (n, 1) was broadcast along the row
  probs: { counts_sum_inv: ({ dprobs, counts }) => t.mul(counts, dprobs) },
  norm_logits: { logit_maxes: ({ dnorm_logits }) => t.neg(dnorm_logits) },
  logits: { b2: ({ dlogits }) => dlogits },
  hpreact: {
    bngain: ({ dhpreact, bnraw }) => t.mul(bnraw, dhpreact),
    bnbias: ({ dhpreact }) => dhpreact,
  },
  bnraw: { bnvar_inv: ({ dbnraw, bndiff }) => t.mul(bndiff, dbnraw) },
  bndiff: { bnmeani: ({ dbndiff }) => t.neg(dbndiff) },
  hprebn: { b1: ({ dhprebn }) => dhprebn },
};

/**
 * The forgotten sum in a binary op's rule: the local derivative times `g`, left at the output's
 * shape (the op's rule without its `sumTo`).
 */
export const UNREDUCED_BINARY: Readonly<Record<string, Readonly<Record<string, Rule>>>> = {
  add: { a: ({ g }) => g, b: ({ g }) => g },
  sub: { a: ({ g }) => g, b: ({ g }) => t.neg(g) },
  mul: { a: ({ g, inputs: { b } }) => t.mul(g, b), b: ({ g, inputs: { a } }) => t.mul(g, a) },
  div: {
    a: ({ g, inputs: { b } }) => t.div(g, b),
    b: ({ g, out, inputs: { b } }) => t.neg(t.mul(g, t.div(out, b))),
  },
};

const key = (ref: Ex1RuleRef) => `${ref.line}.${ref.input}`;

function unreducedRule(ref: Ex1RuleRef): LooseRule | undefined {
  const line = UNREDUCED[ref.line] as Readonly<Record<string, LooseRule>> | undefined;
  return line?.[ref.input];
}

/**
 * Whether the mistake applies to the rule and changes what it returns, by construction: a shape
 * mistake always does (every size of the graph is at least 2, so a transpose of a non-square
 * matrix or a forgotten sum has the wrong shape); a value mistake does unless the gradient is
 * zero (ZERO_GRADIENT). The minibatch must be built so that no other gradient vanishes or is
 * symmetric (see `ex1Net` in property_test.ts).
 */
export function applies(kind: Corruption, ref: Ex1RuleRef, model: Ex1Model): boolean {
  const shape = model.graph.node(ref.input).shape;
  switch (kind) {
    case "missingSum":
      return unreducedRule(ref) !== undefined;
    case "transpose":
      return shape.length === 2 && (shape[0] !== shape[1] || !ZERO_GRADIENT.has(key(ref)));
    default:
      return !ZERO_GRADIENT.has(key(ref));
  }
}

/** Whether the mistake gives the gradient the wrong shape (else its values are wrong). */
export function changesShape(kind: Corruption, ref: Ex1RuleRef, model: Ex1Model): boolean {
  const shape = model.graph.node(ref.input).shape;
  return kind === "missingSum" || (kind === "transpose" && shape[0] !== shape[1]);
}

/** What the corrupted rule saw the correct rule return, and what it returned instead. */
export interface Returned {
  correct?: Tensor;
  corrupted?: Tensor;
}

/** The correct rules with the rule `ref` corrupted by `kind`; `returned` records its last call. */
export function corruptedRules(ref: Ex1RuleRef, kind: Corruption, returned: Returned): Ex1Rules {
  const correct = ruleOf(ex1Rules, ref.line, ref.input)!;
  const unreduced = unreducedRule(ref);
  const wrong: LooseRule = (ctx) => {
    const c = correct(ctx);
    const bad = kind === "missingSum" ? unreduced!(ctx) : corrupt(kind, c);
    returned.correct = c;
    returned.corrupted = bad;
    return bad;
  };
  const lines = { ...ex1Rules } as unknown as Record<string, Record<string, LooseRule>>;
  lines[ref.line] = { ...lines[ref.line], [ref.input]: wrong };
  return lines as unknown as Ex1Rules;
}

/** A value mistake applied to a correct result (a shape mistake too, for a non-square transpose). */
export function corrupt(kind: Exclude<Corruption, "missingSum">, c: Tensor): Tensor {
  switch (kind) {
    case "negate":
      return t.neg(c);
    case "double":
      return t.mul(c, 2);
    case "shift": {
      // Off by one index: element i takes element i − 1's value (row-major, wrapping around).
      // The same as the original only when every element is equal.
      const out = Tensor.zeros(c.shape, c.dtype);
      for (let i = 0; i < c.size; i++) out.data[i] = c.data[(i + c.size - 1) % c.size];
      return out;
    }
    case "transpose":
      return t.transpose2d(c);
  }
}

/**
 * How far returning `corrupted` instead of `correct` moves the input's total gradient, in units
 * of compare's tolerance for it (its row's `tolerance`): the largest |corrupted − correct| over
 * that tolerance, Infinity when the shape changes. Above 1 compare must see it; far above or far
 * below 1, no rounding in the sum of the contributions can decide it.
 */
export function toleranceRatio({ correct, corrupted }: Returned, tolerance: number): number {
  if (!correct || !corrupted) return 0;
  if (!sameShape(correct.shape, corrupted.shape)) return Infinity;
  let ratio = 0;
  for (let i = 0; i < correct.size; i++) {
    const moved = Math.abs(corrupted.data[i] - correct.data[i]);
    // A tolerance of 0 (an exact zero gradient): any move is as far out as a number can say.
    ratio = Math.max(ratio, tolerance > 0 ? moved / tolerance : moved > 0 ? Number.MAX_VALUE : 0);
  }
  return ratio;
}
