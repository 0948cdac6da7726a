/**
 * A hostile learner's file against `ninja check` and `ninja train`, which run it in a sandboxed
 * child (exercises/ninja/sandbox.ts): endless loops at load and in a rule are stopped and named,
 * `Deno.exit(0)` fails the check, reads outside the project, writes, subprocesses, the network,
 * the environment and FFI are refused (and the write does not happen), FIFOs and devices are
 * refused up front, memory is capped, the learner's prints stay out of `--json`, a chart folder
 * that cannot be written costs the charts and not the report. Each case asserts the exit code
 * and the one line on stderr. Short limits (NINJAGRAD_SANDBOX_*) keep it quick.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertOneLine,
  type CommandOutcome,
  commandPath,
  lectureNames,
  runCommand,
  scratchDir,
} from "./helpers.ts";
import { ruleLocation } from "../exercises/ninja/sandbox.ts";
import { decodeFrame, encodeFrame } from "../exercises/ninja/sandbox_wire.ts";
import { lockfileRefusal } from "../exercises/ninja/source.ts";

const at = await scratchDir("ninjagrad-sandbox-");
const REPO = new URL("../", import.meta.url).href;
const DATA = at("names.txt");
await Deno.writeTextFile(DATA, (await lectureNames(200)).join("\n") + "\n");
const linux = Deno.build.os === "linux";
const LIMITS = {
  NINJAGRAD_SANDBOX_RULE_MS: "1500",
  NINJAGRAD_SANDBOX_LOAD_MS: "10000",
};

/** An exercise-1 file with the reference rules: `top` before them, `overrides` among them. */
function ex1(top = "", overrides = ""): string {
  return `import type { Ex1Rules } from "${REPO}exercises/ninja/api.ts";
import { ex1Rules } from "${REPO}exercises/rules/ex1.ts";
export const exercise = 1;
${top}
export const rules: Ex1Rules = {
  ...ex1Rules,
  ${overrides}
};
`;
}

/** An exercise-4 file with the reference rules, `top` before them, `overrides` among them. */
function ex4(top = "", overrides = ""): string {
  return `import { kernels as t } from "${REPO}mod.ts";
import type { Ex4Rules } from "${REPO}exercises/ninja/api.ts";
import { ex4Rules } from "${REPO}exercises/rules/ex4_lines.ts";
export const exercise = 4;
${top}
export const rules: Ex4Rules = {
  ...ex4Rules,
  ${overrides}
};
void t;
`;
}

let files = 0;
/** Writes a learner's file into a folder of its own (its name may be given) and returns its path. */
async function learner(
  text: string,
  dir = `case${files++}`,
  name = "backprop.ts",
): Promise<string> {
  await Deno.mkdir(at(dir), { recursive: true });
  const path = join(at(dir), name);
  await Deno.writeTextFile(path, text);
  return path;
}

function check(path: string, ...args: string[]): Promise<CommandOutcome> {
  return runCommand("ninja", ["check", path, "--no-check", ...args], LIMITS);
}

/** Exit code 1 (unless given), and exactly one line on stderr, an error matching `says`. */
function assertRefused(o: CommandOutcome, says: RegExp, code = 1): void {
  assertOneLine(o, code, says);
}

Deno.test("an endless loop in a rule is stopped at the rule limit, naming the rule and its line", async () => {
  const path = await learner(ex1(
    "",
    `h: {
    hpreact: () => {
      while (true) {}
    },
  },`,
  ));
  const t0 = performance.now();
  const o = await check(path);
  const seconds = (performance.now() - t0) / 1000;
  assertRefused(
    o,
    new RegExp(
      `^error: the rule h\\.hpreact \\(dhpreact\\) at ${path}:8:5 ran for more than 1\\.5 s: ` +
        `stopped at ${path}:9:7 \\(an endless loop\\?\\)`,
    ),
  );
  assert.equal(o.stdout, "");
  console.log(`  the endless rule was stopped ${seconds.toFixed(1)} s after the check started`);
  assert.ok(seconds < 30, `${seconds} s`);
});

