/**
 * `deno task bench [--json] [--dtype float32|float64] [--steps N] [--repeats R] [--heap STEPS]`
 * `deno task bench --scale [--sizes 64,256,…] [--threads T] [--json]`
 *
 * Times the lecture's two workloads through the engine (median ms per step over several repeats,
 * after a warm-up) and the kernels they spend their time in. `--json` prints one line per case,
 * `{"case":"ex4-step","msPerStep":…}` (msPerStep: median CPU time per step; wallMsPerStep too).
 * `--heap STEPS` runs that many ex4 steps (float32) and samples `Deno.memoryUsage().heapUsed`
 * after full collections along the way: a flat series means steady-state steps keep nothing.
 * `--scale` times graphs of ordinary matrix sizes instead (exercises/bench/scale.ts: the n × n
 * chain `sum(tanh(a @ b))` and a batch-512 MLP) with GFLOP/s, `--threads` the threads a native
 * BLAS may use (default: its own setting). Every run first says which matrix-product path ran:
 * the native BLAS (ops/kernels/blas.ts, and which one) or WebAssembly.
 */
import { choiceFlag, numberFlag, parseFlags, runMain } from "./main.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { type FloatDType, Tensor } from "../../ops/kernels/tensor.ts";
import * as t from "../../ops/kernels/mod.ts";
import { nativeBlas, setBlasThreads, whyNoBlas } from "../../ops/kernels/blas.ts";
import { time, timeFor, type Timing, trainingData } from "../bench/timing.ts";
import { ex1Workload, ex4Workload } from "../bench/workloads.ts";
import { CHAIN_SIZES, chainWorkload, mlpWorkload, type ScaleWorkload } from "../bench/scale.ts";
import { MAKEMORE_CASES, makemoreWorkload } from "../bench/makemore.ts";
import type { ModelType } from "../makemore/models.ts";

/** A timed case and the matrix-product paths its steps took (products per step, by path). */
export type BenchTiming = Timing & { paths: string; gflops?: number };

/** Runs `fn`, saying which matmul paths it took: "blas 6, wasm 2" per call of `fn`. */
function paths(calls: () => number, fn: () => Timing): BenchTiming {
  const before = { ...t.matmulCounts };
  const r = fn();
  const n = calls();
  const parts = (["blas", "wasm", "js"] as const)
    .map((p) => [p, (t.matmulCounts[p] - before[p]) / n] as const)
    .filter(([, c]) => c > 0)
    .map(([p, c]) => `${p} ${+c.toFixed(2)}`);
  return { ...r, paths: parts.join(", ") || "none" };
}

/** Counts the calls of `step` so that `paths` can divide by them. */
function counted(step: () => void): [() => void, () => number] {
  let calls = 0;
  return [() => {
    calls++;
    step();
  }, () => calls];
}

/** Every case of the bench, timed in one process so that their ratios are comparable. */
export function runBench(
  opts: { dtype: FloatDType; steps: number; repeats: number; kernels: boolean },
): BenchTiming[] {
  const data = trainingData();
  const { dtype, steps, repeats } = opts;
  const out: BenchTiming[] = [];
  for (const [name, workload] of [["ex4-step", ex4Workload], ["ex1-step", ex1Workload]] as const) {
    const [step, calls] = counted(workload(data, dtype).step);
    out.push(paths(calls, () => time(name, step, { steps, repeats })));
  }
  if (opts.kernels) {
    for (const k of kernelCases(dtype, steps, repeats)) out.push({ ...k, paths: "" });
  }
  return out;
}

/** The scale cases (`--scale`): the chain at each size, then the MLP. */
export function runScale(opts: { sizes: readonly number[]; repeats: number }): BenchTiming[] {
  const cases: (() => ScaleWorkload)[] = [
    ...opts.sizes.map((n) => () => chainWorkload(n)),
    () => mlpWorkload(),
  ];
  return cases.map((make) => {
    const w = make();
    const [step, calls] = counted(w.step);
    const r = paths(calls, () => timeFor(w.name, step, { repeats: opts.repeats }));
    return { ...r, gflops: w.flops / r.wallMsPerStep / 1e6 };
  });
}

