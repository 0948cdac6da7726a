/**
 * The fast-check run parameters of the property tests: one seed for the whole file, from
 * NINJAGRAD_FC_SEED when set (to replay a failure or to explore: NINJAGRAD_FC_SEED=random draws
 * one and prints it), else a fixed one, so that the default suite (and CI) runs the same cases
 * every time and a failure there is a failure of the code, not of the draw. NINJAGRAD_FC_RUNS overrides the number of runs (a soak run;
 * replaying needs the number of runs the failure ran with). NINJAGRAD_FC_PATH, with `--filter` for
 * the failing test, replays just the counterexample at fast-check's printed path.
 */
import type fc from "fast-check";

function envInt(name: string): number | undefined {
  const text = Deno.env.get(name);
  if (text === undefined || text.trim() === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`${name} must be an integer, got "${text}"`);
  }
  return value;
}

/** The seed of the default suite. */
export const DEFAULT_FC_SEED = 20240617;

/** The seed of every property in the run. */
export const FC_SEED: number = Deno.env.get("NINJAGRAD_FC_SEED")?.trim() === "random"
  ? crypto.getRandomValues(new Int32Array(1))[0]
  : envInt("NINJAGRAD_FC_SEED") ?? DEFAULT_FC_SEED;

const RUNS = envInt("NINJAGRAD_FC_RUNS");
const PATH = Deno.env.get("NINJAGRAD_FC_PATH") || undefined;

/**
 * fc.assert's parameters: the file's seed, `numRuns` (unless NINJAGRAD_FC_RUNS says otherwise),
 * and the property's own error in the report next to the seed, the path and the counterexample.
 */
export function fcParams<T>(numRuns: number): fc.Parameters<T> {
  return { seed: FC_SEED, path: PATH, numRuns: RUNS ?? numRuns, includeErrorInReport: true };
}