Deno.test("an endless loop at load is stopped at the load limit, naming the file", async () => {
  const path = await learner(ex1("while (true) {}"));
  const t0 = performance.now();
  const o = await runCommand("ninja", ["check", path, "--no-check"], {
    NINJAGRAD_SANDBOX_LOAD_MS: "3000",
  });
  const seconds = (performance.now() - t0) / 1000;
  assertRefused(
    o,
    new RegExp(`^error: ${path}:4:1: the file did not finish loading within 3 s: stopped on this`),
  );
  console.log(`  the endless top level was stopped ${seconds.toFixed(1)} s after the start`);
  assert.ok(seconds < 30, `${seconds} s`);
});

Deno.test("Deno.exit(0) in the file, or in a rule, fails the check: never a faked pass", async () => {
  const top = await learner(ex1("Deno.exit(0);"));
  assertRefused(
    await check(top),
    new RegExp(`^error: ${top}:4:6: the file called Deno.exit\\(0\\): .*remove that call$`),
  );
  const json = await check(top, "--json");
  assert.equal(json.code, 1);
  assert.equal(JSON.parse(json.stdout).error.kind, "exit");
  const inRule = await learner(ex1("", "h: { hpreact: () => Deno.exit(0) },"));
  assertRefused(await check(inRule), /:7:28: the file called Deno\.exit\(0\)/);
  // A file that takes the report's way out (stdout closed) has no report: a failure too.
  const closed = await learner(ex1("Deno.stdout.close();"));
  assertRefused(await check(closed), /ended the check without a report \(exit code 3\)/);
});

Deno.test("reads outside the project, writes, subprocesses, net, env and FFI are refused", async () => {
  const target = at("written-by-the-learner.txt");
  const spawned = at("made-by-a-subprocess.txt");
  const cases: [string, RegExp][] = [
    [`Deno.readTextFileSync("/etc/hostname");`, /needs read access to "\/etc\/hostname"/],
    [`Deno.writeTextFileSync(${JSON.stringify(target)}, "x");`, /needs write access to/],
    [
      `new Deno.Command("touch", { args: [${JSON.stringify(spawned)}] }).outputSync();`,
      /needs run access to "touch"/,
    ],
    [`await fetch("https://example.com/");`, /needs net access to "example\.com:443"/],
    [`Deno.env.get("HOME");`, /needs env access to "HOME"/],
    [`Deno.dlopen("libc.so.6", {});`, /needs ffi access/],
  ];
  for (const [line, says] of cases) {
    const path = await learner(ex1(line));
    const o = await check(path);
    assertRefused(o, says);
    assert.match(o.stderr[0], new RegExp(`^error: ${path}:4:\\d+: refused: .*no writes, network`));
  }
  await assert.rejects(Deno.stat(target), Deno.errors.NotFound);
  await assert.rejects(Deno.stat(spawned), Deno.errors.NotFound);
  // A rule that writes fails its node, and writes nothing either.
  const path = await learner(ex1(
    "",
    `h: { hpreact: () => { Deno.writeTextFileSync(${JSON.stringify(target)}, "x"); throw 1; } },`,
  ));
  const o = await check(path);
  assert.equal(o.code, 1);
  assert.match(o.stdout, /hpreact +wrong +dhpreact: your rule threw NotCapable: Requires write/);
  await assert.rejects(Deno.stat(target), Deno.errors.NotFound);
  // The file's own folder is not the project: a file beside it cannot be read.
  const secret = at("case-beside/secret.txt");
  const beside = await learner(
    ex1(`Deno.readTextFileSync(${JSON.stringify(secret)});`),
    "case-beside",
  );
  await Deno.writeTextFile(secret, "mine");
  assertRefused(await check(beside), /needs read access to/);
  // Nor can it import one: the rules live in the learner's one file.
  await Deno.writeTextFile(at("case-beside/helper.ts"), "export const two = 2;\n");
  const importer = await learner(
    ex1(`import { two } from "./helper.ts";\nvoid two;`),
    "case-beside",
    "importer.ts",
  );
  assertRefused(
    await check(importer),
    new RegExp(`^error: ${importer}:4:21: refused: the file imports ".*helper\\.ts", outside the`),
  );
});

