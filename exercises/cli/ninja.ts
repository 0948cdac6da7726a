/**
 * Learner mode: the lecture's four exercises by hand.
 * - `deno task ninja init DIR [--exercise N]` writes a blank file of exercise N (default 1) into
 *   DIR: every rule throws "not written yet", the forward pass and the values the rules receive
 *   in comments. It never overwrites a file.
 * - `deno task ninja check FILE [--data PATH] [--dtype float32|float64] [--seed S]
 *   [--rng seedrandom|torch] [--json] [--no-check] [--charts DIR]` type-checks the file, runs its
 *   rules against the engine and says, per node, ok / wrong / not written, the first wrong node
 *   in backward order and what the mistake looks like; `--charts DIR` draws the graph with each
 *   node's verdict. Exit 0 once every node is ok.
 * - `deno task ninja train FILE [train's flags]` trains the lecture's net with the file's
 *   exercise-4 rules on every node (no automatic rule runs) once they agree with the engine's.
 * @module
 */
import { share } from "../../graph/deps.ts";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { type FlagSpec, numberFlag, parseFlags, runMain, userPath } from "./main.ts";
import { SETUP_FLAGS, setupOptionsFromFlags } from "./setup_flags.ts";
import { configFromFlags, FLAGS } from "./train_flags.ts";
import { writeCheckCharts } from "./ninja_charts.ts";
import { LECTURE_NAMES_SOURCE } from "../data.ts";
import { checkOn, type CheckReport, type CheckSession, prepareCheck } from "../ninja/check.ts";
import { formatCheck, formatCounts, reportData } from "../ninja/report.ts";
import { type ExerciseNumber, EXERCISES, ruleCount } from "../ninja/exercises.ts";
import {
  excerpt,
  formatDiagnostic,
  formatLocation,
  type LearnerFile,
  LearnerFileError,
  loadLearnerFile,
} from "../ninja/source.ts";
import { initLearnerFile } from "../ninja/init.ts";
import { checkBeforeTraining, doneOf, trainWithLearnerRules } from "../ninja/train.ts";
import { loadTrainData } from "../train/data.ts";
import {
  jsonLog,
  plainLog,
  progressBar,
  resultLines,
  startLine,
  startRecord,
} from "../train/report.ts";
import { sampleNames, samplingRandom } from "../train/sample.ts";

const HELP = `deno task ninja COMMAND: the lecture's four exercises, by hand
  init DIR [--exercise N]   write a blank file of exercise N into DIR (never overwrites)
  check FILE [flags]        run FILE's rules against the engine: ok / wrong / not written per
                            node, the first wrong node, what the mistake looks like
  train FILE [flags]        train the lecture's net with FILE's exercise-4 rules only
  help                      this text; deno task ninja COMMAND --help for a command's flags
The exercises (--exercise N):
${
  ([1, 2, 3, 4] as const).map((n) => {
    const s = EXERCISES[n];
    return `  ${n}  ${s.title}: ${s.file}, ${ruleCount(s)} rule${ruleCount(s) > 1 ? "s" : ""} ` +
      `for ${s.rows.length} gradient${s.rows.length > 1 ? "s" : ""}`;
  }).join("\n")
}`;

const INIT_HELP = `deno task ninja init DIR [--exercise N]
  Writes a blank learner file into DIR (made if missing), never over an existing one:
${([1, 2, 3, 4] as const).map((n) => `    --exercise ${n}  DIR/${EXERCISES[n].file}`).join("\n")}
  --exercise N   which exercise, 1 to 4 (1)`;

const CHECK_HELP = `deno task ninja check FILE [flags]
  Type-checks FILE (deno check), runs its rules on one minibatch and compares every gradient
  with the engine's. Exit 0 once every node is ok, 1 otherwise.
  --data PATH|URL  names, one per line (default: the lecture's names.txt)
  --dtype T        float32 or float64 (float32)
  --seed N         seeds the parameters and the minibatch
  --rng R          seedrandom, or torch: the lecture's generators (seedrandom)
  --json           print one JSON document (the report, or the error) and nothing else
  --charts DIR     also draw your graph with each node's verdict, and the comparison, into DIR
                   (.vl.json, .svg, .png and report.html)
  --no-check       skip the type-check (faster; type errors then show when the rules run)`;

/** `train`'s flags, less those of a run of the project's own (saving, resuming, charts, live). */
const TRAIN_FLAGS: FlagSpec = {
  ...Object.fromEntries(
    Object.entries(FLAGS).filter(([name]) =>
      !["backward", "save", "resume", "checkpoint-every", "charts", "no-charts", "live", "port"]
        .includes(name)
    ),
  ),
  "no-check": { type: "boolean" },
};

