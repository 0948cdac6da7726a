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
export type LoadFailure = "missing" | "type" | "syntax" | "load" | "rules";

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
    args: ["check", "--quiet", "--config", CONFIG, path],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code === 0) return [];
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const found = parseDiagnostics(text);
  if (found.length > 0) return found;
  const first = text.split("\n").find((l) => l.trim() !== "") ?? `deno check exited ${out.code}`;
  return [{
    file: path,
    line: 1,
    column: 1,
    code: "error",
    message: first.replace(/^error: /, ""),
  }];
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

function toPath(url: string): string {
  return url.startsWith("file://") ? fileURLToPath(url) : url;
}

/** Loads a learner's file: type-check (unless told not to), import, find `rules` and the exercise. */
export async function loadLearnerFile(
  path: string,
  options: { typecheck?: boolean } = {},
): Promise<LearnerFile> {
  try {
    if ((await Deno.stat(path)).isDirectory) {
      throw new LearnerFileError(
        `${path} is a directory: pass the file inside it (ninja init DIR writes DIR/backprop.ts)`,
        "missing",
      );
    }
  } catch (e) {
    if (e instanceof NinjagradError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new LearnerFileError(
        `${path} not found: create one with deno task ninja init DIR [--exercise N], then check ` +
          "the file it writes",
        "missing",
      );
    }
    throw new LearnerFileError(`${path} cannot be read: ${firstLine(e)}`, "missing");
  }
  if (options.typecheck !== false) {
    const diagnostics = await typecheck(path);
    if (diagnostics.length > 0) {
      const first = diagnostics[0];
      const syntax = first.code === "SyntaxError";
      const where = first.line > 0 ? `${formatLocation(first)}: ` : "";
      const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
      throw new LearnerFileError(
        `${where}${formatDiagnostic(first)}${more}${
          upstreamHint(first.message)
        }: the file does not ${syntax ? "parse" : "type-check"}; fix that line`,
        syntax ? "syntax" : "type",
        diagnostics,
      );
    }
  }
  const url = pathToFileURL(path).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
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
  if (!("rules" in mod)) {
    throw new LearnerFileError(
      `${path} exports no "rules": keep its line export const rules = { ... }`,
      "rules",
    );
  }
  const declared = mod.exercise;
  if (declared !== undefined && !isExerciseNumber(declared)) {
    throw new LearnerFileError(
      `${path} exports exercise = ${JSON.stringify(declared)}: it must be 1, 2, 3 or 4`,
      "rules",
    );
  }
  return { path, url, rules: mod.rules, exercise: declared ?? exerciseOfRules(mod.rules) };
}

/**
 * Where in the file at `url` an error happened: the first stack frame in that file (a rule that
 * threw inside a kernel is shown where it called the kernel), or the location in the message (a
 * syntax error's).
 */
export function errorLocation(e: unknown, url: string): SourceLocation | undefined {
  const text = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
  for (const line of text.split("\n")) {
    const m = /(file:\/\/[^\s()]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (m && m[1] === url) {
      return { file: fileURLToPath(url), line: Number(m[2]), column: Number(m[3]) };
    }
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
  const text = e instanceof Error
    ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}`
    : String(e);
  return text.split("\n")[0];
}
