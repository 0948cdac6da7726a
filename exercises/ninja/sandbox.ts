/**
 * A learner's file run in a child process with the least it needs: it may read its own file and
 * the project (the modules it imports), and nothing else (no writes, net, env, subprocesses,
 * FFI). The parent limits its time (loading, each rule call, the whole run) and its memory (V8's
 * heap, and the process's resident size, for typed arrays), and reads its answer as data: a child
 * that ends without a report has failed, whatever its exit code. What the learner's code prints
 * reaches stderr, never `--json`'s stdout.
 * @module
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { partName } from "../model/lines.ts";
import { type ExerciseNumber, EXERCISES } from "./exercises.ts";
import { decodeFrame, type FailKind, type Frame, type SandboxRequest } from "./sandbox_wire.ts";
import { formatLocation, LearnerFileError, type LoadFailure } from "./source.ts";
import { inspectorUrl, isInspectorNotice, pausedAt } from "./sandbox_pause.ts";
import { SIGNAL_EXIT, STOP_SIGNALS, type StopSignal } from "../train/interrupt.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const CHILD = fileURLToPath(new URL("./sandbox_child.ts", import.meta.url));

/** The sandbox's limits, in milliseconds and MiB. */
export interface SandboxLimits {
  /** Importing the file (its top level). */
  loadMs: number;
  /** One call of one rule. */
  ruleMs: number;
  /** The whole run after loading (Infinity for training, which has its own length). */
  runMs: number;
  /** V8's heap; the process may hold twice as much in all (typed arrays live outside it). */
  memoryMiB: number;
}

/** The limits of a check, from NINJAGRAD_SANDBOX_{LOAD,RULE,RUN}_MS and NINJAGRAD_SANDBOX_MIB. */
export function sandboxLimits(defaults: Partial<SandboxLimits> = {}): SandboxLimits {
  const read = (name: string, fallback: number): number => {
    const v = Number(Deno.env.get(name));
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  return {
    loadMs: read("NINJAGRAD_SANDBOX_LOAD_MS", defaults.loadMs ?? 30_000),
    ruleMs: read("NINJAGRAD_SANDBOX_RULE_MS", defaults.ruleMs ?? 10_000),
    runMs: read("NINJAGRAD_SANDBOX_RUN_MS", defaults.runMs ?? 120_000),
    memoryMiB: read("NINJAGRAD_SANDBOX_MIB", defaults.memoryMiB ?? 1024),
  };
}

/** How each signal is named. */
const SAID: Readonly<Record<StopSignal, string>> = {
  SIGINT: "Ctrl-C",
  SIGTERM: "SIGTERM",
  SIGHUP: "SIGHUP (the terminal closed)",
};

/** A run stopped by a signal: one line, and the shell's exit code for that signal. */
export class SandboxStopped extends LearnerFileError {
  /** 128 + the signal's number. */
  override readonly exitCode: number;
  /** The signal. */
  readonly signal: StopSignal;
  /** The signal as a person calls it: Ctrl-C. */
  readonly said: string;
  constructor(signal: StopSignal, what: string) {
    super(`${what} stopped by ${SAID[signal]}`, "stopped");
    this.signal = signal;
    this.said = SAID[signal];
    this.exitCode = SIGNAL_EXIT[signal];
  }
}

/** Where the child's inspector listens: NINJAGRAD_SANDBOX_INSPECT, "off", or any free port. */
function inspectorAddress(): string | null {
  const set = Deno.env.get("NINJAGRAD_SANDBOX_INSPECT");
  return set === "off" ? null : set || "127.0.0.1:0";
}

/** Whether util-linux's `tool` is there to run (Linux only). */
function haveTool(tool: string): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.statSync(tool).isFile;
  } catch {
    return false;
  }
}

/** util-linux's prlimit: runs a command (in its own process, no fork) under resource limits. */
const PRLIMIT = "/usr/bin/prlimit";
/** util-linux's setpriv: runs a command with the parent-death signal set (PR_SET_PDEATHSIG). */
const SETPRIV = "/usr/bin/setpriv";

/**
 * The child's CPU seconds (RLIMIT_CPU), where prlimit is there and the run has a time limit:
 * twice the time limits (V8's helper threads add CPU time), and a margin.
 */