const TRAIN_HELP = `deno task ninja train FILE [flags]
  Trains the lecture's net with FILE's exercise-4 rules on every node (no automatic rule runs),
  once they agree with the engine's on the run's first minibatch; prints the split losses, 20
  names and the rule counters. The lecture's own numbers: --rng torch (train ≈ 2.07, val ≈ 2.11).
  Takes deno task train's flags --steps, --batch, --hidden, --embd, --block, --lr,
  --lr-decay-at, --seed, --rng, --data, --dtype, --eval-every, --detect-anomaly, --json and
  --quiet (see deno task train --help), and --no-check (skip the type-check).`;

/** The lecture's split losses after 200,000 steps, to compare with. */
const LECTURE_LOSSES = "the lecture reports train 2.0705, val 2.1099 after 200,000 steps";

/** Dispatches `init`, `check`, `train` and `help`. */
export async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command === "init") return await init(rest);
  if (command === "check") return await check(rest);
  if (command === "train") return await trainCommand(rest);
  if (command === "help" || command === "--help" || command === "-h") return console.log(HELP);
  throw new UsageError(
    `${
      command === undefined ? "ninja needs a command" : `unknown ninja command "${command}"`
    }: init DIR [--exercise N], check FILE or train FILE (deno task ninja help)`,
  );
}

function exerciseFlag(value: string | undefined): ExerciseNumber {
  return numberFlag("exercise", value, 1, { min: 1, max: 4, integer: true }) as ExerciseNumber;
}

