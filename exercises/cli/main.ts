/**
 * What every command-line entry point shares: flag parsing with one-line usage errors, and a
 * runner that prints a failure as one line (never a stack) and exits with its code.
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NinjagradError, UsageError } from "../../graph/errors.ts";

/** A flag: a string value, or a boolean switch. */
export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** Parses `args` against `spec`; unknown flags and missing values are `UsageError`s. */
export function parseFlags(command: string, args: string[], spec: FlagSpec) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new UsageError(
      `${command}: ${
        msg.replace(/\. To specify a positional.*$/, "")
      } (see the README for its flags)`,
    );
  }
}

/** A numeric flag: absent gives `fallback`; otherwise a number within [min, max], integer if asked. */
export function numberFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  { min = -Infinity, max = Infinity, integer = false }: {
    min?: number;
    max?: number;
    integer?: boolean;
  } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`--${name} must be a number, got "${value}"`);
  }
  if (integer && !Number.isInteger(n)) {
    throw new UsageError(`--${name} must be a whole number, got ${value}`);
  }
  if (n < min || n > max) {
    const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
    throw new UsageError(`--${name} must be ${range}, got ${value}`);
  }
  return n;
}

/** A flag with a fixed set of values. */
export function choiceFlag<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${value}"`);
  }
  return value as T;
}

/**
 * A path the user typed, made absolute against the directory they typed it in: `deno task` runs
 * in the repository root and keeps the caller's directory in INIT_CWD. URLs pass unchanged.
 */
export function userPath(path: string): string {
  if (isAbsolute(path) || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path;
  return resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), path);
}

/**
 * Runs a CLI's main function: a `NinjagradError` prints its one-line message and exits with its
 * code (2 for usage, 1 otherwise); anything else is a bug and keeps its stack.
 */
export async function runMain(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof NinjagradError) {
      console.error(`error: ${e.message}`);
      Deno.exit(e.exitCode);
    }
    throw e;
  }
}
