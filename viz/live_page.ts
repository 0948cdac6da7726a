/**
 * The live view's page: a header, a place per chart, and a script that follows the server's
 * event stream (viz/live.ts): a `spec` message draws a chart with vega-embed, a `data` message
 * applies a Vega changeset to one of its named datasets (insert rows, or replace them all), and
 * `end` leaves the final state on the page. vega, vega-lite and vega-embed load from the same
 * server. `window.live` exposes the views and a count of messages, for tests.
 */
import { escapeHtml, factsTable, PAGE_STYLE, type ReportFact } from "./report.ts";

/** The live view's charts, in page order: every chart of a run's report.html. */
export const LIVE_CHARTS = [
  "graph",
  "loss",
  "update_ratio",
  "params",
  "activations",
  "gradients",
  "activation_overlay",
  "gradient_overlay",
] as const;

/** The charts that span the page's width (the graph; histograms with the run beside them). */
const WIDE: readonly LiveChart[] = ["graph", "activations", "gradients"];
/** One of them. */
export type LiveChart = typeof LIVE_CHARTS[number];

/** The page as a string. */
export function livePage(title: string, facts: readonly ReportFact[]): string {
  const places = LIVE_CHARTS.map((c) =>
    `<section id="section-${c}"${WIDE.includes(c) ? ' class="wide"' : ""}>` +
    `<div class="chart" id="chart-${c}"></div>` +
    `<p class="caption" id="caption-${c}"></p></section>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
${PAGE_STYLE}
#status { font-size: 15px; font-weight: bold; margin: 8px 0 16px; }
body[data-ended="true"] #status { color: #009E73; }
</style>
<script src="/vega.js"></script>
<script src="/vega-lite.js"></script>
<script src="/vega-embed.js"></script>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${factsTable(facts)}
<div id="status">waiting for the first steps…</div>
<main class="charts">
${places}
</main>
<script>
const live = {
  views: {}, messages: 0, specs: 0, specsOf: {}, changes: 0, errors: [], ended: false, ms: {},
};
window.live = live;
const chains = {};
const status = document.getElementById("status");
function queue(chart, work) {
  chains[chart] = (chains[chart] || Promise.resolve()).then(work).catch((err) => {
    live.errors.push(String(err));
    console.error(err);
  });
}
function embed(msg) {
  return async () => {
    if (live.views[msg.chart]) live.views[msg.chart].finalize();
    // Lay the chart out again as its data grows (wider tick labels, longer titles).
    const spec = { autosize: { type: "pad", resize: true }, ...msg.spec };
    // A chart waiting for its first rows would warn of empty extents: errors only.
    const result = await vegaEmbed("#chart-" + msg.chart, spec, {
      renderer: "canvas",
      actions: false,
      logLevel: vega.Error,
    });
    live.views[msg.chart] = result.view;
    document.getElementById("caption-" + msg.chart).textContent = msg.caption;
    live.specs++;
    live.specsOf[msg.chart] = (live.specsOf[msg.chart] || 0) + 1;
  };
}
// A dataset takes one changeset per run (a second would replace the first): a chart's messages
// are merged per dataset first, a replace dropping what came before it.
function changes(view, messages) {
  const merged = new Map();
  for (const m of messages) {
    const old = merged.get(m.dataset);
    if (m.replace || !old) merged.set(m.dataset, { replace: !!m.replace, rows: [...(m.replace || m.insert)] });
    else old.rows.push(...m.insert);
  }
  for (const [dataset, { replace, rows }] of merged) {
    const set = vega.changeset();
    if (replace) set.remove(() => true);
    view.change(dataset, set.insert(rows));
    live.changes++;
  }
  return merged.size > 0;
}
function handle(msg) {
  live.messages++;
  if (msg.type === "batch") {
    // Per chart: its new spec, then its changesets, then one redraw; the end after them all.
    const charts = [...new Set(msg.messages.filter((m) => m.chart).map((m) => m.chart))];
    for (const m of msg.messages) if (!m.chart && m.type !== "end") handle(m);
    for (const chart of charts) {
      const mine = msg.messages.filter((m) => m.chart === chart);
      queue(chart, async () => {
        const t0 = performance.now();
        for (const m of mine) if (m.type === "spec") await embed(m)();
        const view = live.views[chart];
        if (view && changes(view, mine.filter((m) => m.type === "data"))) await view.runAsync();
        for (const m of mine) {
          if (m.type === "caption") document.getElementById("caption-" + chart).textContent = m.text;
        }
        live.ms[chart] = (live.ms[chart] || 0) + performance.now() - t0;
      });
    }
    for (const m of msg.messages) if (m.type === "end") handle(m);
  } else if (msg.type === "status") {
    if (!live.ended) status.textContent = msg.text;
  } else if (msg.type === "spec") {
    queue(msg.chart, embed(msg));
  } else if (msg.type === "data") {
    queue(msg.chart, async () => {
      const view = live.views[msg.chart];
      if (view && changes(view, [msg])) await view.runAsync();
    });
  } else if (msg.type === "end") {
    live.ended = true;
    source.close();
    Promise.all(Object.values(chains)).then(() => {
      status.textContent = msg.text;
      document.body.dataset.ended = "true";
    });
  }
}
const source = new EventSource("/events");
source.onmessage = (e) => handle(JSON.parse(e.data));
source.onerror = () => {
  if (live.ended) return;
  live.ended = true;
  source.close();
  status.textContent += " (the connection closed: the run has stopped)";
  document.body.dataset.ended = "true";
};
</script>
</body>
</html>
`;
}
