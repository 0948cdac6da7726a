/**
 * Small helpers for the tests: seeded random tensors, float64 graphs, gradient checks; the
 * lecture's names and the PyTorch goldens, the command scripts run as `deno task` runs them, and training
 * runs followed to their end.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import seedrandom from "seedrandom";
import { add, gradcheck, Graph, type NodeRef, type Shape, Tensor } from "../mod.ts";
import { sizeOf } from "../ops/kernels/tensor.ts";
import type { Node } from "../graph/node.ts";
import { loadNames } from "../exercises/data.ts";
import type { ParityReport } from "../exercises/parity.ts";
import type { TrainConfig } from "../exercises/train/config.ts";
import type { TrainData } from "../exercises/train/data.ts";
import type { DoneEvent } from "../exercises/train/events.ts";
import { train, type TrainOptions } from "../exercises/train/run.ts";

/** A reproducible random source in [0, 1): a failing test fails the same way every run. */
export function rng(seed: string): () => number {
  const r = seedrandom(seed);
  return () => r();
}

/** A float64 tensor of uniform values in [lo, hi). */
export function uniform(rand: () => number, shape: Shape, lo = -1, hi = 1): Tensor {
  const t = Tensor.zeros(shape, "float64");
  for (let i = 0; i < t.size; i++) t.data[i] = lo + (hi - lo) * rand();
  return t;
}

/** An int32 index tensor of values in [0, n). */
export function indices(rand: () => number, shape: Shape, n: number): Tensor {
  const t = Tensor.zeros(shape, "int32");
  for (let i = 0; i < sizeOf(shape); i++) t.data[i] = Math.floor(rand() * n);
  return t;
}

/**
 * A float64 graph for an op's gradient check: x (`shape`: a parameter, or an input whose shape
 * the test changes later) plus a broadcast bias b over its last axis, so that the op sees a
 * broadcast history: `xb = x + b`.
 */
export function withBias(name: string, shape: number[], x: "param" | "input" = "param") {
  const rand = rng(name);
  const g = new Graph({ dtype: "float64" });
  const leaf = x === "param"
    ? g.param("x", uniform(rand, shape))
    : g.input("x", uniform(rand, shape));
  const b = g.param("b", uniform(rand, [shape[shape.length - 1]]));
  return { rand, g, x: leaf, b, xb: add(leaf, b).named("xb") };
}

/**
 * Finite differences against backward, with a random non-unit upstream gradient drawn from
 * `rand`; asserts the largest error is below 1e-6 and names the leaf that failed.
 */
export function assertGradcheck(graph: Graph, out: NodeRef, rand: () => number): void {
  const res = gradcheck(graph, out, { random: rand });
  assert.ok(res.rows.length > 0, "gradcheck checked no leaf");
  const worst = res.rows.reduce((a, b) => (b.maxError > a.maxError ? b : a));
  assert.ok(
    res.maxError < 1e-6,
    `gradcheck of ${graph.node(out).name}: ${worst.name} is off by ${worst.maxError}`,
  );
}

