/**
 * What every command-line entry point shares: flag parsing with one-line usage errors, and a
 * runner that prints a failure as one line (never a stack) and exits with its code.
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";

/** A flag: a string value, or a boolean switch. */
export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/**
 * Parses `args` against `spec`; unknown flags, missing values and values given to switches are
 * `UsageError`s naming the flag. A value may start with "-" (`--lr -1`): the flag's own check
 * then says what is wrong with it, instead of node:util's "argument is ambiguous".
 */
export function parseFlags(command: string, args: string[], spec: FlagSpec, usage?: string) {
  // Every command answers --help: with its own text where it has one, else with `usage`.
  const stop = args.indexOf("--");
  const shorts = Object.values(spec).some((f) => f.short === "h");
  if (
    !Object.hasOwn(spec, "help") &&
    (stop < 0 ? args : args.slice(0, stop)).some((a) => a === "--help" || (a === "-h" && !shorts))
  ) {
    throw new HelpRequested(usage ?? flagList(command, spec));
  }
  const normalized = normalizeArgs(command, args, spec);
  try {
    return parseArgs({ args: normalized, options: spec, allowPositionals: true, strict: true });
  } catch (e) {
    // normalizeArgs catches what users type; this is the net for whatever it lets through.
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new UsageError(`${command}: ${msg} (see the README for its flags)`);
  }
}

/** `--help` of a command whose flags have no `help` of their own: `runMain` prints the text. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super(text);
    this.name = "HelpRequested";
  }
}

/** A command's flags, as its --help when it has no text of its own. */
function flagList(command: string, spec: FlagSpec): string {
  const flags = Object.entries(spec).map(([n, f]) =>
    `--${n}${f.type === "string" ? " VALUE" : ""}`
  );
  return `deno task ${command} [flags]; its flags: ${flags.join(", ")} (see the README)`;
}

/** A number written with a leading minus: a flag's value, never a flag. */
const NEGATIVE_NUMBER = /^-(?:\d|\.\d|Infinity$|NaN$)/;

/**
 * Rewrites every flag as `--name=value` (or `--name` for a switch), so that node:util's parser
 * never has to guess whether "-1" is a value or a flag, and checks names and values on the way.
 */
function normalizeArgs(command: string, args: string[], spec: FlagSpec): string[] {
  const out: string[] = [];
  const given = new Map<string, string>();
  /** A flag given twice is refused: which one was meant cannot be told (`--steps 10 --steps 20`). */
  const once = (name: string, typed: string) => {
    const first = given.get(name);
    if (first !== undefined) {
      throw new UsageError(
        `${command}: --${name} is given twice (${first}, then ${typed}); give it once`,
      );
    }
    given.set(name, typed);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (NEGATIVE_NUMBER.test(arg)) {
      // node:util would read it as a flag; no command takes a number on its own.
      throw new UsageError(`${command}: unexpected argument ${arg}: a value follows its flag`);
    }
    if (!arg.startsWith("-") || arg === "-") {
      out.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const eq = arg.indexOf("=");
    const key = long ? arg.slice(2, eq < 0 ? undefined : eq) : arg.slice(1, 2);
    const name = long
      ? (Object.hasOwn(spec, key) ? key : undefined)
      : Object.keys(spec).find((k) => spec[k].short === key);
    if (name === undefined) throw unknownFlag(command, long ? `--${key}` : `-${key}`, spec);
    const inline = long ? (eq < 0 ? undefined : arg.slice(eq + 1)) : arg.slice(2) || undefined;
    if (spec[name].type === "boolean") {
      if (inline !== undefined) {
        throw new UsageError(`${command}: --${name} is a switch and takes no value, got "${arg}"`);
      }
      once(name, arg);
      out.push(`--${name}`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`${command}: --${name} needs a value`);
      if (next.startsWith("-") && !NEGATIVE_NUMBER.test(next)) {
        throw new UsageError(
          `${command}: --${name} needs a value, got the flag ${next} (for a value that starts ` +
            `with "-", write --${name}=${next})`,
        );
      }
      value = next;
      i++;
    }
    if (value.trim() === "") throw new UsageError(`${command}: --${name} needs a value, got ""`);
    once(name, `--${name} ${value}`);
    out.push(`--${name}=${value}`);
  }
  return out;
}

/** `unknown flag --stesp; did you mean --steps?`, or the list of flags when nothing is close. */
function unknownFlag(command: string, flag: string, spec: FlagSpec): UsageError {
  const names = Object.keys(spec);
  const typed = flag.replace(/^-+/, "");
  const close = names
    .map((n) => ({ n, d: editDistance(typed, n) }))
    .filter(({ n, d }) => d <= Math.min(2, Math.floor(n.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  const hint = close
    ? `did you mean --${close.n}?`
    : names.length === 0
    ? "it takes no flags"
    : `its flags are ${names.map((n) => `--${n}`).join(", ")}`;
  return new UsageError(`${command}: unknown flag ${flag}; ${hint}`);
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => {
    const row = new Array<number>(b.length + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** A number as people type one in decimal: `5`, `-1`, `0.1`, `2e5`, `.5` (no hex, no spaces). */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * A numeric flag: absent gives `fallback`; otherwise a decimal number within [min, max], and a
 * whole number no larger than 2^53 − 1 if `integer` (past it, doubles skip whole numbers).
 */
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
  if (!DECIMAL.test(value) || !Number.isFinite(n)) {
    const why = /^\s|\s$/.test(value)
      ? " (spaces around it)"
      : /^[+-]?0[xob]/i.test(value)
      ? " in decimal (hex, octal and binary are not read)"
      : "";
    throw new UsageError(`--${name} must be a number${why}, got "${value}"`);
  }
  if (integer && !Number.isInteger(n)) {
    throw new UsageError(`--${name} must be a whole number, got ${value}`);
  }
  if (integer && !Number.isSafeInteger(n)) {
    throw new UsageError(
      `--${name} must be a whole number below 2^53 (9007199254740992), got ${value}`,
    );
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
  // A write past the file-size limit (ulimit -f) raises SIGXFSZ, whose default kills the process
  // without a word and leaves its temp and lock files; caught, the write fails with "File too
  // large" and the command's error path says so in one line and cleans up.
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGXFSZ", () => {});
  try {
    await main();
  } catch (e) {
    if (e instanceof HelpRequested) {
      console.log(e.text);
      Deno.exit(0);
    }
    if (e instanceof NinjagradError) {
      console.error(`error: ${e.message}`);
      Deno.exit(e.exitCode);
    }
    throw e;
  }
}
