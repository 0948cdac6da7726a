/**
 * `deno task site [--out DIR]`: builds the workbench page (exercises/cli/site/) into a folder of
 * static files (default out/site) that any static host serves: index.html, the page's and the
 * Worker's JavaScript (the engine, its WebAssembly kernels and the lecture's names inside),
 * vega's browser builds, the DejaVu fonts and the four exercises' templates. Nothing is fetched
 * from elsewhere when the page runs.
 *
 * `deno task serve [--out DIR] [--port N]`: builds it, then serves the folder on 127.0.0.1 and
 * prints the address.
 * @module
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { packageFiles } from "../../viz/deps.ts";
import { browserBuilds } from "../../viz/report.ts";
import { packageFilePath } from "../../viz/render.ts";
import { EXERCISE_NUMBERS } from "../ninja/exercises.ts";
import { learnerTemplate } from "../ninja/template.ts";
import { parseFlags, runMain, userPath } from "./main.ts";

const USAGE = "deno task site [--out DIR] | deno task serve [--out DIR] [--port N]";
const HERE = new URL("./site/", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

/**
 * Where the templates' imports point: a clone of the repository. The page reads them by their
 * ends (`/mod.ts`, `/exercises/ninja/api.ts`); for `ninja check`, write your clone's path there.
 */
export const TEMPLATE_REPO = new URL("file:///path/to/ninjagrad/");

/** What the builder wrote: each file's path in the folder and its size in bytes. */
export interface BuiltSite {
  dir: string;
  files: { name: string; bytes: number }[];
}

/**
 * The import map the bundle is made with: the project's own (deno.json), and the few `node:`
 * modules the engine's lecture code imports (and cli-progress, which loads `node:readline`)
 * mapped to their page versions (exercises/cli/site/shims).
 */
async function importMap(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const imports: Record<string, string> = { ...config.imports };
  for (const name of ["url", "path", "timers", "process"]) {
    imports[`node:${name}`] = new URL(`shims/node_${name}.ts`, HERE).href;
  }
  imports["npm:cli-progress@3.12.0"] = new URL("shims/cli_progress.ts", HERE).href;
  const path = await Deno.makeTempFile({ prefix: "ninjagrad-site-", suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ imports }));
  return path;
}

/** Bundles the page and its Worker (esbuild, through `deno bundle`) into `dir`. */
async function bundle(dir: string): Promise<void> {
  const map = await importMap();
  try {
    const entries = ["page.ts", "worker.ts"].map((f) => fileURLToPath(new URL(f, HERE)));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform=browser",
        "--format=esm",
        "--minify",
        `--import-map=${map}`,
        `--outdir=${dir}`,
        ...entries,
      ],
      cwd: fileURLToPath(ROOT),
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      // deno bundle's own first error line says what failed.
      const lines = new TextDecoder().decode(out.stderr).split("\n");
      const text = lines.filter((l) => /error|at file/.test(l)).slice(0, 2).join(" ").trim();
      throw new NinjagradError(`deno bundle failed: ${text}`);
    }
  } finally {
    await Deno.remove(map).catch(() => {});
  }
}

/** Builds the site into `dir` (made if missing; the files it writes are replaced). */
export async function buildSite(dir: string): Promise<BuiltSite> {
  await Deno.mkdir(join(dir, "fonts"), { recursive: true });
  await bundle(dir);
  await Deno.copyFile(fileURLToPath(new URL("index.html", HERE)), join(dir, "index.html"));
  const templates = Object.fromEntries(
    EXERCISE_NUMBERS.map((n) => [n, learnerTemplate(n, TEMPLATE_REPO)]),
  );
  await Deno.writeTextFile(join(dir, "templates.json"), JSON.stringify(templates));
  const [vega, vegaLite, vegaEmbed] = await browserBuilds();
  await Deno.writeTextFile(join(dir, "vega.js"), vega);
  await Deno.writeTextFile(join(dir, "vega-lite.js"), vegaLite);
  await Deno.writeTextFile(join(dir, "vega-embed.js"), vegaEmbed);
  for (const font of packageFiles.fonts()) {
    const path = packageFilePath(font);
    await Deno.copyFile(path, join(dir, "fonts", basename(path)));
  }
  const files: BuiltSite["files"] = [];
  for (const name of SITE_FILES) {
    files.push({ name, bytes: (await Deno.stat(join(dir, name))).size });
  }
  return { dir, files };
}

/** Every file of the built site. */
export const SITE_FILES = [
  "index.html",
  "page.js",
  "worker.js",
  "templates.json",
  "vega.js",
  "vega-lite.js",
  "vega-embed.js",
  "fonts/DejaVuSans.ttf",
  "fonts/DejaVuSans-Bold.ttf",
] as const;

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  ttf: "font/ttf",
};

/** Serves the folder `dir` on 127.0.0.1 (`port` 0: any free port): the server and its address. */
export function serveSite(dir: string, port = 0): { url: string; server: Deno.HttpServer } {
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const name = path === "/" ? "index.html" : path.slice(1);
    if (!(SITE_FILES as readonly string[]).includes(name)) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(join(dir, name));
      const type = TYPES[name.split(".").pop()!] ?? "application/octet-stream";
      // Cross-origin isolated: the page may share memory with its Worker, which names a rule
      // that loops during training (the page works without, naming none there).
      return new Response(body, {
        headers: {
          "content-type": type,
          "cross-origin-opener-policy": "same-origin",
          "cross-origin-embedder-policy": "require-corp",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, server };
}

/** Parses the command line: `build` or `serve`, and their flags. */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags("site", args, {
    out: { type: "string" },
    port: { type: "string" },
  }, USAGE);
  const [what, ...extra] = positionals;
  if ((what !== "build" && what !== "serve") || extra.length) {
    throw new UsageError(`site: ${USAGE}`);
  }
  const port = values.port === undefined ? 8000 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, got "${values.port}"`);
  }
  if (what === "build" && values.port !== undefined) {
    throw new UsageError("--port goes with deno task serve");
  }
  const dir = userPath((values.out as string | undefined) ?? "out/site");
  const built = await buildSite(dir);
  for (const f of built.files) {
    console.log(`${join(dir, f.name)}  ${f.bytes.toLocaleString("en")} B`);
  }
  if (what === "build") return;
  const { url, server } = serveSite(dir, port);
  console.log(`serving ${dir} at ${url} (Ctrl-C stops)`);
  await server.finished;
}

if (import.meta.main) await runMain(() => main(Deno.args));
