/**
 * report.html: every chart in one page that opens offline, with vega, vega-lite and vega-embed
 * inlined from the npm packages' minified browser builds (no CDN), the specs inlined as JSON.
 */
import { dirname, join } from "node:path";
import { readFile } from "node:fs/promises";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { packageFiles } from "./deps.ts";
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

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The report page as a string (see the module comment). */
export function reportHtml(
  charts: readonly Chart[],
  builds: readonly string[],
  title: string,
): string {
  const specs = scriptSafe(JSON.stringify(charts.map((c) => c.spec)))
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  const sections = charts.map((c, i) =>
    `<section><h2>${escapeHtml(c.name)}</h2><div class="chart" id="chart-${i}"></div></section>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 14px; color: #555; font-weight: normal; margin: 28px 0 6px; }
.chart { overflow-x: auto; }
.error { color: #b00; white-space: pre-wrap; }
</style>
${builds.map((js) => `<script>${scriptSafe(js)}</script>`).join("\n")}
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${sections}
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
): Promise<string> {
  const path = join(dir, "report.html");
  await Deno.writeTextFile(path, reportHtml(charts, await browserBuilds(), title));
  return path;
}