function cpuLimit(limits: SandboxLimits): number | undefined {
  const seconds = (limits.loadMs + limits.runMs) / 1000;
  if (!Number.isFinite(seconds) || !haveTool(PRLIMIT)) return undefined;
  return Math.ceil(2 * seconds) + 5;
}

/**
 * The command line that starts the child's deno, on Linux under util-linux's tools: if this
 * process is killed outright (SIGKILL) while the child loops, nothing of ours is left to stop it,
 * so the kernel does. setpriv has the child killed when this process dies (training too, which has
 * no overall time limit); prlimit caps a check's CPU time as well. Each execs the next, so the
 * child is still one process.
 */
function launcher(limits: SandboxLimits): string[] {
  const cpu = cpuLimit(limits);
  return [
    ...(cpu ? [PRLIMIT, `--cpu=${cpu}:${cpu + 5}`, "--"] : []),
    ...(haveTool(SETPRIV) ? [SETPRIV, "--pdeathsig", "KILL", "--"] : []),
    Deno.execPath(),
  ];
}

/** The longest line kept of the child's output: a report is far shorter. */
const MAX_LINE = 8 * 1024 * 1024;

/** A request before its nonce is added. */
export type Unsent<T> = T extends unknown ? Omit<T, "nonce"> : never;

/** What the run's frames are handed to, as they come. */
export interface SandboxHandlers {
  /** A line the learner's code printed. */
  print?: (text: string) => void;
  /** A training event. */
  event?: (event: unknown) => void;
}

/** A run that answered: its report (check) or its end (train). */
export interface SandboxAnswer {
  report?: unknown;
}

/** Deno's `--allow-read` list, which has no way to write a comma inside a path. */
function allowList(paths: string[]): string {
  const comma = paths.find((p) => p.includes(","));
  if (comma !== undefined) {
    throw new LearnerFileError(
      `${comma} has a comma in its path, which Deno's list of readable paths cannot hold, so ` +
        "the file cannot be run sandboxed: move it, or rename the folder",
      "missing",
    );
  }
  return paths.join(",");
}

