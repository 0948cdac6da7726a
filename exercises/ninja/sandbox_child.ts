/**
 * The sandboxed side of `ninja check` and `ninja train`: run by `sandbox.ts` as
 * `deno run --allow-read=FILE,PROJECT`, so the learner's code can read its own file and the
 * project and nothing else (no writes, net, env, subprocesses or FFI). It reads the request and
 * its nonce from stdin before importing the learner's file, then answers in frames (see
 * `sandbox_wire.ts`): progress marks (which rule runs now, so the parent can name a rule it
 * stops), what the learner's code printed, and the report or the failure as data.
 * @module
 */
import { pathToFileURL } from "node:url";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { checkOn, completeRules, prepareCheck } from "./check.ts";
import { type ExerciseNumber, EXERCISES } from "./exercises.ts";
import { encodeFrame, encodeReport, type Frame, type SandboxRequest } from "./sandbox_wire.ts";
import {
  errorLocation,
  formatLocation,
  importLearnerFile,
  type LearnerFile,
  LearnerFileError,
  located,
} from "./source.ts";
import { ruleIn } from "../model/lines.ts";
import { runTraining } from "./sandbox_train.ts";
import type { WatchStart } from "./sandbox_watch.ts";

// Taken before the learner's code runs, which may replace the globals.
const stdout = Deno.stdout;
const encoder = new TextEncoder();
const exit: (code?: number) => never = Deno.exit;
const inspect = Deno.inspect;
const store = Atomics.store, add = Atomics.add;

const request: SandboxRequest = JSON.parse(await new Response(Deno.stdin.readable).text());
const nonce = request.nonce;
let exercise: ExerciseNumber | undefined;

/** Writes one frame; a closed stdout (the parent is gone) ends the child. */
function send(frame: Frame): void {
  const bytes = encoder.encode(`\n${nonce} ${encodeFrame(frame)}\n`);
  try {
    for (let n = 0; n < bytes.length;) n += stdout.writeSync(bytes.subarray(n));
  } catch {
    exit(3);
  }
}

function fail(e: unknown, url: string): never {
  const err = e instanceof LearnerFileError
    ? e
    : e instanceof NinjagradError
    ? new LearnerFileError(e.message, "rules")
    : located(e, url, request.path, "thrown by the file's code while the check ran");
  send({
    t: "fail",
    kind: err.failure,
    message: err.message,
    diagnostics: [...err.diagnostics],
    ...(exercise ? { exercise } : {}),
  });
  exit(0);
}

// What the learner's code prints goes to the parent as frames, apart from the report.
for (const name of ["log", "info", "debug", "warn", "error", "trace", "dir", "table"] as const) {
  console[name] = (...args: unknown[]) => {
    let text: string;
    try {
      text = args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" ");
    } catch {
      text = "(something console could not show)";
    }
    send({ t: "print", text });
  };
}
const url = pathToFileURL(request.path).href;
// A learner's file that ends the process must fail the check, never pass it silently.
Deno.exit = (code?: number): never => {
  const at = errorLocation(new Error(), url);
  send({
    t: "fail",
    kind: "exit",
    message: `${at ? formatLocation(at) : request.path}: the file called Deno.exit(${
      code ?? ""
    }): a learner's file may not end the check; remove that call`,
    diagnostics: [],
  });
  exit(1);
};
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(e.reason, url);
});
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  fail(e.error, url);
});

/**
 * The learner's rules, each telling the parent when it starts and ends: for a check, in a frame
 * each (a few dozen calls); for training (thousands of calls a second), in shared memory that a
 * worker watches (`sandbox_watch.ts`).
 */
function marked(file: LearnerFile, n: ExerciseNumber, watched: boolean): object {
  const spec = EXERCISES[n];
  const table = completeRules(spec, file.rules);
  const names = Object.entries(spec.lines).flatMap(([line, { inputs }]) =>
    inputs.map((input) => `${line}.${input}`)
  );
  const state = watched ? watch(names) : undefined;
  const out: Record<string, Record<string, unknown>> = {};
  for (const [line, { inputs }] of Object.entries(spec.lines)) {
    out[line] = {};
    for (const input of inputs) {
      const rule = ruleIn(table, line, input)!;
      const name = `${line}.${input}`, index = names.indexOf(name) + 1;
      out[line][input] = function (this: unknown, ctx: unknown) {
        if (state) {
          store(state, 0, index);
          add(state, 1, 1);
        } else send({ t: "rule", rule: name });
        try {
          return rule.call(this, ctx as never);
        } finally {
          if (state) store(state, 0, 0);
          else send({ t: "rule", rule: null });
        }
      };
    }
  }
  return out;
}

/** Starts the worker that watches the running rule; returns the memory it watches. */
function watch(names: string[]): Int32Array {
  const shared = new SharedArrayBuffer(8);
  const worker = new Worker(new URL("./sandbox_watch.ts", import.meta.url), { type: "module" });
  worker.postMessage({ shared, names, nonce } satisfies WatchStart);
  return new Int32Array(shared);
}

send({ t: "mark", at: "load" });
let file: LearnerFile;
try {
  file = await importLearnerFile(request.path);
  exercise = file.exercise;
} catch (e) {
  fail(e, url);
}
send({ t: "mark", at: "run", exercise: file.exercise });
try {
  if (request.mode === "check") {
    const session = await prepareCheck(file.exercise, request.options);
    const report = checkOn(session, marked(file, file.exercise, false), { file: file.url });
    send({ t: "report", report: encodeReport(report) });
  } else {
    await runTraining(request, file, marked(file, 4, true), (event) => send({ t: "event", event }));
    send({ t: "report", report: null }); // the run's end, so that an early exit is not one
  }
} catch (e) {
  fail(e, url);
}
exit(0);
