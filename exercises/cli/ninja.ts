/**
 * Learner mode for exercise 1.
 * - `deno task ninja init DIR` writes DIR/backprop.ts: every rule blank, the forward pass and the
 *   shapes in comments. It never overwrites a file.
 * - `deno task ninja check FILE [--data PATH] [--dtype float32|float64] [--seed S]
 *   [--rng seedrandom|torch] [--json]` runs the file's rules against the engine and says, per
 *   node, ok / wrong / not written, with the first wrong node in backward order and a hint where
 *   a shape is wrong. Exit 0 once every node is ok.
 * @module
 */
import { join } from "node:path";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { parseFlags, runMain, userPath } from "./main.ts";
import { SETUP_FLAGS, setupOptionsFromFlags } from "./setup_flags.ts";
import { LECTURE_NAMES_SOURCE } from "../data.ts";
import { checkRules, formatCheck, loadLearnerRules } from "../ninja/check.ts";
import { LEARNER_FILE, learnerTemplate } from "../ninja/template.ts";

const USAGE = "ninja init DIR | ninja check FILE [--data PATH] [--dtype float32|float64] " +
  "[--seed S] [--rng seedrandom|torch] [--json]";

/** Dispatches `init` and `check`. */
export async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command === "init") return await init(rest);
  if (command === "check") return await check(rest);
  throw new UsageError(
    `${
      command === undefined ? "ninja needs a command" : `unknown ninja command "${command}"`
    }: ${USAGE}`,
  );
}

/** Writes a blank learner file into DIR (created if missing); refuses to overwrite one. */
export async function initLearnerFile(dir: string): Promise<string> {
  const path = join(dir, LEARNER_FILE);
  const info = await Deno.stat(dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory) {
    throw new NinjagradError(
      `cannot init ${dir}: it is a file, not a directory; name a new or existing directory ` +
        `(ninja init writes DIR/${LEARNER_FILE} into it)`,
    );
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
    // createNew fails if the file exists, atomically: a learner's work is never overwritten.
    await Deno.writeTextFile(path, learnerTemplate(), { createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new NinjagradError(
        `${path} already exists; nothing was written. Check it with deno task ninja check ${path}, ` +
          "or init another directory",
      );
    }
    throw new NinjagradError(`cannot write ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  return path;
}

async function init(args: string[]): Promise<void> {
  const { positionals } = parseFlags("ninja init", args, {});
  if (positionals.length !== 1) {
    throw new UsageError(`ninja init takes one directory, got ${positionals.length}: ${USAGE}`);
  }
  const path = await initLearnerFile(userPath(positionals[0]));
  console.log(`wrote ${path}: 30 blank rules, one per input of each line of the forward pass.`);
  console.log(
    `Fill them in from the loss backwards, and check with: deno task ninja check ${path}`,
  );
}

async function check(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags("ninja check", args, {
    ...SETUP_FLAGS,
    json: { type: "boolean" },
  });
  if (positionals.length !== 1) {
    throw new UsageError(`ninja check takes one file, got ${positionals.length}: ${USAGE}`);
  }
  const path = userPath(positionals[0]);
  const options = setupOptionsFromFlags(values);
  const rules = await loadLearnerRules(path);
  const report = await checkRules(rules, options);
  console.log(`ninja check ${path}`);
  console.log(
    `${options.dtype}, ${options.data ?? LECTURE_NAMES_SOURCE}, seed ${options.seed}. Each rule ` +
      "is fed the correct upstream gradient, so every node is judged on its own rules.\n",
  );
  console.log(formatCheck(report));
  if (values.json) {
    console.log(JSON.stringify({
      nodes: report.nodes.map((n) => ({
        name: n.name,
        status: n.status,
        shape: [...n.shape],
        exact: n.exact,
        maxdiff: Number.isFinite(n.maxdiff) ? n.maxdiff : null,
        detail: n.detail,
      })),
      firstWrong: report.firstWrong?.name ?? null,
      nextToWrite: report.nextToWrite?.name ?? null,
      counts: report.counts,
    }));
  }
  const { wrong } = report.counts, missing = report.counts["not written"];
  if (wrong > 0 || missing > 0) {
    throw new NinjagradError(
      wrong > 0
        ? `${wrong} node${wrong > 1 ? "s are" : " is"} wrong: fix ${report.firstWrong!.name} first`
        : `${missing} node${missing > 1 ? "s" : ""} to go: write ${report.nextToWrite!.name} next`,
    );
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
