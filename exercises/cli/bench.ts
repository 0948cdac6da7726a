/**
 * `deno task bench [--json] [--dtype float32|float64] [--steps N] [--repeats R] [--heap STEPS]`
 *
 * Times the lecture's two workloads through the engine (median ms per step over several repeats,
 * after a warm-up) and the kernels they spend their time in. `--json` prints one line per case,
 * `{"case":"ex4-step","msPerStep":…}` (msPerStep: median CPU time per step; wallMsPerStep too).
 * `--heap STEPS` runs that many ex4 steps (float32) and samples `Deno.memoryUsage().heapUsed`
 * after full collections along the way: a flat series means steady-state steps keep nothing.
 */
import { choiceFlag, numberFlag, parseFlags, runMain } from "./main.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { type FloatDType, Tensor } from "../../ops/kernels/tensor.ts";
import * as t from "../../ops/kernels/mod.ts";
import { time, type Timing, trainingData } from "../bench/timing.ts";
import { ex1Workload, ex4Workload } from "../bench/workloads.ts";

/** Every case of the bench, timed in one process so that their ratios are comparable. */
export function runBench(
  opts: { dtype: FloatDType; steps: number; repeats: number; kernels: boolean },
): Timing[] {
  const data = trainingData();
  const { dtype, steps, repeats } = opts;
  const out: Timing[] = [];
  const ex4 = ex4Workload(data, dtype);
  out.push(time("ex4-step", ex4.step, { steps, repeats }));
  const ex1 = ex1Workload(data, dtype);
  out.push(time("ex1-step", ex1.step, { steps, repeats }));
  if (opts.kernels) out.push(...kernelCases(dtype, steps, repeats));
  return out;
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

async function main(): Promise<void> {
  const { values } = parseFlags("bench", Deno.args, {
    json: { type: "boolean" },
    dtype: { type: "string" },
    steps: { type: "string" },
    repeats: { type: "string" },
    heap: { type: "string" },
    "no-kernels": { type: "boolean" },
  });
  const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);
  const dtype = choiceFlag("dtype", str(values.dtype), ["float32", "float64"] as const, "float32");
  const steps = numberFlag("steps", str(values.steps), 500, { min: 1, integer: true });
  const repeats = numberFlag("repeats", str(values.repeats), 7, { min: 1, integer: true });
  if (values.heap !== undefined) {
    const n = numberFlag("heap", str(values.heap), 100_000, { min: 20, integer: true });
    const mb = (await heapSeries(n)).map((b) => +(b / 2 ** 20).toFixed(2));
    if (values.json) console.log(JSON.stringify({ case: "ex4-heap", steps: n, heapUsedMiB: mb }));
    else console.log(`ex4 heapUsed (MiB) every ${n / 20} steps: ${mb.join(" ")}`);
    return;
  }
  const timings = runBench({ dtype, steps, repeats, kernels: !values["no-kernels"] });
  for (const r of timings) {
    if (values.json) {
      const { case: name, msPerStep, wallMsPerStep } = r;
      console.log(JSON.stringify({ case: name, msPerStep, wallMsPerStep, dtype }));
    } else {
      const ms = (x: number) => x.toFixed(4).padStart(8);
      console.log(
        `${r.case.padEnd(28)} ${ms(r.msPerStep)} ms cpu ${ms(r.wallMsPerStep)} ms wall (${dtype})`,
      );
    }
  }
}

if (import.meta.main) await runMain(main);