/** Asserts a tensor agrees elementwise with `want` within `tol`. */
export function assertClose(got: Tensor | undefined, want: readonly number[], tol = 1e-12): void {
  assert.ok(got, "no tensor");
  assert.equal(got.size, want.length, `size ${got.size}, want ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got.data[i] - want[i]) <= tol;
    assert.ok(ok, `element ${i}: got ${got.data[i]}, want ${want[i]}`);
  }
}

/** The values of a tensor as a plain array (for deepEqual). */
export function values(t: Tensor | undefined): number[] {
  assert.ok(t, "no tensor");
  return [...t.data];
}

/** Whether two tensors hold the same elements (cheap, unlike deepEqual's diff of a failure). */
export function sameValues(a: Tensor | undefined, b: Tensor | undefined): boolean {
  assert.ok(a && b, "no tensor");
  return a.size === b.size && a.data.every((v, i) => v === b.data[i]);
}

/** The repository's root folder, where `deno task` runs the commands. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The lecture's names file, shipped in the repository. */
export const NAMES: string = fileURLToPath(new URL("../exercises/data/names.txt", import.meta.url));

/** A PyTorch golden file of `tests/golden/` (its README says how they were made). */
export function goldenPath(name: string): string {
  return fileURLToPath(new URL(`golden/${name}`, import.meta.url));
}

/**
 * golden/parity_lecture.json: what PyTorch and CPython give for the lecture's seeds. It holds the
 * keys of the parity report; its values are read from the file, never computed.
 */
export function readParityGolden(): ParityReport {
  return JSON.parse(Deno.readTextFileSync(goldenPath("parity_lecture.json")));
}

/** The first `n` names of the lecture's file (all of them when `n` is left out). */
export async function lectureNames(n?: number): Promise<string[]> {
  return (await loadNames(NAMES)).slice(0, n);
}

/** A names file of its own holding `words`, removed when the test file's run ends. */
export async function tempNamesFile(words: readonly string[]): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(path, words.join("\n"));
  globalThis.addEventListener("unload", () => Deno.removeSync(path));
  return path;
}

/** How a command exited and what it printed. */
export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of the command scripts (`script`, from the repository root) with `args` as its
 * `deno task` does: `deno run -A`, in the repository root.
 */
export async function runScript(script: string, ...args: string[]): Promise<ScriptResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      fileURLToPath(new URL(`../${script}`, import.meta.url)),
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** How a command exited, with its stderr as non-blank lines (as tests of one-line errors read it). */
export interface CommandOutcome {
  code: number;
  stdout: string;
  stderr: string[];
}

/** The script of `deno task NAME`: `commandPath("train")` is exercises/cli/train.ts. */
export function commandPath(name: string): string {
  return fileURLToPath(new URL(`../exercises/cli/${name}.ts`, import.meta.url));
}

/**
 * Runs `deno task NAME`'s script with `args` (and `env` added), without colours; a command that
 * hangs is killed after 60 s, so the test fails instead of stalling the suite.
 */
export async function runCommand(
  name: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CommandOutcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", commandPath(name), ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
    signal: AbortSignal.timeout(60_000),
  }).output();
  return outcomeOf(out);
}

/** A finished process's outcome, its stderr as non-blank lines. */
export function outcomeOf(out: Deno.CommandOutput): CommandOutcome {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr).split("\n").filter((l) => l.trim() !== ""),
  };
}

/**
 * Asserts a refusal: exit `code`, exactly one line on stderr, an `error: ` matching `says`, and no
 * stack trace. `what` says which case failed.
 */
export function assertOneLine(o: CommandOutcome, code: number, says: RegExp, what = ""): void {
  const shown = `${what ? what + "\n" : ""}${o.stderr.join("\n")}`;
  assert.equal(o.code, code, shown);
  assert.equal(o.stderr.length, 1, `not one line:\n${shown}`);
  assert.match(o.stderr[0], /^error: /);
  assert.match(o.stderr[0], says);
  assert.doesNotMatch(shown, /Uncaught|^\s+at /m);
}

/**
 * A temporary folder of this test file's own, removed when its run ends, and a function that
 * names a path in it.
 */
export async function scratchDir(prefix: string): Promise<(name: string) => string> {
  const dir = await Deno.makeTempDir({ prefix });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return (name: string) => join(dir, name);
}

/** Trains to the end: every step's loss and the final event. */
export function trainToEnd(
  config: TrainConfig,
  data: TrainData,
  options: TrainOptions = {},
): Promise<{ losses: number[]; done: DoneEvent }> {
  return new Promise((resolve, reject) => {
    const losses: number[] = [];
    train(config, data, options).subscribe({
      next: (e) => {
        if (e.type === "step") losses.push(e.loss);
        if (e.type === "done") resolve({ losses, done: e });
      },
      error: reject,
    });
  });
}

/**
 * Asserts that each composite node of `fast` saved the very bits (NaN equal to NaN, −0 not 0)
 * that the same node of `slow` saved, label by label: a fused forward against node-by-node.
 */
export function assertSameSaved(fast: readonly Node[], slow: readonly Node[], what: string): void {
  fast.forEach((node, i) => {
    const saved = node.saved as Record<string, Tensor>;
    const other = slow[i].saved as Record<string, Tensor>;
    for (const [label, value] of Object.entries(saved)) {
      const want = other[label];
      assert.deepEqual(value.shape, want.shape, `${what} ${node.name}.${label}`);
      for (let k = 0; k < value.size; k++) {
        if (!Object.is(value.data[k], want.data[k])) {
          assert.fail(
            `${what} ${node.name}.${label}[${k}]: ${value.data[k]} vs ${want.data[k]}`,
          );
        }
      }
    }
  });
}

/**
 * Command-line flags with later ones overriding earlier ones (`merged(DEFAULTS, ["--steps",
 * "20"])`): the commands refuse a flag given twice, so a test's defaults give way to its case's.
 * A flag followed by a token that is not a flag is a flag and its value; else a switch. Other
 * tokens (positional arguments) are kept where they are.
 */
export function merged(...groups: readonly string[][]): string[] {
  const entries = new Map<string, string[]>();
  for (const group of groups) {
    for (let i = 0; i < group.length; i++) {
      const token = group[i];
      if (!/^--?[a-z]/i.test(token)) {
        entries.set(`${entries.size}:${token}`, [token]); // a positional argument, kept
        continue;
      }
      const name = token.split("=")[0];
      const takesNext = !token.includes("=") && i + 1 < group.length &&
        !/^--?[a-z]/i.test(group[i + 1]);
      const entry = takesNext ? [token, group[++i]] : [token];
      entries.delete(name); // re-inserted last: the order given
      entries.set(name, entry);
    }
  }
  return [...entries.values()].flat();
}
