/** Timing helpers shared by exercises/cli/bench.ts and tests/side_by_side.ts. */
import process from "node:process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lectureNames } from "../data.ts";
import { prepareData, type TrainData } from "../train/data.ts";

/** The lecture's names file, shipped in the repository (the PyTorch side reads it by path). */
export const NAMES_PATH = fileURLToPath(new URL("../data/names.txt", import.meta.url));

/** The lecture's data, split as the lecture splits it. */
export function trainingData(): TrainData {
  return prepareData(lectureNames(), 3, "names.txt");
}

/**
 * A timed case. `msPerStep` is the median over repeats of the process's CPU time (user + system)
 * per step: on a shared machine it moves far less than wall time, which only counts while this
 * process is scheduled no more than the others. `wallMsPerStep` is the wall-clock median.
 */
export interface Timing {
  case: string;
  msPerStep: number;
  wallMsPerStep: number;
  repeats: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Calls before timing, at least: V8 keeps compiling the step's functions with its optimising
 * compiler on background threads, which CPU time counts, for the first 20,000 calls or so (a
 * function called once a step gets hot late). Timed after 5,000 calls, exercise 4's step showed
 * 12 µs of those threads' CPU time per step (/proc/self/task/∗/schedstat) that a long run never
 * pays again: CPU time 73 µs against 60 µs of wall time. After 30,000, none.
 */
export const WARMUP = 30_000;

/** Times `fn`: `warmup` calls, then `repeats` runs of `steps` calls each. */
export function time(
  name: string,
  fn: () => void,
  { steps, repeats, warmup = Math.max(steps, WARMUP) }: {
    steps: number;
    repeats: number;
    warmup?: number;
  },
): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const cpu: number[] = [], wall: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    for (let i = 0; i < steps; i++) fn();
    const t1 = performance.now(), c1 = process.cpuUsage(c0);
    wall.push((t1 - t0) / steps);
    cpu.push((c1.user + c1.system) / 1000 / steps);
  }
  return { case: name, msPerStep: median(cpu), wallMsPerStep: median(wall), repeats: cpu };
}

/**
 * Times a case whose step may take anything from 0.05 ms to 100 ms: warms up for about
 * `warmupMs` (at most `WARMUP` calls: small steps need the calls, large ones the time only
 * once), then `repeats` runs of as many steps as fill about `repeatMs` each.
 */
export function timeFor(
  name: string,
  fn: () => void,
  { repeats, warmupMs = 1500, repeatMs = 400 }: {
    repeats: number;
    warmupMs?: number;
    repeatMs?: number;
  },
): Timing {
  let calls = 0;
  const t0 = performance.now();
  do {
    fn();
    calls++;
  } while (calls < WARMUP && performance.now() - t0 < warmupMs);
  const perCall = (performance.now() - t0) / calls;
  const steps = Math.max(1, Math.round(repeatMs / perCall));
  return time(name, fn, { steps, repeats, warmup: 0 });
}

/** The repository root, for spawning scripts next to this one. */
export const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