Deno.test("a FIFO, /dev/zero and a huge file are refused up front, without reading them", async () => {
  const fifo = at("rules-fifo.ts");
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(made.code, 0);
  for (
    const [path, says] of [[fifo, /is a FIFO, not a file of rules/], [
      "/dev/zero",
      /is a device, not a file of rules/,
    ]] as const
  ) {
    const t0 = performance.now();
    const o = await runCommand("ninja", ["check", path], LIMITS); // with the type-check
    assertRefused(o, says);
    assert.ok(performance.now() - t0 < 20_000);
  }
  // Deno's --allow-read list cannot hold a comma: refused in one line, not a crash.
  const comma = await learner(ex1(), "case,comma");
  assertRefused(await check(comma), /has a comma in its path, .*rename the folder$/);
  const huge = at("huge.ts");
  await Deno.writeTextFile(huge, "//" + "x".repeat(2 * 1024 * 1024));
  assertRefused(await check(huge), /is 2\.0 MiB, over the 1 MiB a file of rules may have/);
});

Deno.test("a proxy whose trap throws, and a top-level await that never settles: one line", async () => {
  const proxy = await learner(
    ex1().replace(
      "export const rules: Ex1Rules = {",
      `export const rules: Ex1Rules = new Proxy({} as Ex1Rules, {
  get() { throw new Error("trap!"); },
  ownKeys() { throw new Error("trap!"); },
});
export const unused = {`,
    ),
  );
  assertRefused(await check(proxy), new RegExp(`^error: ${proxy}:7:21: trap!`));
  const never = await learner(ex1("await new Promise(() => {});"));
  assertRefused(await check(never), /its top-level await never settles/);
  const slow = await learner(ex1("await new Promise((r) => setTimeout(r, 1e9));"));
  assertRefused(
    await runCommand("ninja", ["check", slow, "--no-check"], { NINJAGRAD_SANDBOX_LOAD_MS: "3000" }),
    /did not finish loading within 3 s: stopped \(an endless loop at its top level, or an await/,
  );
});

Deno.test("console.log in the file does not break --json: the prints go to stderr", async () => {
  const path = await learner(ex1(
    `console.log("hello from the top"); Deno.stdout.writeSync(new TextEncoder().encode("raw"));`,
    `h: { hpreact: (c) => { console.log("in a rule"); return ex1Rules.h.hpreact(c); } },`,
  ));
  const o = await check(path, "--json");
  assert.equal(o.code, 0, o.stderr.join("\n"));
  const report = JSON.parse(o.stdout); // exactly one document, nothing around it
  assert.equal(report.ok, true);
  assert.equal(o.stdout.trim().split("\n").length, 1);
  assert.ok(o.stderr.includes("hello from the top"), o.stderr.join("\n"));
  assert.ok(o.stderr.includes("in a rule"));
  assert.ok(o.stderr.some((l) => l.includes("raw")));
});

Deno.test("--charts into a folder that cannot be written: the report, then one line", async () => {
  const path = await learner(ex1());
  const blocked = join(await learner("", "case-charts", "a-file"), "charts");
  const o = await check(path, "--charts", blocked);
  assertRefused(o, /cannot write charts to .*the check's report is above, the charts are not/);
  assert.match(o.stdout, /26 gradients: 26 ok, 0 wrong, 0 not written/);
  const json = await check(path, "--json", "--charts", blocked);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.ok, true);
  assert.match(doc.charts.error, /cannot write charts/);
});

Deno.test("a rule that throws in a path with spaces and accents gets its file:line", async () => {
  const path = await learner(
    ex1(
      "",
      `h: {
    hpreact: () => {
      throw new Error("nope");
    },
  },`,
    ),
    "my rules é ü",
    "back prop.ts",
  );
  const o = await check(path);
  assert.equal(o.code, 1);
  assert.match(o.stdout, /dhpreact: your rule threw nope \(back prop\.ts:9:13\)/);
  assert.ok(o.stdout.includes(`your rule threw at ${path}:9:13:`), o.stdout);
});

Deno.test("memory is capped: the V8 heap and typed arrays alike, with one line", async () => {
  const heap = await learner(
    ex1("const keep: number[][] = []; while (true) keep.push(new Array(1e6).fill(1.5));"),
  );
  assertRefused(
    await runCommand("ninja", ["check", heap, "--no-check"], { NINJAGRAD_SANDBOX_MIB: "128" }),
    /ran out of the 128 MiB of memory the check allows: stopped|used more than 512 MiB/,
  );
  const typed = await learner(
    ex1(
      "",
      `h: { hpreact: () => { const keep = []; while (true) keep.push(new Float64Array(1e7).fill(1)); } },`,
    ),
  );
  assertRefused(
    await runCommand("ninja", ["check", typed, "--no-check"], { NINJAGRAD_SANDBOX_MIB: "128" }),
    /used more than 512 MiB of memory in the rule h\.hpreact \(dhpreact\) at .*: stopped/,
  );
});

Deno.test("ninja train: a rule that loops mid-run is stopped and named; SIGTERM stops it in one line", async () => {
  const path = await learner(
    ex4(
      "let calls = 0;",
      `h: {
    hpreact: ({ dh, h }) => {
      if (++calls === 5) while (true) {}
      return t.mul(t.oneMinusSquare(h), dh);
    },
  },`,
    ),
    "case-train",
    "fused_backward.ts",
  );
  const o = await runCommand(
    "ninja",
    ["train", path, "--no-check", "--data", DATA, "--hidden", "8", "--steps", "20"],
    LIMITS,
  );
  assertRefused(
    o,
    /the rule h\.hpreact \(dhpreact\) at .*fused_backward\.ts:9:5 ran for more than 1\.5 s: stopped at .*fused_backward\.ts:10:\d+ /,
  );
  const exits = await learner(
    ex4("", "") + "Deno.exit(0);\n",
    "case-train-exit",
    "fused_backward.ts",
  );
  const exited = await runCommand("ninja", ["train", exits, "--no-check", "--data", DATA], LIMITS);
  assertRefused(exited, /the file called Deno\.exit\(0\)/);
  // A long run, stopped by SIGTERM once it has started: one line, exit 143.
  const ok = await learner(ex4(), "case-train-ok", "fused_backward.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      commandPath("ninja"),
      "train",
      ok,
      "--no-check",
      "--data",
      DATA,
      "--hidden",
      "8",
      "--steps",
      "5000000",
      "--eval-every",
      "50",
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/"type":"eval"/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  child.kill("SIGTERM");
  while (!(await reader.read()).done) { /* drain */ }
  const status = await child.status;
  const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  assert.equal(status.code, 143, err);
  assert.match(
    err,
    /^error: ninja train stopped by SIGTERM after step \d+ of 5000000; ninja train saves nothing\n$/,
  );
});

Deno.test("SIGTERM during a check whose rule loops: the child is stopped with it, exit 143", async () => {
  const path = await learner(ex1("", "h: { hpreact: () => { while (true) {} } },"));
  const parent = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", commandPath("ninja"), "check", path, "--no-check"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", NINJAGRAD_SANDBOX_RULE_MS: "60000" },
  }).spawn();
  // Wait for the child, and for it to be in the rule (using a CPU).
  let child: number | undefined;
  for (let i = 0; i < 300 && child === undefined; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const ps = await new Deno.Command("pgrep", { args: ["-P", String(parent.pid)] }).output();
    child = Number(new TextDecoder().decode(ps.stdout).trim().split("\n")[0]) || undefined;
  }
  assert.ok(child, "no child process");
  // Should this process die outright (SIGKILL), the kernel still stops a looping child: its
  // CPU seconds are limited to twice the time limits (30 s load + 120 s in all) and 5 s more.
  if (linux && (await Deno.stat("/usr/bin/prlimit").catch(() => undefined))) {
    const limits = await Deno.readTextFile(`/proc/${child}/limits`);
    assert.match(limits, /^Max cpu time\s+305\s+310\s+seconds/m);
  }
  await new Promise((r) => setTimeout(r, 3000));
  parent.kill("SIGTERM");
  const out = await parent.output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 143, err);
  assert.match(err, /^error: ninja check of .* stopped by SIGTERM\n$/);
  await assert.rejects(Deno.stat(`/proc/${child}`), Deno.errors.NotFound);
});

