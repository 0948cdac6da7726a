/**
 * The flags that choose an exercise's minibatch, shared by `exercise`, `chart` and `ninja check`:
 * `--data`, `--dtype`, `--seed`, `--rng`.
 */
import { choiceFlag, type FlagSpec, numberFlag, userPath } from "./main.ts";
import { LECTURE_SEEDS, RNG_KINDS } from "../rng/recipe.ts";
import type { SetupOptions } from "../setup.ts";

/** The flags, for `parseFlags`. */
export const SETUP_FLAGS: FlagSpec = {
  data: { type: "string" },
  dtype: { type: "string" },
  seed: { type: "string" },
  rng: { type: "string" },
};

/** The setup options from parsed {@link SETUP_FLAGS}, each checked (a bad one is a UsageError). */
export function setupOptionsFromFlags(
  values: Record<string, string | boolean | undefined>,
): SetupOptions {
  const str = (
    name: string,
  ) => (typeof values[name] === "string" ? values[name] as string : undefined);
  const data = str("data");
  return {
    data: data === undefined ? undefined : userPath(data),
    dtype: choiceFlag("dtype", str("dtype"), ["float32", "float64"] as const, "float32"),
    seed: numberFlag("seed", str("seed"), LECTURE_SEEDS.seed, {
      min: 0,
      max: 2 ** 32 - 1,
      integer: true,
    }),
    rng: choiceFlag("rng", str("rng"), RNG_KINDS, "seedrandom"),
  };
}
