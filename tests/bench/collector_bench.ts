/**
 * `deno bench -A tests/bench/collector_bench.ts`: what the chart trace collector adds to a
 * training-like loop (sampling every 100 steps), and an unsampled step's cost alone. Timings
 * live here, not in the default suite, whose results must not hang on the machine's load.
 */
import { TraceCollector, traceInto } from "../../viz/mod.ts";
import { demoTraining, lectureDemoGraph } from "../fixtures/viz_demo.ts";

demoTraining({ steps: 50 }).subscribe(() => {}); // warm up the JIT

Deno.bench("400 demo steps", { group: "collector", baseline: true }, () => {
  demoTraining({ steps: 400 }).subscribe(() => {});
});

Deno.bench("400 demo steps, traced every 100", { group: "collector" }, () => {
  const c = new TraceCollector({ every: 100 });
  demoTraining({ steps: 400 }).pipe(traceInto(c)).subscribe(() => {});
});

const unsampled = new TraceCollector({ every: 1_000_000, histogramsEvery: 1_000_000 });
const model = { graph: lectureDemoGraph().graph, params: {}, grads: undefined!, activations: {} };
unsampled.next({ type: "step", step: 0, totalSteps: 1e9, loss: 1, lr: 0.1, model });
let step = 0;
Deno.bench("an unsampled step", () => {
  unsampled.next({ type: "step", step: ++step, totalSteps: 1e9, loss: 1, lr: 0.1, model });
});