Deno.test("ninja train killed outright (SIGKILL): its sandboxed child dies with it", {
  ignore: !linux || !(await Deno.stat("/usr/bin/setpriv").catch(() => undefined)),
}, async () => {
  // A rule that starts looping a few hundred steps in, under a rule limit far longer than the
  // test: once the parent is gone, nothing writes to the child or reads what it writes.
  const loops = await learner(
    ex4(
      "let calls = 0;",
      `h: {
    hpreact: ({ dh, h }) => {
      if (++calls === 400) while (true) {}
      return t.mul(t.oneMinusSquare(h), dh);
    },
  },`,
    ),
    "case-train-kill",
    "fused_backward.ts",
  );
  const args = ["train", loops, "--no-check", "--data", DATA, "--hidden", "8", "--steps", "5000"];
  const parent = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", commandPath("ninja"), ...args, "--eval-every", "50", "--json"],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1", NINJAGRAD_SANDBOX_RULE_MS: "600000" },
  }).spawn();
  const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/"type":"eval"/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  await new Promise((r) => setTimeout(r, 2000)); // well past the 400th call: the rule loops
  const ps = await new Deno.Command("pgrep", { args: ["-P", String(parent.pid)] }).output();
  const child = Number(new TextDecoder().decode(ps.stdout).trim().split("\n")[0]);
  assert.ok(child > 0, "no child process");
  // Training has no overall time limit: without the parent-death signal the child would loop on.
  parent.kill("SIGKILL");
  await parent.status;
  reader.releaseLock();
  await parent.stdout.cancel().catch(() => {});
  let alive = true;
  for (let i = 0; i < 50 && alive; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const stat = await Deno.readTextFile(`/proc/${child}/stat`).catch(() => "");
    alive = stat !== "" && !/^\d+ \(.*\) Z/.test(stat); // gone, or a zombie not yet reaped
  }
  assert.equal(alive, false, `the child ${child} still runs after its parent was killed`);
});

