/**
 * What a learner's `backprop.ts` imports besides the kernels: the type of its rule table and the
 * placeholder that marks a rule as not written yet. See `exercises/model/lines.ts` for how a rule
 * is called, and `deno task ninja init DIR` for a file to start from.
 * @module
 */
export type { Ex1Forward, Ex1Line, Ex1RuleContext, Ex1Rules } from "../model/lines.ts";

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
