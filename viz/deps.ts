/**
 * The charts' npm dependencies, by their full `npm:` specifiers (see graph/deps.ts for why):
 * vega and vega-lite (compile and render), resvg (SVG to PNG, WebAssembly) with the DejaVu fonts,
 * and vega-embed, whose browser build report.html inlines.
 */
export * as vega from "npm:vega@6.4.0";
export { compile } from "npm:vega-lite@6.5.0";
export type { TopLevelSpec } from "npm:vega-lite@6.5.0";
export { initWasm, Resvg } from "npm:@resvg/resvg-wasm@2.6.2";
// The fonts package has no JavaScript: importing its package.json puts it in the module graph,
// so that its files resolve (below) wherever Deno keeps npm packages. Full specifiers are this
// module's purpose, hence the lint exceptions.
// deno-lint-ignore no-import-prefix
import "npm:dejavu-fonts-ttf@2.37.3/package.json" with { type: "json" };

/**
 * Files the packages ship, as `file:` URLs: in node_modules inside the repository, in Deno's
 * cache for a script elsewhere. `vegaEmbed` is a function: the package is loaded only for a report.
 */
export const packageFiles = {
  resvgWasm: () => import.meta.resolve("npm:@resvg/resvg-wasm@2.6.2/index_bg.wasm"),
  fonts: () => [
    import.meta.resolve("npm:dejavu-fonts-ttf@2.37.3/ttf/DejaVuSans.ttf"),
    import.meta.resolve("npm:dejavu-fonts-ttf@2.37.3/ttf/DejaVuSans-Bold.ttf"),
  ],
  /** The main modules, whose folders hold the minified browser builds. */
  vega: () => import.meta.resolve("npm:vega@6.4.0"),
  vegaLite: () => import.meta.resolve("npm:vega-lite@6.5.0"),
  vegaEmbed: async () => {
    // deno-lint-ignore no-import-prefix
    await import("npm:vega-embed@7.3.0");
    return import.meta.resolve("npm:vega-embed@7.3.0");
  },
};