Deno.test("a package the project does not have is refused: node_modules and deno.lock untouched", async () => {
  const lock = await Deno.readTextFile(new URL("../deno.lock", import.meta.url));
  const path = await learner(ex1(`import "npm:left-pad@1.3.0";`));
  for (const flags of [[], ["--no-check"]]) {
    const o = await runCommand("ninja", ["check", path, ...flags], LIMITS);
    assert.equal(o.code, 1);
    assert.match(
      o.stderr.at(-1)!,
      new RegExp(
        `^error: ${path}:4:\\d+: the file imports npm:left-pad@1\\.3\\.0, which the project`,
      ),
    );
  }
  assert.equal(await Deno.readTextFile(new URL("../deno.lock", import.meta.url)), lock);
  await assert.rejects(Deno.stat(new URL("../node_modules/left-pad", import.meta.url)));
});

Deno.test("ninja train --json: the learner's prints stay off stdout; Ctrl-C to the terminal's group: one line, 130", async () => {
  const path = await learner(
    ex4(
      `console.log("loaded");`,
      `h: {
    hpreact: ({ dh, h }) => {
      console.log("a rule ran");
      return t.mul(t.oneMinusSquare(h), dh);
    },
  },`,
    ),
    "case-train-print",
    "fused_backward.ts",
  );
  const args = ["train", path, "--no-check", "--data", DATA, "--hidden", "8", "--json"];
  const o = await runCommand("ninja", [...args, "--steps", "5", "--eval-every", "0"], LIMITS);
  assert.equal(o.code, 0, o.stderr.join("\n"));
  const lines = o.stdout.trim().split("\n");
  for (const line of lines) JSON.parse(line); // every line of stdout is a JSON record
  assert.equal(JSON.parse(lines.at(-1)!).type, "done");
  assert.ok(o.stderr.includes("loaded") && o.stderr.includes("a rule ran"), o.stderr.join("\n"));
  // Ctrl-C in a terminal reaches the whole process group: the command and its child alike.
  const group = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      "run",
      "--quiet",
      "-A",
      commandPath("ninja"),
      ...args,
      "--steps",
      "5000000",
      "--eval-every",
      "50",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = group.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/"type":"eval"/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  Deno.kill(-group.pid, "SIGINT");
  while (!(await reader.read()).done) { /* drain */ }
  const status = await group.status;
  const err = new TextDecoder().decode(await new Response(group.stderr).arrayBuffer());
  assert.equal(status.code, 130, err);
  const said = err.split("\n").filter((l) => l !== "" && l !== "a rule ran" && l !== "loaded");
  assert.equal(said.length, 1, err);
  assert.match(
    said[0],
    /^error: ninja train stopped by Ctrl-C after step \d+ of 5000000; ninja train saves nothing$/,
  );
});