/**
 * The makemore cases (`--makemore [TYPES]`): each model's training step (exercises/bench/
 * makemore.ts), warmed up for about 1.5 s and timed in repeats of about 0.4 s.
 */
export function runMakemore(opts: { types: readonly ModelType[]; repeats: number }): BenchTiming[] {
  return opts.types.map((type) => {
    const [step, calls] = counted(makemoreWorkload(type).step);
    return paths(calls, () => timeFor(`makemore-${type}`, step, { repeats: opts.repeats }));
  });
}

/** `--makemore bigram,gru`: model types, each one of MAKEMORE_CASES (empty or "all": every one). */
function typesFlag(value: string | undefined): ModelType[] {
  if (value === undefined || value === "" || value === "all") return [...MAKEMORE_CASES];
  const types = value.split(",").map((s) => s.trim());
  const bad = types.find((t) => !(MAKEMORE_CASES as readonly string[]).includes(t));
  if (bad !== undefined) {
    throw new UsageError(
      `--makemore takes model types separated by commas (${
        MAKEMORE_CASES.join(", ")
      }), got "${bad}"`,
    );
  }
  return types as ModelType[];
}

function kernelCases(dtype: FloatDType, steps: number, repeats: number): Timing[] {
  const rand = (shape: number[]) => {
    const x = Tensor.zeros(shape, dtype);
    for (let i = 0; i < x.size; i++) x.data[i] = Math.random() * 2 - 1;
    return x;
  };
  const x = rand([32, 30]), w1 = rand([30, 200]), h = rand([32, 200]), w2 = rand([200, 27]);
  const g2 = rand([32, 27]), out1 = Tensor.zeros([32, 200], dtype);
  const out2 = Tensor.zeros([32, 27], dtype), dw2 = Tensor.zeros([200, 27], dtype);
  const n = { transA: false, transB: false };
  const cases: [string, () => void][] = [
    ["matmul 32x30 @ 30x200", () => t.matmul(x, w1, n, out1)],
    ["matmul 32x200 @ 200x27", () => t.matmul(h, w2, n, out2)],
    ["matmul 32x27 @ (200x27)T", () => t.matmul(g2, w2, { transA: false, transB: true }, out1)],
    ["matmul (32x200)T @ 32x27", () => t.matmul(h, g2, { transA: true, transB: false }, dw2)],
    ["tanh 32x200", () => t.tanh(h, out1)],
    ["exp 32x27", () => t.exp(g2, out2)],
  ];
  return cases.map(([name, fn]) => time(name, fn, { steps: steps * 4, repeats }));
}

/** One line on the matrix-product paths: which native BLAS, or why none. */
export function pathLine(): string {
  const blas = nativeBlas();
  const wasm = "WebAssembly SIMD (in-order float32 sums)";
  if (!blas) return `matmul: ${wasm}; no native BLAS (${whyNoBlas()})`;
  const what = blas.config || blas.library;
  const threads = blas.threads ? `, ${blas.threads} thread${blas.threads > 1 ? "s" : ""}` : "";
  return `matmul: native BLAS ${blas.library} (${what}${threads}) for float32 products of ` +
    `≥ ${t.BLAS_MIN} multiply-adds; ${wasm} below, and for float64`;
}

/**
 * heapUsed over `steps` ex4 steps, 20 samples each after a full collection: exercises/bench/heap.ts
 * in a process of its own, started with the garbage collector exposed.
 */
