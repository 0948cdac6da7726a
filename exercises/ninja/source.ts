/**
 * A learner's file: type-checked first (`deno check`, whose messages name `file:line:col`), then
 * loaded, with every failure pointing into the file (a syntax error's line, a type error's
 * position and message, the line where a rule threw).
 * @module
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { type ExerciseNumber, exerciseOfRules, isExerciseNumber } from "./exercises.ts";

/** A place in a file. */
export interface SourceLocation {
  /** The file's path. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** A compiler's message about a place in a file: `TS2339 Property 'x' does not exist …`. */
export interface Diagnostic extends SourceLocation {
  /** `TS2339`, or `SyntaxError`. */
  code: string;
  /** The message's first line. */
  message: string;
}

/** Why a learner's file cannot be checked. */
export type LoadFailure =
  | "missing"
  | "type"
  | "syntax"
  | "load"
  | "rules"
  /** The file called Deno.exit. */
  | "exit"
  /** Stopped at a time limit (loading, a rule, the whole run). */
  | "timeout"
  /** Stopped at the memory limit. */
  | "memory"
  /** The sandboxed run ended without its report. */
  | "no report"
  /** Stopped by a signal (Ctrl-C). */
  | "stopped";

/** A learner's file that cannot be checked: one line, and the compiler's messages if any. */
export class LearnerFileError extends NinjagradError {
  /** What kind of failure. */
  readonly failure: LoadFailure;
  /** The compiler's messages (type and syntax errors), each at its place. */
  readonly diagnostics: readonly Diagnostic[];
  constructor(message: string, failure: LoadFailure, diagnostics: readonly Diagnostic[] = []) {
    super(message);
    this.name = "LearnerFileError";
    this.failure = failure;
    this.diagnostics = diagnostics;
  }
}

/** A loaded learner's file. */
export interface LearnerFile {
  path: string;
  /** Its file URL, as stack traces name it. */
  url: string;
  /** Its `rules` export, unchecked. */
  rules: unknown;
  /** Its `exercise` export, or the exercise its lines belong to. */
  exercise: ExerciseNumber;
}

/** The repository's deno.json: a learner's file is checked with the project's settings. */
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** `path:line:col`. */
export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/**
 * For `Property 'dhpreact' does not exist on type 'Ex4RuleContext<"h">'`: which upstream
 * gradient the rules of that line do receive (` (line h's rules receive dh …)`), else "".
 */
function upstreamHint(message: string): string {
  const m =
    /^Property '(d\w+)' does not exist on type '(?:Ex\dRuleContext<"(\w+)">|Ex([23])RuleContext)'/
      .exec(message);
  if (!m) return "";
  const line = m[2] ?? (m[3] === "2" ? "loss" : "hpreact");
  return ` (the rules of line ${line} receive its upstream gradient as d${line}, also g)`;
}

/** `TS2339 Property 'x' does not exist …`, `SyntaxError: Expression expected`. */
export function formatDiagnostic(d: Diagnostic): string {
  return d.code === "error"
    ? d.message
    : `${d.code}${d.code === "SyntaxError" ? ":" : ""} ${d.message}`;
}

/**
 * Type-checks the file with `deno check` and returns the compiler's messages (none: it checks).
 * A syntax error is one message too, at its line.
 */
export async function typecheck(path: string): Promise<Diagnostic[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--frozen", "--cached-only", "--config", CONFIG, path],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code === 0) return [];
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const found = parseDiagnostics(text);
  if (found.length > 0) return found;
  const lock = lockfileRefusal(text, path);
  if (lock) return [lock];
  const first = text.split("\n").find((l) => l.trim() !== "") ?? `deno check exited ${out.code}`;
  return [{
    file: path,
    line: 1,
    column: 1,
    code: "error",
    message: first.replace(/^error: /, ""),
  }];
}

/**
 * Deno's "The lockfile is out of date" (`--frozen`: a learner's file may not add a package to the
 * project, nor rewrite its deno.lock), as the import that caused it, at its line; or, when the
 * file does not name the package, the project's own lockfile to renew.
 */
export function lockfileRefusal(text: string, path: string): Diagnostic | undefined {
  if (!/lockfile is out of date/i.test(text)) return undefined;
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const added = /\+\s*"((?:npm|jsr):[^"]+|https?:[^"]+)"/.exec(plain)?.[1];
  let source = "";
  try {
    source = Deno.readTextFileSync(path);
  } catch { /* unreadable: the project is blamed */ }
  const name = added?.replace(/^(npm|jsr):/, "").replace(/@[^@/]*$/, "");
  const at = name ? source.split("\n").findIndex((l) => l.includes(name)) : -1;
  if (at < 0) {
    return {
      file: path,
      line: 0,
      column: 0,
      code: "error",
      message: "the project's deno.lock is out of date: run deno install in the project once",
    };
  }
  return {
    file: path,
    line: at + 1,
    column: source.split("\n")[at].indexOf(name!) + 1,
    code: "error",
    message: `the file imports ${added}, which the project does not have: a learner's file ` +
      "imports only from the project (its packages are not added for it)",
  };
}

/** `deno check`'s messages: `TS2339 [ERROR]: …` or `error: SyntaxError: …`, then `at URL:L:C`. */
export function parseDiagnostics(text: string): Diagnostic[] {
  const lines = text.split("\n");
  const found: Diagnostic[] = [];
  for (let i = 0; i < lines.length; i++) {
    const ts = /^(TS\d+) \[ERROR\]: (.*)$/.exec(lines[i]);
    const syntax = /^error: (SyntaxError): (.*)$/.exec(lines[i]);
    const head = ts ?? syntax;
    if (!head) continue;
    let at: RegExpExecArray | null = null;
    for (let j = i + 1; j < lines.length && !at; j++) {
      if (/^(TS\d+ \[ERROR\]|error: )/.test(lines[j])) break;
      at = /^\s+at (\S+):(\d+):(\d+)$/.exec(lines[j]);
    }
    found.push({
      file: at ? toPath(at[1]) : "",
      line: at ? Number(at[2]) : 0,
      column: at ? Number(at[3]) : 0,
      code: head[1],
      message: head[2].replace(/\.$/, ""),
    });
  }
  return found;
}

/** The path of a file URL, percent-encoded or not; "" if it is none. */
function pathOf(url: string): string {
  try {
    return fileURLToPath(new URL(url));
  } catch {
    return "";
  }
}

function toPath(url: string): string {
  return url.startsWith("file://") ? fileURLToPath(url) : url;
}

/** The largest learner's file `ninja check` reads: a file of rules is a few kilobytes. */
export const MAX_LEARNER_BYTES = 1024 * 1024;

/**
 * Checks that `path` is a learner's file to read: a regular file (not a directory, a FIFO, a
 * device or a socket, which would hang or never end) of at most {@link MAX_LEARNER_BYTES}.
 */
export async function refuseUnreadable(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new LearnerFileError(
        `${path} not found: create one with deno task ninja init DIR [--exercise N], then check ` +
          "the file it writes",
        "missing",
      );
    }
    throw new LearnerFileError(`${path} cannot be read: ${firstLine(e)}`, "missing");
  }
  if (info.isDirectory) {
    throw new LearnerFileError(
      `${path} is a directory: pass the file inside it (ninja init DIR writes DIR/backprop.ts)`,
      "missing",
    );
  }
  if (!info.isFile) {
    const kind = info.isFifo
      ? "a FIFO"
      : info.isCharDevice || info.isBlockDevice
      ? "a device"
      : info.isSocket
      ? "a socket"
      : "not a regular file";
    throw new LearnerFileError(
      `${path} is ${kind}, not a file of rules: pass the .ts file that ninja init wrote`,
      "missing",
    );
  }
  if (info.size > MAX_LEARNER_BYTES) {
    throw new LearnerFileError(
      `${path} is ${(info.size / 1024 / 1024).toFixed(1)} MiB, over the ${
        MAX_LEARNER_BYTES / 1024 / 1024
      } MiB a file of rules may have: pass the .ts file that ninja init wrote`,
      "missing",
    );
  }
}

