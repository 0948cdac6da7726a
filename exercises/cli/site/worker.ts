/**
 * The page's Worker: it loads the learner's file and runs `ninja check`'s own judging on it
 * (`checkOn`), telling the page which rule runs (so that the page, which ends a Worker stuck in
 * a rule, can name that rule), then sends the verdict, its table's text and the verdict graph.
 * @module
 */
import { checkOn, type CheckSession, completeRules, prepareCheck } from "../../ninja/check.ts";
import { type ExerciseNumber, EXERCISES } from "../../ninja/exercises.ts";
import { formatCheck, reportData } from "../../ninja/report.ts";
import { LearnerFileError } from "../../ninja/source.ts";
import { NinjagradError } from "../../../ops/kernels/errors.ts";
import { ruleIn } from "../../model/lines.ts";
import { snapshotGraph } from "../../../viz/snapshot.ts";
import { gradientFlowGraphSpec } from "../../../viz/charts/graph_flow.ts";
import { verdictsFromCheck } from "../check_verdicts.ts";
import { loadLearner } from "./learner.ts";
import type { Reply, Request } from "./protocol.ts";

const post = (reply: Reply) => (globalThis as unknown as Worker).postMessage(reply);
const sessions = new Map<ExerciseNumber, Promise<CheckSession>>();

/** The learner's rules, each telling the page when it starts and when it returns. */
function marked(n: ExerciseNumber, rules: unknown): object {
  const spec = EXERCISES[n];
  const table = completeRules(spec, rules);
  const out: Record<string, Record<string, unknown>> = {};
  for (const [line, { inputs }] of Object.entries(spec.lines)) {
    out[line] = {};
    for (const input of inputs) {
      const rule = ruleIn(table, line, input)!;
      const name = `${line}.${input}`;
      out[line][input] = function (this: unknown, ctx: unknown) {
        post({ t: "rule", rule: name });
        try {
          return rule.call(this, ctx as never);
        } finally {
          post({ t: "rule", rule: null });
        }
      };
    }
  }
  return out;
}

async function check(n: ExerciseNumber, source: string): Promise<void> {
  const file = loadLearner(source, n);
  if (file.exercise !== n) {
    throw new LearnerFileError(
      `the file says exercise = ${file.exercise}, but this is exercise ${n}'s page: ` +
        `set it back to ${n}`,
      "rules",
    );
  }
  if (!sessions.has(n)) sessions.set(n, prepareCheck(n));
  const session = await sessions.get(n)!;
  const report = checkOn(session, marked(n, file.rules), { file: file.url });
  const { graph, loss } = session.net;
  const grads = session.correct ?? graph.backward(loss, { overrides: false, notify: false });
  const spec = gradientFlowGraphSpec(snapshotGraph(graph, grads), {
    title: `exercise ${n}: gradient flow`,
    verdicts: verdictsFromCheck(report),
  });
  post({ t: "report", text: formatCheck(report), data: reportData(report), graph: spec });
}

globalThis.addEventListener("message", async (e: Event) => {
  const request = (e as MessageEvent<Request>).data;
  try {
    await check(request.exercise as ExerciseNumber, request.source);
  } catch (err) {
    const known = err instanceof LearnerFileError ? err : new LearnerFileError(
      err instanceof NinjagradError || err instanceof Error ? err.message : String(err),
      "rules",
    );
    post({
      t: "fail",
      kind: known.failure,
      message: known.message,
      diagnostics: [...known.diagnostics],
    });
  }
});
