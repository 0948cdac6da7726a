/**
 * Charts in Deno's Jupyter kernel: `display(spec)` as a cell's last expression shows the chart.
 * Front ends that know Vega-Lite draw it interactively; the others show the SVG.
 */
import { toSVG } from "./render.ts";
import type { VegaLiteSpec } from "./spec.ts";

/** The symbol Deno's Jupyter kernel looks for (`Deno.jupyter.$display`). */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/** The MIME bundle a chart shows as. */
export interface ChartBundle {
  /** The spec itself, for front ends that draw Vega-Lite (interactively). */
  "application/vnd.vegalite.v6+json": VegaLiteSpec;
  /** The chart as an SVG document, for front ends that do not. */
  "image/svg+xml": string;
}

/** Something the kernel displays: its method returns the bundle (the kernel awaits it). */
export interface Displayable {
  /** Renders the chart's MIME bundle; the kernel calls it when the value ends a cell. */
  [JUPYTER_DISPLAY](): Promise<ChartBundle>;
}

/** The chart's MIME bundle: the spec itself, and its SVG for front ends without Vega-Lite. */
export async function chartBundle(spec: VegaLiteSpec): Promise<ChartBundle> {
  return { "application/vnd.vegalite.v6+json": spec, "image/svg+xml": await toSVG(spec) };
}

/** Wraps a spec for Jupyter: `display(gradientFlowGraphSpec(snapshotGraph(g, grads)))`. */
export function display(spec: VegaLiteSpec): Displayable {
  return { [JUPYTER_DISPLAY]: () => chartBundle(spec) };
}
