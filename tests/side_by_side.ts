/**
 * `deno run -A tests/side_by_side.ts [--json] [--steps N] [--repeats R] [--rounds K]`
 *
 * The engine against PyTorch on the lecture's two workloads, in one run: tests/side_by_side.py
 * (PyTorch 1.13, one thread) and exercises/cli/bench.ts's engine cases take turns K times, and the
 * ratios PyTorch ms / engine ms of the medians are printed. Needs /usr/bin/python3 with torch
 * (`apt-get install python3-torch`); not part of `deno task test`.
 *
 * Cases: ex4-step (one exercise-4 training step: batch sampling, forward, the hand-written
 * backward, SGD) against PyTorch's manual backward both as the lecture writes it (dC by a Python
 * loop over the batch) and vectorised (index_add_); ex1-step (the atomic forward and backward)
 * against loss.backward().
 */
import { NinjagradError, UsageError } from "../ops/kernels/errors.ts";
import { numberFlag, parseFlags, runMain } from "../exercises/cli/main.ts";
import { runBench } from "../exercises/cli/bench.ts";
import { NAMES_PATH, ROOT } from "../exercises/bench/timing.ts";
import { join } from "node:path";

const PYTHON = "/usr/bin/python3";

/** PyTorch's timings: msPerStep (CPU) and wallMsPerStep by case. */
async function torchRound(steps: number, repeats: number): Promise<Record<string, number[]>> {
  const script = join(ROOT, "tests", "side_by_side.py");
  const args = [script, NAMES_PATH, "--steps", String(steps), "--repeats", String(repeats)];
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, { args }).output();
  if (code !== 0) {
    const err = new TextDecoder().decode(stderr).trim().split("\n").pop();
    throw new NinjagradError(`the PyTorch side failed: ${err}`);
  }
  const out: Record<string, number[]> = {};
  for (const line of new TextDecoder().decode(stdout).trim().split("\n")) {
    const r = JSON.parse(line) as { case: string; msPerStep: number; wallMsPerStep: number };
    out[r.case] = [r.msPerStep, r.wallMsPerStep];
  }
  return out;
}

async function hasTorch(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(PYTHON, { args: ["-c", "import torch"] }).output();
    return code === 0;
  } catch {
    return false;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const { values } = parseFlags("side_by_side", Deno.args, {
    json: { type: "boolean" },
    steps: { type: "string" },
    repeats: { type: "string" },
    rounds: { type: "string" },
  });
  const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);
  const steps = numberFlag("steps", str(values.steps), 400, { min: 1, integer: true });
  const repeats = numberFlag("repeats", str(values.repeats), 5, { min: 1, integer: true });
  const rounds = numberFlag("rounds", str(values.rounds), 3, { min: 1, integer: true });
  if (!(await hasTorch())) {
    throw new UsageError(`${PYTHON} cannot import torch: apt-get install -y python3-torch`);
  }
  const torch: Record<string, number[][]> = {}, engine: Record<string, number[][]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, t] of Object.entries(await torchRound(steps, repeats))) {
      (torch[name] ??= []).push(t);
    }
    const ours = runBench({ dtype: "float32", steps, repeats, kernels: false });
    for (const t of ours) (engine[t.case] ??= []).push([t.msPerStep, t.wallMsPerStep]);
  }
  const pairs: [string, string][] = [
    ["ex4-step", "ex4-step"],
    ["ex4-step", "ex4-step-index-add"],
    ["ex1-step", "ex1-step"],
  ];
  for (const [ours, theirs] of pairs) {
    const e = median(engine[ours].map((x) => x[0])), t = median(torch[theirs].map((x) => x[0]));
    const ew = median(engine[ours].map((x) => x[1])), tw = median(torch[theirs].map((x) => x[1]));
    const row = {
      case: ours,
      torchCase: theirs,
      engineMsPerStep: e,
      torchMsPerStep: t,
      speedup: t / e,
      engineWallMsPerStep: ew,
      torchWallMsPerStep: tw,
      wallSpeedup: tw / ew,
    };
    if (values.json) console.log(JSON.stringify(row));
    else {
      console.log(
        `${ours.padEnd(9)} vs torch ${theirs.padEnd(19)} engine ${e.toFixed(4)} ms, torch ${
          t.toFixed(4)
        } ms: ${(t / e).toFixed(2)}x (cpu time)   wall ${ew.toFixed(4)} / ${tw.toFixed(4)} ms: ${
          (tw / ew).toFixed(2)
        }x`,
      );
    }
  }
}

if (import.meta.main) await runMain(main);