/**
 * A learner's file before it runs: refused unless it is a regular file of a sane size, then
 * type-checked (unless told not to). A failure is a {@link LearnerFileError} at its line.
 */
export async function vetLearnerFile(
  path: string,
  options: { typecheck?: boolean } = {},
): Promise<void> {
  await refuseUnreadable(path);
  if (options.typecheck === false) return;
  const diagnostics = await typecheck(path);
  if (diagnostics.length === 0) return;
  const first = diagnostics[0];
  const syntax = first.code === "SyntaxError";
  const where = first.line > 0 ? `${formatLocation(first)}: ` : "";
  const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
  throw new LearnerFileError(
    `${where}${formatDiagnostic(first)}${more}${upstreamHint(first.message)}: the file does not ${
      syntax ? "parse" : "type-check"
    }; fix that line`,
    syntax ? "syntax" : "type",
    diagnostics,
  );
}

/**
 * Loads a learner's file in this process: vetted ({@link vetLearnerFile}), then imported. The
 * commands run it in a sandboxed child instead (`sandbox.ts`); tests and the notebook use this.
 */
export async function loadLearnerFile(
  path: string,
  options: { typecheck?: boolean } = {},
): Promise<LearnerFile> {
  await vetLearnerFile(path, options);
  return await importLearnerFile(path);
}

