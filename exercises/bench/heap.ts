/**
 * `deno run -A --v8-flags=--expose-gc exercises/bench/heap.ts [ex4|small] [STEPS]`
 *
 * Runs a workload's step STEPS times and samples `Deno.memoryUsage().heapUsed` 20 times along
 * the way, each sample after a full collection (when `gc` is exposed), so the series shows what
 * stays alive: flat means steady-state steps keep nothing. Prints one JSON line.
 */
import { trainingData } from "./timing.ts";
import { compositeNet, ex4Workload } from "./workloads.ts";

const gc = (globalThis as { gc?: () => void }).gc;

/** heapUsed after each twentieth of `steps` calls of `step` (after a full collection if possible). */
export function heapSeries(step: () => void, steps: number, samples = 20): number[] {
  const every = Math.max(1, Math.floor(steps / samples));
  const out: number[] = [];
  for (let i = 1; i <= steps; i++) {
    step();
    if (i % every === 0) {
      gc?.();
      out.push(Deno.memoryUsage().heapUsed);
    }
  }
  return out;
}

if (import.meta.main) {
  const which = Deno.args[0] ?? "ex4";
  const steps = Number(Deno.args[1] ?? 100_000);
  const step = which === "small"
    ? compositeNet("float32", 1).step
    : ex4Workload(trainingData(), "float32").step;
  for (let i = 0; i < Math.min(2000, steps); i++) step(); // warm-up: buffers and compiled code
  const series = heapSeries(step, steps);
  console.log(JSON.stringify({
    case: `${which}-heap`,
    steps,
    gc: gc !== undefined,
    heapUsedBytes: series,
  }));
}
