/**
 * The layering: imports run one way, from the commands down to the kernels. Each non-test .ts
 * file belongs to one layer, and may import only from its own layer or those below it; the
 * lecture and the charts share a rank and import neither each other. README's "Where things
 * are" table states the same layers.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "./helpers.ts";

/** A layer: where its files are, and its rank (higher imports lower, never the reverse). */
interface Layer {
  name: string;
  rank: number;
  holds: (file: string) => boolean;
}

/** Top to bottom, as README's table. The first layer that holds a file is its layer. */
export const LAYERS: readonly Layer[] = [
  { name: "commands", rank: 4, holds: (f) => f.startsWith("exercises/cli/") },
  { name: "lecture", rank: 3, holds: (f) => f.startsWith("exercises/") },
  { name: "charts", rank: 3, holds: (f) => f.startsWith("viz/") },
  { name: "public API", rank: 3, holds: (f) => f === "mod.ts" },
  { name: "kernels", rank: 0, holds: (f) => f.startsWith("ops/kernels/") },
  { name: "op records", rank: 2, holds: (f) => f.startsWith("ops/") },
  { name: "engine", rank: 1, holds: (f) => f.startsWith("graph/") },
];

/** The layer of a repository file, or undefined for tests and files outside every layer. */
export function layerOf(file: string): Layer | undefined {
  return LAYERS.find((l) => l.holds(file));
}

/** The relative module specifiers a file imports or re-exports, statically or dynamically. */
export function relativeImports(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gms,
    /^\s*import\s+"(\.{1,2}\/[^"]+)"/gm,
    /\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g,
  ];
  for (const p of patterns) for (const m of text.matchAll(p)) found.push(m[1]);
  return found;
}

/** Every .ts file outside tests/ and node_modules, relative to the root. */
async function libraryFiles(dir = ROOT): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    const rel = relative(ROOT, path);
    if (entry.isDirectory) {
      if (["node_modules", "tests"].includes(rel) || entry.name.startsWith(".")) continue;
      out.push(...await libraryFiles(path));
    } else if (entry.isFile && entry.name.endsWith(".ts")) out.push(rel);
  }
  return out.sort();
}

/** Every import that breaks the layering, as `from → to (layer → layer)`. */
export async function layeringViolations(
  read: (file: string) => Promise<string> = (f) => Deno.readTextFile(join(ROOT, f)),
  files?: readonly string[],
): Promise<string[]> {
  const bad: string[] = [];
  for (const file of files ?? await libraryFiles()) {
    const from = layerOf(file);
    if (from === undefined) {
      bad.push(`${file} lies in no layer: put it in one of ${LAYERS.map((l) => l.name)}`);
      continue;
    }
    for (const spec of relativeImports(await read(file))) {
      const target = normalize(join(dirname(file), spec));
      const to = layerOf(target);
      if (to === undefined) {
        bad.push(`${file} → ${target}: library code imports a file outside every layer`);
      } else if (to.rank > from.rank || (to.rank === from.rank && to !== from)) {
        bad.push(`${file} → ${target} (${from.name} → ${to.name})`);
      }
    }
  }
  return bad;
}

Deno.test("imports run one way: commands → lecture, charts → op records → engine → kernels", async () => {
  assert.deepEqual(await layeringViolations(), []);
});

Deno.test("the layering check sees an upward import, a sideways one, and one into tests", async () => {
  const planted: Record<string, string> = {
    "ops/kernels/tensor.ts": 'import { Graph } from "../../graph/graph.ts";',
    "graph/graph.ts": 'import type { AtomicOp } from "../ops/unary.ts";',
    "viz/trace.ts": 'import type { StepEvent } from "../exercises/train/events.ts";',
    "exercises/model/ex1.ts": 'export { lossSpec } from "../../viz/charts/training.ts";',
    "exercises/train/run.ts": 'const m = await import("../cli/main.ts");',
    "ops/nn.ts": 'import { x } from "../tests/helpers.ts";',
    "exercises/cli/train.ts": 'import { train } from "../train/run.ts";',
  };
  const found = await layeringViolations((f) => Promise.resolve(planted[f]), Object.keys(planted));
  assert.deepEqual(found, [
    "ops/kernels/tensor.ts → graph/graph.ts (kernels → engine)",
    "graph/graph.ts → ops/unary.ts (engine → op records)",
    "viz/trace.ts → exercises/train/events.ts (charts → lecture)",
    "exercises/model/ex1.ts → viz/charts/training.ts (lecture → charts)",
    "exercises/train/run.ts → exercises/cli/main.ts (lecture → commands)",
    "ops/nn.ts → tests/helpers.ts: library code imports a file outside every layer",
  ]);
});

Deno.test("README's table lists the layers top to bottom", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = readme.split("## Where things are")[1]?.split("\n## ")[0] ?? "";
  const rows = section.split("\n").filter((l) => /^\| \*\*/.test(l));
  const names = rows.map((l) => l.match(/^\| \*\*([^*]+)\*\*/)![1]);
  assert.deepEqual(names, [
    "commands",
    "lecture",
    "charts",
    "op records",
    "engine",
    "kernels",
  ]);
});
