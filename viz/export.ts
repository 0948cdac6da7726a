/**
 * Writing charts to a folder: per chart NAME.vl.json (the spec, data inlined), NAME.svg and
 * NAME.png, then report.html with them all.
 */
import { join } from "node:path";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { refuseNonFile, writeChartFile } from "./files.ts";
import { svgToPNG, toSVG } from "./render.ts";
import { type ReportFact, writeReport } from "./report.ts";
import type { Chart } from "./spec.ts";

/** Options of `writeCharts`. */
export interface WriteChartsOptions {
  /** PNG scale over the SVG's size (default 2). */
  scale?: number;
  /** The report page's heading (default "ninjagrad charts"). */
  title?: string;
  /** The report's header: what was run, on what, how it ended. */
  facts?: readonly ReportFact[];
}

/** What `writeCharts` wrote. */
export interface WrittenCharts {
  /** Per chart, its three files. */
  files: { name: string; json: string; svg: string; png: string; width: number; height: number }[];
  /** The path of the report.html written beside them. */
  report: string;
}

/** A chart name that is safe as a file name on every system. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Creates `dir` (and its parents) if missing and writes a file into it, so that a folder that
 * cannot take the charts fails at once, with a one-line error ending in `hint` when given.
 */
export async function makeChartFolder(dir: string, hint?: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".ninjagrad-probe-" }));
    // report.html is written last: a link there is refused now, before any work.
    refuseNonFile(join(dir, "report.html"));
  } catch (e) {
    if (e instanceof NinjagradError) throw e;
    const why = e instanceof Deno.errors.AlreadyExists
      ? "it is a file, not a folder"
      : e instanceof Error
      ? e.message.split("\n")[0]
      : String(e);
    throw new NinjagradError(
      `cannot write charts to ${dir}: ${why}${hint === undefined ? "" : `; ${hint}`}`,
    );
  }
}

/** Writes every chart's files and report.html into `dir` (created if missing). */
export async function writeCharts(
  dir: string,
  charts: readonly Chart[],
  options: WriteChartsOptions = {},
): Promise<WrittenCharts> {
  const seen = new Set<string>();
  for (const { name } of charts) {
    if (!NAME.test(name) || name.endsWith(".")) {
      throw new NinjagradError(
        `chart name "${name}" is not a safe file name: use letters, digits, _ - .`,
      );
    }
    if (seen.has(name)) {
      throw new NinjagradError(`two charts are named "${name}": names must differ`);
    }
    seen.add(name);
  }
  await makeChartFolder(dir);
  // Every path looked at before the first is written: no half-written set of charts.
  for (const { name } of charts) {
    for (const ext of [".vl.json", ".svg", ".png"]) refuseNonFile(join(dir, name + ext));
  }
  const files: WrittenCharts["files"] = [];
  for (const { name, spec } of charts) {
    const json = join(dir, `${name}.vl.json`), svgPath = join(dir, `${name}.svg`);
    const pngPath = join(dir, `${name}.png`);
    await writeChartFile(json, JSON.stringify(spec, null, 1) + "\n");
    const svg = await toSVG(spec);
    await writeChartFile(svgPath, svg);
    const raster = await svgToPNG(svg, options.scale ?? 2);
    await writeChartFile(pngPath, raster.png);
    files.push({
      name,
      json,
      svg: svgPath,
      png: pngPath,
      width: raster.width,
      height: raster.height,
    });
  }
  const report = await writeReport(dir, charts, options.title, options.facts);
  return { files, report };
}
