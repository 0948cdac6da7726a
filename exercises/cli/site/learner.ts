/**
 * The learner's file in the page: its TypeScript made JavaScript (sucrase strips the types and
 * keeps every line where it was, so an error's line is the editor's line), then run as a function
 * whose imports are the engine itself. This is what `importLearnerFile` does for `ninja check`,
 * minus the file system: it runs inside the page's Worker, which plays the sandbox's part.
 * @module
 */
import { transform } from "./deps.ts";
import { Tensor } from "../../../ops/kernels/tensor.ts";
import * as kernels from "../../../ops/kernels/mod.ts";
import { formatShape, sameShape, sizeOf } from "../../../ops/kernels/tensor.ts";
import { NinjagradError } from "../../../ops/kernels/errors.ts";
import * as api from "../../ninja/api.ts";
import { type ExerciseNumber, exerciseOfRules, isExerciseNumber } from "../../ninja/exercises.ts";
import {
  type Diagnostic,
  errorLocation,
  firstLine,
  type LearnerFile,
  LearnerFileError,
} from "../../ninja/source.ts";

/**
 * What a learner's file may import from the project's `mod.ts` in the page: the kernels and
 * tensors its rules are written with (the templates import `kernels as t, Tensor`).
 */
const MOD = { Tensor, kernels, formatShape, sameShape, sizeOf, NinjagradError };

/** The URL the learner's code runs under, so that its stack frames name it (`errorLocation`). */
export function learnerUrl(n: number | string): string {
  return `file:///exercise${n}.ts`;
}

/** A module the learner's file imports, by the end of its URL. */
function imported(specifier: string, path: string): unknown {
  if (/(^|\/)mod\.ts$/.test(specifier)) return MOD;
  if (/(^|\/)exercises\/ninja\/api\.ts$/.test(specifier)) return api;
  throw new LearnerFileError(
    `${path}: imports ${specifier}; in the page a file may import only ninjagrad's mod.ts and ` +
      "exercises/ninja/api.ts (as the template does)",
    "load",
  );
}

/** An import statement at the start of a line (sucrase has removed those of types only). */
const IMPORT =
  /^([ \t]*)import\s*(?:(\*\s*as\s+[\w$]+)|([\w$]+)?\s*,?\s*(\{[^}]*\})?)\s*(?:from\s*)?(["'])([^"']+)\5[ \t]*;?/gm;
/** An exported declaration at the start of a line. */
const EXPORT =
  /^([ \t]*)export\s+(default\s+)?((?:async\s+)?function\*?|const|let|var|class)\s+([\w$]+)/gm;

/**
 * The module as a function body: each import a `require`, each exported declaration a plain one
 * and an `exports.NAME = NAME` at the end. Every line stays where it was, and the learner's own
 * names stay (sucrase's CommonJS transform would rename `t.mull` to `_modts.kernels.mull` in the
 * learner's error messages).
 */
function asFunctionBody(code: string, path: string): string {
  const lines = (text: string) => "\n".repeat(text.split("\n").length - 1);
  const exported: string[] = [];
  let body = code.replace(IMPORT, (all, indent, star, name, named, _q, from) => {
    const req = `require(${JSON.stringify(from)})`;
    const parts = [];
    if (star) parts.push(`const ${star.replace(/^\*\s*as\s+/, "")} = ${req};`);
    if (name) parts.push(`const ${name} = ${req}.default;`);
    if (named) {
      parts.push(`const ${named.replace(/\s+as\s+/g, ": ").replace(/\n/g, " ")} = ${req};`);
    }
    if (!parts.length) parts.push(`${req};`);
    return indent + parts.join(" ") + lines(all);
  });
  body = body.replace(EXPORT, (_all, indent, isDefault, kind, name) => {
    exported.push(isDefault ? `exports.default = ${name};` : `exports.${name} = ${name};`);
    return `${indent}${kind} ${name}`;
  });
  const other = /^[ \t]*export\b.*/m.exec(body);
  if (other) {
    const line = body.slice(0, other.index).split("\n").length;
    throw new LearnerFileError(
      `${path}:${line}:1: the page reads exports written as \`export const NAME = ...\` or ` +
        "`export function NAME`; write this export so",
      "syntax",
      [{ file: path, line, column: 1, code: "SyntaxError", message: "write `export const NAME`" }],
    );
  }
  return `${body}\n;${exported.join(" ")}`;
}

/** The file's TypeScript as a function body (same lines), or its syntax error at its line. */
export function compileLearner(source: string, path: string): string {
  let code: string;
  try {
    code = transform(source, {
      transforms: ["typescript"],
      disableESTransforms: true,
      filePath: path,
    }).code;
  } catch (e) {
    const loc = (e as { loc?: { line: number; column: number } }).loc;
    const message = firstLine(e).replace(/^SyntaxError: /, "").replace(/ \(\d+:\d+\)$/, "");
    const diagnostic: Diagnostic = {
      file: path,
      line: loc?.line ?? 0,
      column: (loc?.column ?? 0) + 1,
      code: "SyntaxError",
      message,
    };
    throw new LearnerFileError(
      `${path}:${diagnostic.line}:${diagnostic.column}: ${message}: the file does not parse; ` +
        "fix that line",
      "syntax",
      loc ? [diagnostic] : [],
    );
  }
  return asFunctionBody(code, path);
}

/**
 * Runs the learner's file (already compiled) and finds its `rules` and exercise, as
 * `importLearnerFile` does. `url` names the code in stack traces.
 */
export function runLearner(code: string, url: string): LearnerFile {
  const path = url.replace(/^file:\/\//, "");
  const exports: Record<string, unknown> = {};
  try {
    // Indirect eval: global scope, the code on the wrapper's first line so its lines stay put.
    const body = (0, eval)(
      `(function (require, exports, module) {${code}\n})\n//# sourceURL=${url}`,
    ) as (r: (s: string) => unknown, e: object, m: object) => void;
    body((s) => imported(s, path), exports, { exports });
  } catch (e) {
    if (e instanceof LearnerFileError) throw e;
    const at = errorLocation(e, url);
    const diagnostic: Diagnostic = {
      ...(at ?? { file: path, line: 0, column: 0 }),
      code: "error",
      message: firstLine(e),
    };
    throw new LearnerFileError(
      `${at ? `${path}:${at.line}:${at.column}` : path}: ${firstLine(e)} (while loading the file)`,
      "load",
      at ? [diagnostic] : [],
    );
  }
  if (!("rules" in exports)) {
    throw new LearnerFileError(
      `${path} exports no "rules": keep its line export const rules = { ... }`,
      "rules",
    );
  }
  const declared = exports.exercise;
  if (declared !== undefined && !isExerciseNumber(declared)) {
    throw new LearnerFileError(
      `${path} exports exercise = ${String(JSON.stringify(declared))}: it must be 1, 2, 3 or 4`,
      "rules",
    );
  }
  let exercise: ExerciseNumber;
  try {
    exercise = declared ?? exerciseOfRules(exports.rules);
  } catch (e) {
    if (e instanceof NinjagradError) throw e;
    const at = errorLocation(e, url);
    throw new LearnerFileError(
      `${at ? `${path}:${at.line}:${at.column}` : path}: ${firstLine(e)} (while reading its rules)`,
      "rules",
    );
  }
  return { path, url, rules: exports.rules, exercise };
}

/** {@link compileLearner} then {@link runLearner}: the file's rules, or why it cannot be checked. */
export function loadLearner(source: string, n: number): LearnerFile {
  const url = learnerUrl(n);
  return runLearner(compileLearner(source, url.replace(/^file:\/\//, "")), url);
}
