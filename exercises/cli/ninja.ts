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
import { Subject } from "../../graph/deps.ts";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { type FlagSpec, numberFlag, parseFlags, runMain, userPath } from "./main.ts";
import { SETUP_FLAGS, setupOptionsFromFlags } from "./setup_flags.ts";
import { configFromFlags, FLAGS } from "./train_flags.ts";
import { LECTURE_NAMES_SOURCE, loadNames } from "../data.ts";
import { type CheckReport, prepareCheck } from "../ninja/check.ts";
import { formatCheck, formatCounts, reportData } from "../ninja/report.ts";
import { type ExerciseNumber, EXERCISES, ruleCount } from "../ninja/exercises.ts";
import {
  excerpt,
  firstLine,
  formatDiagnostic,
  formatLocation,
  LearnerFileError,
  vetLearnerFile,
} from "../ninja/source.ts";
import { runSandboxed, sandboxLimits, SandboxStopped } from "../ninja/sandbox.ts";
import { decodeReport } from "../ninja/sandbox_wire.ts";
import type { WrittenCharts } from "../../viz/export.ts";
import { initLearnerFile } from "../ninja/init.ts";
import type { CheckEvent, EndEvent } from "../ninja/sandbox_train.ts";
import { RECHECK_EVERY } from "../ninja/train.ts";
import type { DoneEvent, TrainEvent } from "../train/events.ts";
import { checkRunSize, runSize } from "../train/limits.ts";
import { sizesOf } from "../train/run.ts";
import { loadTrainData } from "../train/data.ts";
import {
  jsonLog,
  plainLog,
  progressBar,
  resultLines,
  startLine,
  startRecord,
} from "../train/report.ts";

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
  with the engine's. Exit 0 once every node is ok, 1 otherwise. FILE runs in a child process
  that may read it and the project only, 10 s a rule, 30 s to load, 120 s in all, 1 GiB of heap
  (NINJAGRAD_SANDBOX_RULE_MS, _LOAD_MS, _RUN_MS, _MIB); what it prints goes to stderr.
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
  once they agree with the engine's on the run's first two minibatches (checked again at steps
  100, 300, 1,000, 3,000 and every 10,000, the run stopped with the check's table if they stop
  agreeing); prints the split losses, 20
  names and the rule counters. The lecture's own numbers: --rng torch (train ≈ 2.07, val ≈ 2.11).
  Takes deno task train's flags --steps, --batch, --hidden, --embd, --block, --lr,
  --lr-decay-at, --seed, --rng, --data, --dtype, --eval-every, --detect-anomaly, --json and
  --quiet (see deno task train --help), and --no-check (skip the type-check). FILE runs in a
  child process as in ninja check (no limit on the whole run); nothing is saved.`;

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

/** The failures already shown (a type-check's, met again as the sandbox's reason not to run). */
const shown = new WeakSet<LearnerFileError>();

/** A learner file's failure, shown: the compiler's messages at their lines, or one JSON document. */
function showFailure(e: LearnerFileError, path: string, json: boolean, exercise?: number): void {
  if (shown.has(e)) return;
  shown.add(e);
  if (json) {
    console.log(JSON.stringify({
      file: path,
      ...(exercise ? { exercise } : {}),
      ok: false,
      error: { kind: e.failure, message: e.message, diagnostics: e.diagnostics },
    }));
    return;
  }
  for (const d of e.diagnostics.slice(0, 10)) {
    if (d.line === 0) continue;
    console.error(`${formatLocation(d)}: ${formatDiagnostic(d)}`);
    const text = excerpt(d);
    if (text) console.error(text);
  }
}

/** Refuses what is not a file of rules, and type-checks it (unless `--no-check`). */
async function vet(path: string, typecheck: boolean, json: boolean): Promise<void> {
  try {
    await vetLearnerFile(path, { typecheck });
  } catch (e) {
    if (e instanceof LearnerFileError) showFailure(e, path, json);
    throw e;
  }
}

/** What the learner's code printed: to stderr, so that stdout keeps the report (or `--json`). */
function learnerPrint(text: string): void {
  console.error(text);
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
  // The names are read here: the sandboxed child may read neither the user's files nor the net.
  const words = options.data === undefined ? undefined : await loadNames(options.data);
  let report: CheckReport;
  try {
    // The child starts (and loads the project) while the file is type-checked.
    const answer = await runSandboxed(
      { mode: "check", path, options: { ...options, ...(words ? { words } : {}) } },
      sandboxLimits(),
      { print: learnerPrint },
      vet(path, values["no-check"] !== true, json),
    );
    report = decodeReport(answer.report);
  } catch (e) {
    if (e instanceof LearnerFileError) showFailure(e, path, json);
    throw e;
  }
  // The charts are drawn from the engine's own graph, rebuilt here: the learner's code never
  // runs in this process. A folder that cannot take them costs the charts, not the report.
  let charts: WrittenCharts | undefined, chartsError: string | undefined;
  if (chartDir !== undefined) {
    try {
      const session = await prepareCheck(report.exercise, {
        ...options,
        ...(words ? { words } : {}),
      });
      // Loaded only here: the charts' modules (Vega, the PNG renderer) take longer to load than
      // a check takes to run.
      const { writeCheckCharts } = await import("./ninja_charts.ts");
      charts = await writeCheckCharts(chartDir, session, report, path);
    } catch (e) {
      // A folder that cannot be made or written (read-only, a file in the way, a full disk).
      const io = Object.values(Deno.errors).some((kind) => e instanceof kind);
      if (!(e instanceof NinjagradError || io)) throw e;
      chartsError = `${
        e instanceof NinjagradError
          ? e.message
          : `cannot write charts to ${chartDir}: ${firstLine(e)}`
      }; the check's report is above, the charts are not written`;
    }
  }
  if (json) {
    console.log(JSON.stringify({
      file: path,
      dtype: options.dtype,
      data: options.data ?? LECTURE_NAMES_SOURCE,
      seed: options.seed,
      rng: options.rng,
      ...reportData(report),
      ...(charts ? { charts: { report: charts.report, files: charts.files.length } } : {}),
      ...(chartsError ? { charts: { error: chartsError } } : {}),
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
  if (chartsError) throw new NinjagradError(chartsError);
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

/** A run stopped by a signal: one line, the shell's exit code for it. */
class Stopped extends NinjagradError {
  override readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
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
  // train.ts's flags, read by train.ts itself (imported here only: it loads the charts).
  const config = configFromFlags(values);
  const source = values.data === undefined ? undefined : userPath(values.data as string);
  const data = await loadTrainData(source, config.block);
  const sizes = sizesOf(config, data);
  checkRunSize(config, sizes); // before the child starts
  const words = source === undefined ? undefined : await loadNames(source);
  const say = (line: string) => console.log(line);
  // The child trains; its events drive the same reporters as deno task train's.
  const events = new Subject<TrainEvent>();
  let reporter: { unsubscribe(): void } | undefined;
  let check: CheckReport | undefined, end: EndEvent | undefined, lastStep = 0;
  const onEvent = (raw: unknown) => {
    const e = raw as TrainEvent | CheckEvent | EndEvent;
    if (e.type === "check") {
      check = decodeReport(e.report);
      if (check.counts.ok !== check.nodes.length) return;
      if (json) {
        say(JSON.stringify({
          ...startRecord(config, data),
          file: path,
          check: reportData(check).counts,
        }));
      } else if (!quiet) {
        say(
          `${startLine(config, data)}, with your rules from ${path} (on the run's first two ` +
            `minibatches, all ${check.nodes.length} gradients agree with the engine's; checked ` +
            `again at steps 100, 300, 1,000, 3,000 and every ${
              RECHECK_EVERY.toLocaleString("en")
            })`,
        );
      }
      reporter = json
        ? jsonLog(events, say)
        : quiet
        ? undefined
        : Deno.stdout.isTerminal() && Deno.stderr.isTerminal()
        ? progressBar(events)
        : plainLog(events, say);
    } else if (e.type === "done") {
      end = e as EndEvent;
    } else {
      if (e.type === "step") lastStep = e.step;
      events.next(e);
    }
  };
  try {
    const memoryMiB = Math.max(1024, Math.ceil((1.5 * runSize(config, sizes).bytes) / 2 ** 20));
    await runSandboxed(
      { mode: "train", path, config, ...(words ? { words } : {}), ...(source ? { source } : {}) },
      sandboxLimits({ runMs: Infinity, memoryMiB }),
      { print: learnerPrint, event: onEvent },
      vet(path, values["no-check"] !== true, json), // while the child loads the project
    );
  } catch (e) {
    // Ctrl-C, SIGTERM, SIGHUP: the child was stopped at once (it saves nothing), in one line.
    if (e instanceof SandboxStopped) {
      throw new Stopped(
        `ninja train stopped by ${e.said} after step ${lastStep} of ${config.steps}; ` +
          "ninja train saves nothing",
        e.exitCode,
      );
    }
    if (e instanceof LearnerFileError) showFailure(e, path, json, check?.exercise);
    throw e;
  } finally {
    events.complete();
    reporter?.unsubscribe();
  }
  if (!check) throw new NinjagradError(`${path}: the run ended without its check`);
  if (check.counts.ok !== check.nodes.length) {
    if (json) say(JSON.stringify({ type: "check", file: path, ...reportData(check) }));
    else say(formatCheck(check, { excerpt }));
    const first = check.firstWrong ?? check.nextToWrite!;
    throw new NinjagradError(
      `ninja train trains only on rules that agree with the engine's; ${formatCounts(check)}: ` +
        `${check.firstWrong ? "fix" : "write"} ${first.name} first ` +
        `(deno task ninja check ${path})`,
    );
  }
  if (!end) throw new NinjagradError(`${path}: the run ended without its results`);
  const { samples, ...done } = end;
  if (json) {
    const { step, train, val, msPerStep, ruleCounts } = done;
    say(JSON.stringify({ type: "done", step, train, val, msPerStep, samples, ruleCounts }));
    return;
  }
  const lines = resultLines(done as unknown as DoneEvent, data, config, samples, {
    whose: "yours",
    compare: LECTURE_LOSSES,
  });
  for (const line of lines) say(line);
}

if (import.meta.main) await runMain(() => main(Deno.args));