/** Imports a vetted learner's file and finds its `rules` and its exercise. */
export async function importLearnerFile(path: string): Promise<LearnerFile> {
  const url = pathToFileURL(path).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
    const refused = refusal(e, url, path);
    if (refused) throw refused;
    const lock = lockfileRefusal(e instanceof Error ? e.message : String(e), path);
    if (lock) {
      throw new LearnerFileError(
        `${lock.line > 0 ? `${formatLocation(lock)}: ` : ""}${lock.message}`,
        "load",
      );
    }
    const at = errorLocation(e, url);
    const syntax = e instanceof Error && /SyntaxError/.test(`${e.name} ${e.message}`);
    const message = firstLine(e).replace(/^(TypeError: )?SyntaxError: /, "");
    const diagnostic: Diagnostic = {
      ...(at ?? { file: path, line: 0, column: 0 }),
      code: syntax ? "SyntaxError" : "error",
      message,
    };
    throw new LearnerFileError(
      `${at ? formatLocation(at) : path}: ${formatDiagnostic(diagnostic)}${
        syntax ? ": the file does not parse; fix that line" : " (while loading the file)"
      }`,
      syntax ? "syntax" : "load",
      at ? [diagnostic] : [],
    );
  }
  let rules: unknown, declared: unknown;
  try {
    if (!("rules" in mod)) {
      throw new LearnerFileError(
        `${path} exports no "rules": keep its line export const rules = { ... }`,
        "rules",
      );
    }
    rules = mod.rules;
    declared = mod.exercise;
  } catch (e) {
    if (e instanceof LearnerFileError) throw e;
    throw located(e, url, path, "while reading its exports");
  }
  if (declared !== undefined && !isExerciseNumber(declared)) {
    throw new LearnerFileError(
      `${path} exports exercise = ${String(JSON.stringify(declared))}: it must be 1, 2, 3 or 4`,
      "rules",
    );
  }
  let exercise: ExerciseNumber;
  try {
    exercise = declared ?? exerciseOfRules(rules);
  } catch (e) {
    if (e instanceof NinjagradError) throw e;
    throw located(e, url, path, "while reading its rules");
  }
  return { path, url, rules, exercise };
}

/**
 * An error thrown by the learner's code outside a rule (a getter, a proxy's trap), in one line
 * at its place.
 */
export function located(e: unknown, url: string, path: string, when: string): LearnerFileError {
  const refused = refusal(e, url, path);
  if (refused) return refused;
  const at = errorLocation(e, url);
  return new LearnerFileError(
    `${at ? formatLocation(at) : path}: ${firstLine(e)} (${when})`,
    "rules",
  );
}

/** What the sandbox lets a learner's file do, said when it refuses something. */
export const SANDBOX_ALLOWS = "a learner's file may read itself and the project, and nothing " +
  "else: no writes, network, environment, subprocesses or FFI";

/**
 * The sandbox's refusal of something the file tried (Deno's `NotCapable`: "Requires write access
 * to …, run again with --allow-write", advice a learner must not follow), in one line.
 */
export function refusal(e: unknown, url: string, path: string): LearnerFileError | undefined {
  const denied = e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied;
  // An import the sandbox may not read fails as a TypeError with Deno's permission message.
  const imported = e instanceof TypeError &&
    /^Requires read access to (".*?"), run again/.exec(e.message)?.[1];
  if (!denied && !imported) return undefined;
  const at = errorLocation(e, url);
  const where = at ? formatLocation(at) : path;
  if (imported) {
    return new LearnerFileError(
      `${where}: refused: the file imports ${imported}, outside the project; ${SANDBOX_ALLOWS}. ` +
        "Keep your code in this one file",
      "load",
    );
  }
  const what = /^Requires (.*?)(?:, run again with|$)/.exec(firstLine(e).replace(/^\w+: /, ""));
  return new LearnerFileError(
    `${where}: refused: the file ${
      what ? `needs ${what[1]}` : `tried ${firstLine(e)}`
    }; ${SANDBOX_ALLOWS}. Remove that line`,
    "load",
  );
}

/**
 * Where in the file at `url` an error happened: the first stack frame in that file (a rule that
 * threw inside a kernel is shown where it called the kernel), or the location in the message (a
 * syntax error's).
 */
export function errorLocation(e: unknown, url: string): SourceLocation | undefined {
  let text: string;
  try {
    text = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
  } catch {
    return undefined; // a learner's object whose message or stack throws
  }
  const file = pathOf(url);
  // Stack traces spell the path as it is (spaces, accents), not percent-encoded as in `url`.
  for (const line of text.split("\n")) {
    const m = /(file:\/\/.+?):(\d+):(\d+)\)?\s*$/.exec(line.replace(/^.*?\(?(?=file:)/, ""));
    if (m && pathOf(m[1]) === file) return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/**
 * The line at `loc` with a caret under its column, for the terminal:
 * ```
 *   12 |     hpreact: ({ dh }) => t.mull(dh, 2),
 *      |                            ^
 * ```
 * Empty when the file cannot be read.
 */
export function excerpt(loc: SourceLocation): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(loc.file);
  } catch {
    return "";
  }
  const source = text.split("\n")[loc.line - 1];
  if (source === undefined) return "";
  const number = String(loc.line);
  const gutter = " ".repeat(number.length);
  return `  ${number} | ${source}\n  ${gutter} | ${" ".repeat(Math.max(0, loc.column - 1))}^`;
}

/** An error's first line, with its name unless it is a plain Error. */
export function firstLine(e: unknown): string {
  let text: string;
  try {
    text = e instanceof Error
      ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}`
      : String(e);
  } catch {
    // A thrown object whose name, message or toString throws in turn (a learner's proxy).
    text = "a value that cannot be shown";
  }
  return text.split("\n")[0];
}
