/**
 * report.html: every chart in one page that opens offline, with vega, vega-lite and vega-embed
 * inlined from the npm packages' minified browser builds (no CDN), the specs inlined as JSON.
 * A header sums the run up (what the commands know: data, steps, learning rates, losses, time);
 * under each chart a sentence says how to read it, and links name its files. On a wide screen
 * the charts fill a grid of 760 px columns (a chart marked `wide` spans the row).
 */
import { dirname, join } from "node:path";
import { readFile } from "node:fs/promises";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { packageFiles } from "./deps.ts";
import { writeChartFile } from "./files.ts";
import { packageFilePath } from "./render.ts";
import type { Chart } from "./spec.ts";

/** The browser builds: each package's main module URL, and the build beside it in `build/`. */
const BROWSER_BUILDS = [
  [packageFiles.vega, "vega.min.js"],
  [packageFiles.vegaLite, "vega-lite.min.js"],
  [packageFiles.vegaEmbed, "vega-embed.min.js"],
] as const;

/** Reads the three minified browser builds (vega, vega-lite, vega-embed), in load order. */
export async function browserBuilds(): Promise<string[]> {
  return await Promise.all(BROWSER_BUILDS.map(async ([main, file]) => {
    // The packages' `exports` do not list their build/*.min.js files, so they are found beside
    // the main module, which the packages do export.
    const path = join(dirname(packageFilePath(await main())), file);
    try {
      return await readFile(path, "utf8");
    } catch (e) {
      throw new NinjagradError(
        `cannot read the browser build ${path} (${
          e instanceof Error ? e.message : e
        }): run \`deno install\``,
      );
    }
  }));
}

/** Text that is safe inside a `<script>` element (no early `</script>`, no HTML comment). */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** Text safe inside HTML (elements and attribute values). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One line of the report's header: "data" — "names.txt (32,033 names)". */
export interface ReportFact {
  /** What the fact is, in the table's left column: "data". Plain text (it is escaped). */
  label: string;
  /** The fact, in the right column: "names.txt (32,033 names)". Plain text (it is escaped). */
  value: string;
}

/** The header's table of facts (empty for none), for report.html and the live page. */
export function factsTable(facts: readonly ReportFact[]): string {
  if (facts.length === 0) return "";
  const rows = facts.map((f) =>
    `<tr><th>${escapeHtml(f.label)}</th><td>${escapeHtml(f.value)}</td></tr>`
  );
  return `<table class="facts">${rows.join("")}</table>`;
}

/** The look both pages share: type, the facts table, sections, charts and captions. */
export const PAGE_STYLE =
  `body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin-bottom: 8px; }
.facts { border-collapse: collapse; font-size: 13px; margin-bottom: 12px; }
.facts th { text-align: left; font-weight: normal; color: #666; padding: 2px 16px 2px 0; }
.facts td { padding: 2px 0; }
section { margin: 28px 0; min-width: 0; }
.chart { overflow-x: auto; }
.caption { max-width: 760px; font-size: 14px; line-height: 1.4; margin: 4px 0; }
.charts { display: grid; column-gap: 32px;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 760px), 1fr)); }
.charts section { margin: 16px 0; }
.charts section.wide { grid-column: 1 / -1; }`;

/** The report page as a string (see the module comment). */
export function reportHtml(
  charts: readonly Chart[],
  builds: readonly string[],
  title: string,
  facts: readonly ReportFact[] = [],
): string {
  const specs = scriptSafe(JSON.stringify(charts.map((c) => c.spec)))
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  // A wide screen takes two or more charts a row; a wide chart (a large graph) a row of its own.
  const sections = charts.map((c, i) =>
    `<section id="${escapeHtml(c.name)}"${c.wide ? ' class="wide"' : ""}>` +
    `<div class="chart" id="chart-${i}"></div>` +
    (c.caption ? `<p class="caption">${escapeHtml(c.caption)}</p>` : "") +
    `<p class="files">${
      ["png", "svg", "vl.json"].map((ext) =>
        `<a href="${escapeHtml(c.name)}.${ext}">${escapeHtml(c.name)}.${ext}</a>`
      ).join(" · ")
    }</p></section>`
  ).join("\n");
  const header = factsTable(facts);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
${PAGE_STYLE}
.files { font-size: 11px; color: #888; margin: 2px 0; } .files a { color: #888; }
.error { color: #b00; white-space: pre-wrap; }
</style>
${builds.map((js) => `<script>${scriptSafe(js)}</script>`).join("\n")}
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${header}
<main class="charts">
${sections}
</main>
<script>
const specs = ${specs};
Promise.all(specs.map((spec, i) =>
  vegaEmbed("#chart-" + i, spec, { renderer: "svg", actions: false }).catch((err) => {
    const el = document.getElementById("chart-" + i);
    el.className = "chart error";
    el.textContent = "this chart failed to draw: " + err;
    console.error(err);
  })
)).then(() => { document.body.dataset.rendered = "true"; });
</script>
</body>
</html>
`;
}

/** Writes `dir/report.html` holding every chart; returns its path. */
export async function writeReport(
  dir: string,
  charts: readonly Chart[],
  title = "ninjagrad charts",
  facts: readonly ReportFact[] = [],
): Promise<string> {
  const path = join(dir, "report.html");
  await writeChartFile(path, reportHtml(charts, await browserBuilds(), title, facts));
  return path;
}