/** The 1-based line and column of `rules.<line>.<input>` in the learner's text, if written out. */
export function ruleLocation(
  text: string,
  line: string,
  input: string,
): { line: number; column: number } | undefined {
  const key = (k: string) => `(?<![\\w$.])(["']?)${k.replace(/\$/g, "\\$")}\\1\\s*`;
  const head = new RegExp(`${key(line)}:\\s*\\{`).exec(text);
  if (!head) return undefined;
  const rest = text.slice(head.index + head[0].length);
  const rule = new RegExp(`${key(input)}[:(]`).exec(rest);
  if (!rule) return undefined;
  const at = head.index + head[0].length + rule.index + rule[0].search(/\S/);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** `rule h.hpreact (dhpreact) at FILE:12:5`, as far as the file shows it. */
function describeRule(path: string, rule: string, exercise: ExerciseNumber | undefined): string {
  const [line, input] = rule.split(".");
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch { /* the file went away: the rule is named without its line */ }
  const at = ruleLocation(text, line, input);
  const part = exercise ? ` (${partName(EXERCISES[exercise].lines, line, input)})` : "";
  return `the rule ${rule}${part}${at ? ` at ${path}:${at.line}:${at.column}` : ""}`;
}

/** The resident memory of process `pid` in MiB (Linux), or undefined. */
function residentMiB(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** What Deno printed when the child died, in one line without colours or "Uncaught". */
function deathLine(stderr: string): string {
  // deno-lint-ignore no-control-regex
  const lines = stderr.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim())
    .filter((l) => !isInspectorNotice(l));
  const first = lines.find((l) => /^error: /.test(l)) ?? lines.find((l) => l !== "") ?? "";
  return first.replace(/^error: /, "").replace(/^Uncaught (\(in promise\) )?/, "");
}

/**
 * Runs `request` in the sandboxed child and returns its answer; any other end (a failure the
 * child reported, a limit reached, a crash, an exit without a report) is a
 * {@link LearnerFileError} in one line.
 */
export async function runSandboxed(
  request: Unsent<SandboxRequest>,
  limits: SandboxLimits,
  handlers: SandboxHandlers = {},
  ready: Promise<unknown> = Promise.resolve(),
  inspect: string | null = inspectorAddress(),
): Promise<SandboxAnswer> {
  ready.catch(() => {}); // awaited below; a refusal before then must not leave it unhandled
  const path = request.path;
  const nonce = crypto.randomUUID();
  const readable = allowList([path, ROOT]);
  const [command, ...first] = launcher(limits);
  const child = new Deno.Command(command, {
    args: [
      ...first,
      "run",
      "--no-prompt",
      // Only so that a stuck child can be paused to say where: see sandbox_pause.ts.
      ...(inspect ? [`--inspect=${inspect}`] : []),
      "--cached-only",
      "--frozen", // a learner's import may neither add a package nor rewrite deno.lock
      "--config",
      CONFIG,
      `--allow-read=${readable}`,
      `--v8-flags=--max-old-space-size=${Math.round(limits.memoryMiB)}`,
      CHILD,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const started = performance.now();
  const fileUrl = pathToFileURL(path).href;
  let errSoFar = "";
  // "wait": the child loads the project's modules while `ready` (the type-check) runs.
  let phase: { at: "wait" | "start" | "load" | "run" | "rule"; since: number; rule?: string } = {
    at: "wait",
    since: started,
  };
  let runSince = started;
  let stopped: { kind: FailKind; message: string } | undefined;
  let answer: SandboxAnswer | undefined;
  let failure: Extract<Frame, { t: "fail" }> | undefined;
  let exercise: ExerciseNumber | undefined;
  const stop = (kind: FailKind, message: string) => {
    if (stopped) return;
    stopped = { kind, message };
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  // Ctrl-C, kill, a closed terminal: the child goes first, so that none is left running (a
  // child in an endless loop would never notice its parent gone).
  let signalled: StopSignal | undefined;
  const listeners = STOP_SIGNALS.map((name) => {
    const listener = () => {
      signalled ??= name;
      stop("stopped", `stopped by ${SAID[name]}`);
    };
    Deno.addSignalListener(name, listener);
    return () => Deno.removeSignalListener(name, listener);
  });
  // A time limit reached: the child is paused where it runs, so the error can name that line.
  let halting = false;
  const halt = (message: (at: string) => string) => {
    if (halting) return;
    halting = true;
    const ws = inspectorUrl(errSoFar);
    (ws ? pausedAt(ws, fileUrl) : Promise.resolve(undefined)).then((at) =>
      stop("timeout", message(at ? formatLocation(at) : ""))
    );
  };
  const watch = setInterval(() => {
    const now = performance.now(), s = (ms: number) => `${ms / 1000} s`;
    if ((phase.at === "start" || phase.at === "load") && now - phase.since > limits.loadMs) {
      halt((at) =>
        `${at || path}: the file did not finish loading within ${s(limits.loadMs)}: stopped ` +
        `${at ? "on this line " : ""}(an endless loop at its top level, or an await that ` +
        "never settles?); the rules run only once the file has loaded"
      );
    } else if (phase.at === "rule" && now - phase.since > limits.ruleMs) {
      const rule = describeRule(path, phase.rule!, exercise);
      halt((at) =>
        `${rule} ran for more than ${s(limits.ruleMs)}: stopped${at ? ` at ${at}` : ""} ` +
        "(an endless loop?); a rule returns its gradient in milliseconds"
      );
    } else if (
      phase.at !== "wait" && phase.at !== "start" && phase.at !== "load" &&
      now - runSince > limits.runMs
    ) {
      halt((at) =>
        `the check of ${path} took more than ${s(limits.runMs)}: stopped${at ? ` at ${at}` : ""}`
      );
    }
    const rss = residentMiB(child.pid);
    if (rss !== undefined && rss > 2 * limits.memoryMiB + 256) {
      stop(
        "memory",
        `${path} used more than ${2 * limits.memoryMiB + 256} MiB of memory` +
          `${phase.rule ? ` in ${describeRule(path, phase.rule, exercise)}` : ""}: stopped`,
      );
    }
  }, 50);
  const errText = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      if (errSoFar.length < 65536) errSoFar += chunk;
    }
    return errSoFar;
  })();
  const writer = child.stdin.getWriter();
  // The request now; the end of stdin, which lets the child import the file, once `ready`.
  const wrote = writer.write(new TextEncoder().encode(JSON.stringify({ ...request, nonce })))
    .catch(() => {});
  try {
    await ready;
  } catch (e) {
    stop("timeout", "not started");
    clearInterval(watch);
    for (const remove of listeners) remove();
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await errText;
    throw e;
  }
  await wrote;
  await writer.close().catch(() => {});
  phase = { at: "start", since: performance.now() };
  runSince = phase.since;
  let framed = false;
  const onFrame = (frame: Frame) => {
    framed = true;
    const now = performance.now();
    if (frame.t === "mark") {
      phase = { at: frame.at, since: now };
      if (frame.at === "run") runSince = now;
      if (frame.exercise) exercise = frame.exercise;
    } else if (frame.t === "rule") {
      phase = frame.rule === null
        ? { at: "run", since: now }
        : { at: "rule", since: now, rule: frame.rule };
    } else if (frame.t === "print") handlers.print?.(frame.text);
    else if (frame.t === "event") handlers.event?.(frame.event);
    else if (frame.t === "report") answer = { report: frame.report };
    else if (frame.t === "fail") failure = frame;
    if (frame.t === "fail" && frame.exercise) exercise = frame.exercise;
  };
  let pending = "";
  const onLine = (line: string) => {
    const at = line.indexOf(`${nonce} `);
    const stray = at < 0 ? line : line.slice(0, at);
    if (stray !== "") handlers.print?.(stray);
    if (at < 0) return;
    try {
      onFrame(decodeFrame(line.slice(at + nonce.length + 1)));
    } catch { /* not a frame of ours after all */ }
  };
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) if (line !== "") onLine(line);
    // Output without a line break that outgrows any frame is the learner's: shown cut short, so
    // that a file printing without end cannot fill this process's memory.
    const at = pending.indexOf(`${nonce} `);
    if (pending.length > MAX_LINE && (at < 0 || pending.length - at > MAX_LINE)) {
      handlers.print?.(
        `${pending.slice(0, 200)}… (${pending.length} characters without a line break, cut)`,
      );
      pending = "";
    }
  }
  if (pending !== "") onLine(pending);
  const status = await child.status;
  clearInterval(watch);
  for (const remove of listeners) remove();
  await wrote;
  const stderr = await errText;
  // A machine where the inspector cannot listen (no loopback, a port taken): run without it;
  // only the line of a stopped loop is lost.
  if (inspect && !framed && !stopped && /Failed to start inspector/.test(stderr)) {
    return await runSandboxed(request, limits, handlers, ready, null);
  }
  const fail = (kind: LoadFailure, message: string, diagnostics = failure?.diagnostics ?? []) =>
    new LearnerFileError(message, kind, diagnostics);
  // The terminal's Ctrl-C reaches the child too, which may end before this process hears it.
  const by = signalled ??
    (STOP_SIGNALS as readonly string[]).find((name) => name === status.signal && !answer);
  if (by) throw new SandboxStopped(by as StopSignal, `ninja ${request.mode} of ${path}`);
  if (stopped) throw fail(stopped.kind, stopped.message, []);
  if (failure) throw fail(failure.kind, failure.message);
  if (answer && status.success) {
    // The learner's own writes to stderr, passed on once the run has answered.
    for (const line of stderr.split("\n")) {
      if (line !== "" && !isInspectorNotice(line)) handlers.print?.(line);
    }
    return answer;
  }
  if (/out of memory|Allocation failed|heap limit/i.test(stderr)) {
    throw fail(
      "memory",
      `${path} ran out of the ${limits.memoryMiB} MiB of memory the check allows` +
        `${phase.rule ? ` in ${describeRule(path, phase.rule, exercise)}` : ""}: stopped`,
    );
  }
  if (/Top-level await promise never resolved/.test(stderr)) {
    throw fail(
      "load",
      `${path}: its top-level await never settles, so the file never finishes loading; ` +
        "remove that await",
    );
  }
  if (status.signal === "SIGXCPU") {
    // Only reached if the timers above did not stop it first.
    throw fail("timeout", `${path} used more than ${cpuLimit(limits)} s of CPU time: stopped`);
  }
  const why = deathLine(stderr);
  const how = status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
  throw fail(
    "no report",
    `${path} ended the ${request.mode} without a report (${how}${why ? `: ${why}` : ""}): ` +
      "a learner's file must let the check run to its end",
  );
}
