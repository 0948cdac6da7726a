/**
 * `ninja check FILE --charts DIR`: the learner's own graph drawn with each node's verdict (the
 * gradient-flow graph that `deno task chart` and `train --charts` draw), plus the comparison
 * chart. It joins the lecture's check report to the charts' plain verdicts, which is why it lives
 * with the commands.
 */
import type { CheckReport, CheckSession } from "../ninja/check.ts";
import { graphCharts } from "../../viz/chart_sets.ts";
import { writeCharts, type WrittenCharts } from "../../viz/export.ts";
import type { ReportFact } from "../../viz/report.ts";
import { verdictCounts } from "../../viz/verdicts.ts";
import { verdictsFromCheck } from "./check_verdicts.ts";

export { verdictsFromCheck };

/** The rows each one-step exercise is about, marked in the comparison chart. */
const FOCUS: Readonly<Record<number, readonly string[]>> = { 2: ["logits"], 3: ["hprebn"] };

/**
 * Writes the charts of a check into `dir`: the graph is coloured by the true gradient (the
 * engine's own backward on the same minibatch) and marked with the learner's verdicts.
 */
export async function writeCheckCharts(
  dir: string,
  session: CheckSession,
  report: CheckReport,
  file: string,
): Promise<WrittenCharts> {
  const { graph, loss } = session.net;
  const grads = session.correct ?? graph.backward(loss, { overrides: false, notify: false });
  const verdicts = verdictsFromCheck(report);
  const focus = FOCUS[report.exercise];
  const title = `ninja check: exercise ${report.exercise}`;
  const g = report.firstWrongGradients;
  const charts = graphCharts({
    graph,
    grads,
    verdicts,
    difference: g && {
      name: g.name,
      yours: { data: g.yours, shape: g.shape },
      reference: { data: g.reference, shape: g.shape },
    },
    focus,
    focusLabel: focus ? `exercise ${report.exercise}` : undefined,
    title,
  });
  const facts: ReportFact[] = [
    { label: "file", value: file },
    { label: "exercise", value: `${report.exercise}: ${report.title}` },
    { label: "data", value: session.net.source },
    { label: "verdicts", value: verdictCounts(verdicts) },
  ];
  if (report.firstWrong) {
    facts.push({
      label: "first wrong",
      value: `${report.firstWrong.name}: ${report.firstWrong.detail}`,
    });
  }
  return await writeCharts(dir, charts, { title, facts });
}
