/**
 * What a learner's file imports besides the kernels: the type of its rule table (one per
 * exercise), the forward values its rules receive, and the placeholder that marks a rule as not
 * written yet. See `deno task ninja init DIR --exercise N` for a file to start from.
 * @module
 */
export type { Ex1Forward, Ex1Line, Ex1RuleContext, Ex1Rules } from "../model/lines.ts";
export type {
  BatchNormValues,
  CrossEntropyValues,
  Ex2RuleContext,
  Ex2Rules,
  Ex3RuleContext,
  Ex3Rules,
  Ex4Line,
  Ex4RuleContext,
  Ex4Rules,
  Ex4Values,
} from "./lines.ts";

/** Thrown by a rule the learner has not written yet; `ninja check` reports it as "not written". */
export class NotWritten extends Error {
  /** The gradient the rule should compute (`dcounts_sum_inv`). */
  readonly gradient: string;
  constructor(gradient: string) {
    super(`${gradient} not written yet`);
    this.name = "NotWritten";
    this.gradient = gradient;
  }
}

/** The body of a blank rule: throws {@link NotWritten} for `gradient`. */
export function notWritten(gradient: string): never {
  throw new NotWritten(gradient);
}