async function init(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags("ninja init", args, {
    exercise: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return console.log(INIT_HELP);
  if (positionals.length !== 1) {
    throw new UsageError(
      `ninja init takes one directory, got ${positionals.length}: ninja init DIR [--exercise N]`,
    );
  }
  const n = exerciseFlag(values.exercise as string | undefined);
  const spec = EXERCISES[n];
  const path = await initLearnerFile(userPath(positionals[0]), n);
  const rules = ruleCount(spec), rows = spec.rows.length;
  console.log(
    `wrote ${path}: exercise ${n}, ${spec.title}: ${rules} blank rule${rules > 1 ? "s" : ""} ` +
      `for ${rows} gradient${rows > 1 ? "s" : ""}` +
      (rules > rows ? ` (a value used by two lines has a rule in each)` : "") + ".",
  );
  console.log(
    `Fill ${rules > 1 ? "them" : "it"} in${
      rules > 1 ? " from the loss backwards" : ""
    }, and check with: deno task ninja check ${path}`,
  );
}

/** Loads the learner's file; a failure shows the compiler's messages at their lines. */
async function load(path: string, typecheck: boolean, json: boolean): Promise<LearnerFile> {
  try {
    return await loadLearnerFile(path, { typecheck });
  } catch (e) {
    if (!(e instanceof LearnerFileError)) throw e;
    if (json) {
      console.log(JSON.stringify({
        file: path,
        ok: false,
        error: { kind: e.failure, message: e.message, diagnostics: e.diagnostics },
      }));
    } else {
      for (const d of e.diagnostics.slice(0, 10)) {
        if (d.line === 0) continue;
        console.error(`${formatLocation(d)}: ${formatDiagnostic(d)}`);
        const text = excerpt(d);
        if (text) console.error(text);
      }
    }
    throw e;
  }
}

async function check(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags("ninja check", args, {
    ...SETUP_FLAGS,
    json: { type: "boolean" },
    "no-check": { type: "boolean" },
    charts: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return console.log(CHECK_HELP);
  if (positionals.length !== 1) {
    throw new UsageError(
      `ninja check takes one file, got ${positionals.length}: ninja check FILE [flags] ` +
        "(deno task ninja check --help)",
    );
  }
  const json = values.json === true;
  const path = userPath(positionals[0]);
  const options = setupOptionsFromFlags(values);
  const chartDir = typeof values.charts === "string" ? userPath(values.charts) : undefined;
  const file = await load(path, values["no-check"] !== true, json);
  let report: CheckReport, session: CheckSession;
  try {
    session = await prepareCheck(file.exercise, options);
    report = checkOn(session, file.rules, { file: file.url });
  } catch (e) {
    if (json && e instanceof NinjagradError && !(e instanceof UsageError)) {
      console.log(JSON.stringify({
        file: path,
        exercise: file.exercise,
        ok: false,
        error: { kind: "rules", message: e.message, diagnostics: [] },
      }));
    }
    throw e;
  }
  // The charts are worth most when something is wrong: written before the verdict exits.
  const charts = chartDir === undefined
    ? undefined
    : await writeCheckCharts(chartDir, session, report, path);
  if (json) {
    console.log(JSON.stringify({
      file: path,
      dtype: options.dtype,
      data: options.data ?? LECTURE_NAMES_SOURCE,
      seed: options.seed,
      rng: options.rng,
      ...reportData(report),
      ...(charts ? { charts: { report: charts.report, files: charts.files.length } } : {}),
    }));
  } else {
    console.log(`ninja check ${path}: exercise ${report.exercise}, ${report.title}`);
    console.log(
      `${options.dtype}, ${options.data ?? LECTURE_NAMES_SOURCE}, ${options.rng} seed ` +
        `${options.seed}. Each rule is fed the correct upstream gradient, so every node is ` +
        "judged on its own rules.\n",
    );
    console.log(formatCheck(report, { excerpt }));
    if (charts) {
      console.log(
        `\ncharts: ${charts.report} (the graph with each node's verdict, the comparison, ` +
          `${charts.files.length} charts in all)`,
      );
    }
  }
  const { wrong } = report.counts, missing = report.counts["not written"];
  if (wrong > 0 || missing > 0) {
    throw new NinjagradError(
      wrong > 0
        ? `${wrong} node${wrong > 1 ? "s are" : " is"} wrong: fix ${report.firstWrong!.name} first`
        : `${missing} node${missing > 1 ? "s" : ""} to go: write ${report.nextToWrite!.name} next`,
    );
  }
  if (!json) console.log(nextStep(report.exercise, path));
}

function nextStep(n: ExerciseNumber, path: string): string {
  return n === 4
    ? `train the lecture's net with your rules: deno task ninja train ${path} --rng torch`
    : `next: deno task ninja init DIR --exercise ${n + 1}`;
}

async function trainCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags("ninja train", args, TRAIN_FLAGS);
  if (values.help) return console.log(TRAIN_HELP);
  if (positionals.length !== 1) {
    throw new UsageError(
      `ninja train takes one file, got ${positionals.length}: ninja train FILE [flags] ` +
        "(deno task ninja train --help)",
    );
  }
  const json = values.json === true, quiet = values.quiet === true;
  const path = userPath(positionals[0]);
  const file = await load(path, values["no-check"] !== true, json);
  if (file.exercise !== 4) {
    throw new NinjagradError(
      `${path} holds exercise ${file.exercise}'s rules; ninja train trains with exercise 4's ` +
        "(deno task ninja init DIR --exercise 4)",
    );
  }
  // train.ts's flags, read by train.ts itself (imported here only: it loads the charts).
  const config = configFromFlags(values);
  const source = values.data === undefined ? undefined : userPath(values.data as string);
  const data = await loadTrainData(source, config.block);
  const say = (line: string) => console.log(line);
  const report = checkBeforeTraining(file.rules, config, data, file.url);
  const agree = report.counts.ok === report.nodes.length;
  if (!agree) {
    if (json) say(JSON.stringify({ type: "check", file: path, ...reportData(report) }));
    else say(formatCheck(report, { excerpt }));
    const first = report.firstWrong ?? report.nextToWrite!;
    throw new NinjagradError(
      `ninja train trains only on rules that agree with the engine's; ${formatCounts(report)}: ` +
        `${report.firstWrong ? "fix" : "write"} ${first.name} first ` +
        `(deno task ninja check ${path})`,
    );
  }
  if (json) {
    say(JSON.stringify({
      ...startRecord(config, data),
      file: path,
      check: reportData(report).counts,
    }));
  } else if (!quiet) {
    say(
      `${startLine(config, data)}, with your rules from ${path} (on the run's first minibatch, ` +
        `all ${report.nodes.length} gradients agree with the engine's)`,
    );
  }
  // One run, watched by the reporter and awaited here: a cold Observable would run twice.
  const run$ = trainWithLearnerRules(file.rules, config, data, { file: file.url }).pipe(share());
  const reporter = json
    ? jsonLog(run$, say)
    : quiet
    ? undefined
    : Deno.stdout.isTerminal() && Deno.stderr.isTerminal()
    ? progressBar(run$)
    : plainLog(run$, say);
  const done = await doneOf(run$);
  reporter?.unsubscribe();
  const samples = sampleNames(done.model, 20, samplingRandom(config.seed));
  if (json) {
    const { step, train, val, msPerStep, ruleCounts } = done;
    say(JSON.stringify({ type: "done", step, train, val, msPerStep, samples, ruleCounts }));
    return;
  }
  const lines = resultLines(done, data, config, samples, {
    whose: "yours",
    compare: LECTURE_LOSSES,
  });
  for (const line of lines) say(line);
}

if (import.meta.main) await runMain(() => main(Deno.args));