export async function heapSeries(steps: number): Promise<number[]> {
  const script = fromFileUrl(new URL("../bench/heap.ts", import.meta.url));
  const args = ["run", "-A", "--v8-flags=--expose-gc", script, "ex4", String(steps)];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), { args }).output();
  if (code !== 0) {
    const last = new TextDecoder().decode(stderr).trim().split("\n").pop();
    throw new NinjagradError(`the heap run failed: ${last}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout)).heapUsedBytes;
}

/** `--sizes 64,256`: chain sizes, each an integer from 1 to 4096. */
function sizesFlag(value: string | undefined): number[] {
  if (value === undefined) return [...CHAIN_SIZES];
  const sizes = value.split(",").map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 4096)) {
    throw new UsageError(
      `--sizes must be integers from 1 to 4096 separated by commas, got ${value}`,
    );
  }
  return sizes;
}

function print(r: BenchTiming, json: boolean, dtype: FloatDType): void {
  if (json) {
    const { case: name, msPerStep, wallMsPerStep, gflops } = r;
    console.log(
      JSON.stringify({ case: name, msPerStep, wallMsPerStep, dtype, gflops, paths: r.paths }),
    );
    return;
  }
  const ms = (x: number) => x.toFixed(4).padStart(9);
  const rate = r.gflops === undefined ? "" : ` ${r.gflops.toFixed(1).padStart(6)} GFLOP/s`;
  const via = r.paths ? `  matmul: ${r.paths}` : "";
  console.log(
    `${r.case.padEnd(26)} ${ms(r.msPerStep)} ms cpu ${ms(r.wallMsPerStep)} ms wall${rate} ` +
      `(${dtype})${via}`,
  );
}

const USAGE = `deno task bench [flags]: ms per step of the lecture's two workloads, and kernels
  --json           one JSON document
  --dtype T        float32 or float64 (float32)
  --steps N        timed steps per repeat (500)
  --repeats N      repeats, the median kept (7; 5 with --scale)
  --heap N         run N steps and report the heap's growth
  --no-kernels     skip the kernels' timings
  --scale          the n × n chain and the batch-512 MLP, with GFLOP/s
  --sizes A,B,…    the chain's sizes (with --scale)
  --threads T      the BLAS's threads (with --scale or --makemore)
  --makemore TYPES the makemore models' training steps instead (all, or e.g. transformer,gru,mlp)`;

async function main(): Promise<void> {
  const { values } = parseFlags("bench", Deno.args, {
    json: { type: "boolean" },
    dtype: { type: "string" },
    steps: { type: "string" },
    repeats: { type: "string" },
    heap: { type: "string" },
    "no-kernels": { type: "boolean" },
    scale: { type: "boolean" },
    sizes: { type: "string" },
    threads: { type: "string" },
    makemore: { type: "string" },
  }, USAGE);
  const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);
  const dtype = choiceFlag("dtype", str(values.dtype), ["float32", "float64"] as const, "float32");
  const steps = numberFlag("steps", str(values.steps), 500, { min: 1, integer: true });
  const repeats = numberFlag("repeats", str(values.repeats), values.scale ? 5 : 7, {
    min: 1,
    integer: true,
  });
  if (values.heap !== undefined) {
    const n = numberFlag("heap", str(values.heap), 100_000, { min: 20, integer: true });
    const mb = (await heapSeries(n)).map((b) => +(b / 2 ** 20).toFixed(2));
    if (values.json) console.log(JSON.stringify({ case: "ex4-heap", steps: n, heapUsedMiB: mb }));
    else console.log(`ex4 heapUsed (MiB) every ${n / 20} steps: ${mb.join(" ")}`);
    return;
  }
  if (values.threads !== undefined) {
    const threads = numberFlag("threads", str(values.threads), 1, { min: 1, integer: true });
    if (setBlasThreads(threads) === 0) {
      throw new UsageError(`--threads sets a native BLAS's threads, and there is none here`);
    }
  }
  const blas = nativeBlas();
  if (values.json) {
    console.log(JSON.stringify({
      case: "paths",
      blas: blas ?? null,
      whyNoBlas: whyNoBlas(),
      blasMin: t.BLAS_MIN,
    }));
  } else console.log(pathLine());
  const timings = values.makemore !== undefined
    ? runMakemore({ types: typesFlag(str(values.makemore)), repeats })
    : values.scale
    ? runScale({ sizes: sizesFlag(str(values.sizes)), repeats })
    : runBench({ dtype, steps, repeats, kernels: !values["no-kernels"] });
  for (const r of timings) print(r, values.json === true, values.scale ? "float32" : dtype);
}

if (import.meta.main) await runMain(main);