Deno.test("a child whose inspector cannot listen runs again without it: the check still answers", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const path = await learner(ex1());
    const o = await runCommand("ninja", ["check", path, "--no-check"], {
      NINJAGRAD_SANDBOX_INSPECT: `127.0.0.1:${taken.addr.port}`,
    });
    assert.equal(o.code, 0, o.stderr.join("\n"));
    assert.equal(o.stderr.length, 0, o.stderr.join("\n"));
    assert.match(o.stdout, /26 gradients: 26 ok, 0 wrong, 0 not written/);
  } finally {
    taken.close();
  }
});

Deno.test("the wire keeps NaN and Infinity, and a rule is found in the file's text", () => {
  const frame = decodeFrame(
    encodeFrame({ t: "event", event: { maxdiff: NaN, big: Infinity, small: -Infinity, x: 1 } }),
  );
  assert.deepEqual(frame, {
    t: "event",
    event: { maxdiff: NaN, big: Infinity, small: -Infinity, x: 1 },
  });
  const text = `export const rules = {
  h: { hpreact: ({ dh }) => dh },
  "logits": {
    h: (c) => c.g,
    W2: function (c) { return c.g; },
  },
};`;
  assert.deepEqual(ruleLocation(text, "h", "hpreact"), { line: 2, column: 8 });
  assert.deepEqual(ruleLocation(text, "logits", "h"), { line: 4, column: 5 });
  assert.deepEqual(ruleLocation(text, "logits", "W2"), { line: 5, column: 5 });
  assert.equal(ruleLocation(text, "emb", "C"), undefined);
  // A package the file does not name: the project's lockfile is blamed, not the learner.
  const stale = lockfileRefusal(
    'error: The lockfile is out of date\n+ "npm:rxjs@9.0.0"',
    at("x.ts"),
  );
  assert.match(stale!.message, /the project's deno\.lock is out of date/);
});
