/**
 * Rendering at the edge: Vega-Lite → Vega → SVG (server-side, no browser), and SVG → PNG with
 * resvg compiled to WebAssembly, given DejaVu Sans from npm so that text shows on any machine.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compile, initWasm, packageFiles, Resvg, vega } from "./deps.ts";
import { parseFontWidths, textWidth } from "./text_metrics.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { VegaLiteSpec } from "./spec.ts";

/**
 * Compiles a Vega-Lite spec to a Vega spec. The spec is copied first: Vega tags the inline data
 * objects it ingests, and a chart's spec must stay the plain data it was built as.
 */
export function toVega(spec: VegaLiteSpec): vega.Spec {
  return compile(structuredClone(spec)).spec;
}

/** A running headless Vega view of a spec (for SVG output and for reading the scenegraph). */
export async function viewOf(spec: VegaLiteSpec): Promise<vega.View> {
  await ready();
  const view = new vega.View(vega.parse(toVega(spec)), { renderer: "none" });
  await view.runAsync();
  return view;
}

/** The chart as an SVG document. */
export async function toSVG(spec: VegaLiteSpec): Promise<string> {
  const view = await viewOf(spec);
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A rasterised chart: PNG bytes and the RGBA pixels they encode. */
export interface Raster {
  /** The bytes of the PNG file. */
  png: Uint8Array;
  /** The image's width in pixels: the SVG's width scaled by `scale`. */
  width: number;
  /** The image's height in pixels: the SVG's height scaled by `scale`. */
  height: number;
  /** RGBA, row-major, `width · height · 4` bytes. */
  pixels: Uint8Array;
}

/** Rasterises an SVG document; `scale` multiplies its size (default 2, for sharp text). */
export async function svgToPNG(svg: string, scale = 2): Promise<Raster> {
  const fonts = await ready();
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: {
      fontBuffers: fonts,
      loadSystemFonts: false,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  const image = resvg.render();
  try {
    return {
      png: image.asPng(),
      width: image.width,
      height: image.height,
      pixels: image.pixels.slice(),
    };
  } finally {
    image.free();
    resvg.free();
  }
}

/** The chart as a PNG (via its SVG). */
export async function toPNG(spec: VegaLiteSpec, scale = 2): Promise<Raster> {
  return svgToPNG(await toSVG(spec), scale);
}

// The wasm module can be initialised only once per process, so the first call's promise is kept
// and shared; the fonts are read alongside it, and Vega measures text with them from then on
// (see text_metrics.ts: its own guess hid tick labels in the exports).
let readiness: Promise<Uint8Array[]> | undefined;

function ready(): Promise<Uint8Array[]> {
  readiness ??= (async () => {
    await initWasm(await readPackageFile(packageFiles.resvgWasm()));
    const fonts = await Promise.all(packageFiles.fonts().map(readPackageFile));
    // vega-scenegraph's textMetrics, which vega re-exports but its typings leave out.
    const metrics = (vega as unknown as { textMetrics: { width: unknown } }).textMetrics;
    metrics.width = textWidth(parseFontWidths(fonts[0]), parseFontWidths(fonts[1]));
    return fonts;
  })();
  return readiness;
}

/** Reads a file that an npm package ships, by its resolved URL (viz/deps.ts). */
export async function readPackageFile(url: string): Promise<Uint8Array> {
  const path = packageFilePath(url);
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new NinjagradError(
      `cannot read ${path} (${e instanceof Error ? e.message : e}): run \`deno install\` (or ` +
        "`deno cache` on your script) so that the npm packages are downloaded",
    );
  }
}

/** The path of a file inside an npm package, from its resolved URL (viz/deps.ts). */
export function packageFilePath(url: string): string {
  if (!url.startsWith("file:")) {
    throw new NinjagradError(
      `an npm package file resolved to ${url}, not a file: run with Deno 2 (deno run -A)`,
    );
  }
  return fileURLToPath(url);
}
