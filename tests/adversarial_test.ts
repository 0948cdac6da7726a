/**
 * Hostile conditions, each met with one line and nothing lost: signals and kill -9 sent to a
 * spawned run, two runs on one checkpoint, save targets a save must not replace (a FIFO, a device,
 * a symbolic link, someone's file), FIFOs and devices as input, a server on 127.0.0.1 that stalls,
 * cuts a body short, redirects, loops, serves HTML or never stops, sizes the kernels cannot
 * address, and numbers typed wrong. Every case asserts the exit code, the one line, and that
 * what the user had is still there. Tiny models and short timeouts (NINJAGRAD_HTTP_TIMEOUT_MS,
 * NINJAGRAD_HTTP_IDLE_MS, NINJAGRAD_MAX_NAMES_BYTES) keep it quick.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../exercises/checkpoint.ts";
import { sha256Hex } from "../exercises/data.ts";
import { DEFAULT_CONFIG } from "../exercises/train/config.ts";
import { checkRunSize } from "../exercises/train/limits.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { hostileServer } from "./fixtures/hostile_server.ts";
import {
  assertOneLine,
  type CommandOutcome,
  commandPath,
  lectureNames,
  merged,
  runCommand,
  scratchDir,
} from "./helpers.ts";

const at = await scratchDir("ninjagrad-adversarial-");
const DATA = at("names.txt");
const NAMES_TEXT = (await lectureNames(100)).join("\n") + "\n";
await Deno.writeTextFile(DATA, NAMES_TEXT);
const TINY = ["--data", DATA, "--hidden", "8"];
/** A run far too long to finish; its learning rate never drops, evaluations every 50 steps. */
const LONG = [...TINY, "--steps", "5000000", "--lr-decay-at", "5000000", "--eval-every", "50"];
const linux = Deno.build.os === "linux";

/** A started long run: its evaluations as they come, its stderr, and the process. */
function startLong(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", commandPath("train"), ...LONG, "--json", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  const errDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let lastEval = 0;
  /** Reads until an evaluation at `step` or later has been printed; returns its step. */
  const evalAtLeast = async (step: number) => {
    while (lastEval < step) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the run ended before step ${step}: ${err}`);
      buffered += value;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        const e = JSON.parse(line);
        if (e.type === "eval") lastEval = e.step;
      }
    }
    return lastEval;
  };
  /** Waits until stderr says `pattern`. */
  const stderrSays = async (pattern: RegExp) => {
    while (!pattern.test(err)) await new Promise((r) => setTimeout(r, 10));
  };
  /** The exit code and stderr lines, once it ends. */
  const ended = async () => {
    for (;;) if ((await reader.read()).done) break;
    const status = await child.status;
    await errDone;
    return { code: status.code, stderr: err.trim().split("\n") };
  };
  return { child, evalAtLeast, stderrSays, ended };
}

/** What a run saving to `file` must never leave beside it: temp, probe and lock files. */
function leftovers(file: string): string[] {
  const prefix = `.${file.split("/").pop()}.`;
  return [...Deno.readDirSync(at("."))].map((e) => e.name).filter((n) => n.startsWith(prefix));
}

/**
 * A test of this file: the server and the spawned commands live across tests, so the per-test
 * checks for ops and resources left running are off.
 */
function test(name: string, fn: () => Promise<void> | void, ignore = false): void {
  Deno.test({ name, fn, ignore, sanitizeOps: false, sanitizeResources: false });
}

const STOPPED =
  /^interrupted at step (\d+) of 5000000; checkpoint saved to (.+?)(?: \(BatchNorm statistics estimated on [\d,]+ training examples\))?; continue with: deno task train --resume \2$/;

// ---------------------------------------------------------------------------------------------
// Signals and kills: each scenario starts as the module loads (they overlap), its test awaits it.

/** Runs `body` as the module loads; the test named `name` awaits it. */
function scenario(name: string, body: () => Promise<void>): void {
  const done = body();
  done.catch(() => {}); // reported by its test
  test(name, () => done);
}

for (const [signal, exit] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  scenario(
    `${signal} stops a run as Ctrl-C does: state and statistics saved, exit ${exit}`,
    async () => {
      const file = at(`${signal}.ckpt`);
      const job = await startLong(["--save", file]);
      const seen = await job.evalAtLeast(50);
      job.child.kill(signal);
      const { code, stderr } = await job.ended();
      assert.equal(code, exit, stderr.join("\n"));
      const m = stderr.at(-1)!.match(STOPPED);
      assert.ok(m, `last line: ${stderr.at(-1)}`);
      const ckpt = await loadCheckpoint(file);
      assert.equal(ckpt.step, Number(m[1]));
      assert.ok(ckpt.step >= seen, `saved step ${ckpt.step}, but step ${seen} was done`);
      assert.ok(Number.isFinite(ckpt.losses?.val), "the full statistics were measured too");
      assert.deepEqual(leftovers(file), []);
    },
  );
}

scenario(
  "a second Ctrl-C quits once the state is saved: it loads, nothing is left over",
  async () => {
    const file = at("twice.ckpt");
    const job = await startLong(["--save", file]);
    const seen = await job.evalAtLeast(50);
    job.child.kill("SIGINT");
    await job.stderrSays(/Ctrl-C: stopping/);
    job.child.kill("SIGINT");
    const { code, stderr } = await job.ended();
    assert.equal(code, 130, stderr.join("\n"));
    const m = stderr.at(-1)!.match(STOPPED);
    assert.ok(m, `last line: ${stderr.at(-1)}`);
    const ckpt = await loadCheckpoint(file);
    assert.equal(ckpt.step, Number(m[1]));
    assert.ok(ckpt.step >= seen);
    assert.deepEqual(leftovers(file), []);
  },
);

scenario(
  "kill -9 loses at most --checkpoint-every steps; --resume ends as a straight run, byte for byte",
  async () => {
    const file = at("killed.ckpt");
    const job = await startLong(["--save", file, "--checkpoint-every", "50"]);
    const seen = await job.evalAtLeast(100);
    job.child.kill("SIGKILL");
    await job.ended();
    const ckpt = await loadCheckpoint(file); // never torn: the rename is atomic
    assert.ok(ckpt.step % 50 === 0, `not a checkpoint of every 50 steps: ${ckpt.step}`);
    assert.ok(ckpt.step >= seen - 50, `step ${seen} was done, the checkpoint has ${ckpt.step}`);
    const steps = String(ckpt.step + 30), straight = at("straight.ckpt");
    const [resumed, whole] = await Promise.all([
      runCommand("train", ["--resume", file, "--steps", steps, "--quiet"]),
      runCommand("train", merged(LONG, ["--steps", steps, "--save", straight, "--quiet"])),
    ]);
    assert.equal(resumed.code, 0, resumed.stderr.join("\n"));
    assert.equal(whole.code, 0, whole.stderr.join("\n"));
    assert.deepEqual(await Deno.readFile(file), await Deno.readFile(straight));
    assert.deepEqual(leftovers(file), [], "the resumed run cleans what the killed one left");
  },
);

scenario("two runs on one checkpoint: the second is refused while the first holds it", async () => {
  const file = at("shared.ckpt");
  const first = await startLong(["--save", file]);
  await first.evalAtLeast(50);
  const second = await runCommand("train", [...TINY, "--steps", "20", "--save", file, "--quiet"]);
  assertOneLine(
    second,
    1,
    /cannot save to .*shared\.ckpt: another run \(process \d+\) is saving to it; wait for it to end, or --save another file$/,
    "second run",
  );
  first.child.kill("SIGINT");
  const { code } = await first.ended();
  assert.equal(code, 130);
  assert.ok((await loadCheckpoint(file)).step >= 50, "the first run's checkpoint is whole");
  assert.deepEqual(leftovers(file), []);
});

scenario("temp files a killed run left are removed, and said so", async () => {
  const file = at("stale.ckpt");
  await Deno.writeTextFile(at(".stale.ckpt.0badc0ffee15dead.tmp"), '{"format":"ninjagrad-check');
  const out = await runCommand("train", [...TINY, "--steps", "20", "--save", file, "--quiet"]);
  assert.equal(out.code, 0, out.stderr.join("\n"));
  assert.match(
    out.stderr.join("\n"),
    /^removed 1 temp file that a run killed while saving left beside .*stale\.ckpt \(\.stale\.ckpt\.0badc0ffee15dead\.tmp\)$/m,
  );
  assert.equal((await loadCheckpoint(file)).step, 20);
  assert.deepEqual(leftovers(file), []);
});

// ---------------------------------------------------------------------------------------------
// Where a save must not write, and what input must not be read.

const fifo = at("pipe");
const link = at("link.ckpt"), linked = at("linked.ckpt");
if (linux) {
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  await Deno.writeTextFile(linked, "keep me\n");
  await Deno.symlink(linked, link);
}
await Deno.mkdir(at("folder"));
await Deno.writeTextFile(at("mine.txt"), NAMES_TEXT);

interface Case {
  what: string;
  cli: "train" | "exercise" | "sample" | "ninja";
  args: string[];
  code: 1 | 2;
  says: RegExp;
  env?: Record<string, string>;
  /** Checks afterwards that what the user had is intact. */
  intact?: () => Promise<void> | void;
  linuxOnly?: boolean;
}

const train = (what: string, args: string[], code: 1 | 2, says: RegExp, more = {}): Case => ({
  what,
  cli: "train",
  args: merged(TINY, ["--steps", "5", "--quiet"], args),
  code,
  says,
  ...more,
});

const isFifo = () => assert.ok(Deno.lstatSync(fifo).isFifo, "the FIFO is still a FIFO");
const CASES: Case[] = [
  train(
    "--save onto a FIFO",
    ["--save", fifo],
    1,
    /cannot save to .*pipe: it is a FIFO \(named pipe\); a save would replace it with a file/,
    { intact: isFifo, linuxOnly: true },
  ),
  train(
    "--save onto a device",
    ["--save", "/dev/null"],
    1,
    /cannot save to \/dev\/null: it is a character device; a save would replace it/,
    { intact: () => assert.ok(Deno.lstatSync("/dev/null").isCharDevice), linuxOnly: true },
  ),
  train(
    "--save onto a symbolic link",
    ["--save", link],
    1,
    /cannot save to .*link\.ckpt: it is a symbolic link \(to .*linked\.ckpt\); a save would replace the link/,
    {
      intact: async () => {
        assert.ok(Deno.lstatSync(link).isSymlink);
        assert.equal(await Deno.readTextFile(linked), "keep me\n");
      },
      linuxOnly: true,
    },
  ),
  train(
    "--save onto someone's file",
    ["--save", at("mine.txt")],
    1,
    /cannot save to .*mine\.txt: it holds something other than a ninjagrad checkpoint \(it starts with "emma\\nolivia\\nava\\n"\) and a save would replace it/,
    {
      intact: async () => assert.equal(await Deno.readTextFile(at("mine.txt")), NAMES_TEXT),
    },
  ),
  train(
    "--save newdir/ (a directory meant)",
    ["--save", at("newdir/")],
    1,
    /cannot save to .*newdir\/?: ".*newdir\/" ends with a slash, so it names a directory; name a file in it/,
  ),
  train(
    "--save into a directory no file can be made in",
    ["--save", "/sys/ninjagrad.ckpt"],
    1,
    /cannot save to \/sys\/ninjagrad\.ckpt: cannot create files in \/sys \((?:Permission denied|Read-only file system)\)$/,
    { linuxOnly: true },
  ),
  train(
    "--data a FIFO with no writer",
    ["--data", fifo],
    1,
    /names file .*pipe is a FIFO \(named pipe\), not a file: save the names to a text file/,
    { intact: isFifo, linuxOnly: true },
  ),
  train(
    "--data /dev/zero",
    ["--data", "/dev/zero"],
    1,
    /names file \/dev\/zero is a character device, not a file/,
    { linuxOnly: true },
  ),
  train(
    "--data a file over the size limit",
    ["--data", DATA],
    1,
    /names file .*names\.txt holds [\d,]+ bytes: more than the 100 bytes a names list may hold \(NINJAGRAD_MAX_NAMES_BYTES raises the limit\)/,
    { env: { NINJAGRAD_MAX_NAMES_BYTES: "100" } },
  ),
  {
    what: "--resume a FIFO",
    cli: "train",
    args: ["--resume", fifo],
    code: 1,
    says:
      /checkpoint .*pipe is a FIFO \(named pipe\), not a file: pass the file train --save wrote/,
    intact: isFifo,
    linuxOnly: true,
  },
  {
    what: "--resume /dev/zero",
    cli: "train",
    args: ["--resume", "/dev/zero"],
    code: 1,
    says: /checkpoint \/dev\/zero is a character device, not a file/,
    linuxOnly: true,
  },
  {
    what: "--resume a directory",
    cli: "train",
    args: ["--resume", at("folder")],
    code: 1,
    says: /checkpoint .*folder is a directory: pass the file train --save wrote/,
  },
  {
    what: "sample from a FIFO",
    cli: "sample",
    args: ["--checkpoint", fifo],
    code: 1,
    says: /is a FIFO \(named pipe\), not a file/,
    linuxOnly: true,
  },
  // Sizes the kernels cannot address: refused before anything is built.
  train(
    "--batch 1000000 --hidden 100",
    ["--batch", "1000000", "--hidden", "100"],
    1,
    /a run of batch 1,000,000 and hidden 100 \(float32\) would need about [\d.]+ GiB, and its batch × hidden \(1,000,000 × 100\) matrices of 381 MiB each put the kernels' offsets past 2 GiB/,
  ),
  train(
    "--hidden 3000000",
    ["--hidden", "3000000"],
    1,
    /hidden 3,000,000 \(float32\) would need about [\d.]+ GiB.*past 2 GiB \(at most 256 MiB a matrix\): use a smaller --batch or --hidden$/,
  ),
  // Numbers as people mistype them.
  train(
    "--steps 1e12",
    ["--steps", "1e12"],
    2,
    /--steps must be between 1 and 1000000000, got 1e12/,
  ),
  train(
    "--seed past 2^53",
    ["--seed", "9007199254740993"],
    2,
    /--seed must be a whole number below 2\^53 \(9007199254740992\), got 9007199254740993/,
  ),
  train(
    "--steps 0x10",
    ["--steps", "0x10"],
    2,
    /--steps must be a number in decimal \(hex, octal and binary are not read\), got "0x10"/,
  ),
  train(
    "--steps ' 5'",
    ["--steps", " 5"],
    2,
    /--steps must be a number \(spaces around it\), got " 5"/,
  ),
  train(
    "--lr 1e-300",
    ["--lr", "1e-300"],
    2,
    /--lr 1e-300 is too small to train: every update lr × gradient would be lost in the rounding of float32 weights .*; use at least 1e-10/,
  ),
  train(
    "--checkpoint-every without --save",
    ["--checkpoint-every", "10"],
    2,
    /--checkpoint-every needs --save FILE/,
  ),
  train(
    "--checkpoint-every 5x",
    ["--save", at("x.ckpt"), "--checkpoint-every", "5x"],
    2,
    /--checkpoint-every must be a number of steps, or of seconds, minutes or hours/,
  ),
  {
    what: "ninja init on a file",
    cli: "ninja",
    args: ["init", DATA],
    code: 1,
    says: /cannot init .*names\.txt: it is a file, not a directory/,
  },
];

// ---------------------------------------------------------------------------------------------
// A server that misbehaves. Downloads are cached in a directory of this file's.

const server = hostileServer();
const cache = at("cache");
const NET = {
  XDG_CACHE_HOME: cache,
  // Long enough for a loaded machine to answer, short enough to wait for twice.
  NINJAGRAD_HTTP_TIMEOUT_MS: "5000",
  NINJAGRAD_HTTP_IDLE_MS: "1500",
  NINJAGRAD_MAX_NAMES_BYTES: "100000",
};
const url = (path: string) => `${server.base}${path}`;
const download = (path: string, says: RegExp): Case =>
  train(`--data URL: ${path}`, ["--data", url(path)], 1, says, { env: NET });
CASES.push(
  download(
    "/silent",
    /could not download names from .*\/silent \(no answer within 5 s\): check the URL/,
  ),
  download(
    "/stall",
    /could not download names from .*\/stall: the download stopped after 12 bytes \(it stalled for 1500 ms\); nothing was cached/,
  ),
  download(
    "/truncated",
    /could not download names from .*\/truncated: the download stopped after 1,000 bytes \(the connection broke: .*\); nothing was cached/,
  ),
  // Twenty redirects, each a connection of its own: the timeout covers them all.
  train(
    "--data URL: /loop",
    ["--data", url("/loop")],
    1,
    /could not download names from .*\/loop \(.*redirects.*\)/,
    {
      env: { ...NET, NINJAGRAD_HTTP_TIMEOUT_MS: "20000" },
    },
  ),
  download(
    "/page.html",
    /names downloaded from .*\/page\.html is an HTML page \(Content-Type text\/html\), not a names list/,
  ),
  download(
    "/endless",
    /the download of .*\/endless ran past 100,000 bytes: more than the 100,000 bytes a names list may hold/,
  ),
  download("/huge", /\/huge announces 10,000,000,000 bytes: more than the 100,000 bytes/),
  download("/missing", /could not download names from .*\/missing: HTTP 404 Not Found/),
);

/** Runs the cases a few at a time as the module loads; each test awaits its own. */
function runAll(cases: Case[], width = 4): Promise<CommandOutcome>[] {
  const slots: Promise<unknown>[] = [];
  return cases.map((c, i) => {
    if (c.linuxOnly && !linux) return Promise.resolve({ code: c.code, stdout: "", stderr: [] });
    const p = (slots[i % width] ?? Promise.resolve()).then(() => runCommand(c.cli, c.args, c.env));
    slots[i % width] = p.catch(() => {});
    return p;
  });
}
const outcomes = runAll(CASES);

CASES.forEach((c, i) => {
  test(
    `${c.cli}: ${c.what} → exit ${c.code}, one line, nothing lost`,
    async () => {
      assertOneLine(await outcomes[i], c.code, c.says, `${c.cli} ${c.args.join(" ")}`);
      await c.intact?.();
    },
    c.linuxOnly === true && !linux,
  );
});

test("downloads: a redirect is followed; nothing a failed download got is cached", async () => {
  await Promise.all(outcomes); // the failures above have run
  const out = await runCommand(
    "train",
    merged(TINY, ["--steps", "5", "--quiet", "--data", url("/redirect")]),
    NET,
  );
  assert.equal(out.code, 0, out.stderr.join("\n"));
  const cached = [...Deno.readDirSync(join(cache, "ninjagrad"))].map((e) => e.name);
  assert.deepEqual(cached, [`${(await sha256Hex(url("/redirect"))).slice(0, 16)}-redirect`]);
});

test("downloads: a cached copy that is not a names list is downloaded again, not reused", async () => {
  const where = join(cache, "ninjagrad");
  await Deno.mkdir(where, { recursive: true });
  const cached = join(where, `${(await sha256Hex(url("/names.txt"))).slice(0, 16)}-names.txt`);
  await Deno.writeTextFile(cached, "<!DOCTYPE html>\n<html></html>\n"); // an older version's
  const hits = server.hits.get("/names.txt") ?? 0;
  const out = await runCommand(
    "train",
    merged(TINY, ["--steps", "5", "--quiet", "--data", url("/names.txt")]),
    NET,
  );
  assert.equal(out.code, 0, out.stderr.join("\n"));
  assert.match(await Deno.readTextFile(cached), /^emma\nolivia\n/);
  assert.equal(server.hits.get("/names.txt"), hits + 1, "downloaded again");
});

test("sample -n 1e12 streams: the first names come at once, and a closed pipe ends it quietly", async () => {
  const file = at("stream.ckpt");
  const made = await runCommand("train", [...TINY, "--steps", "20", "--save", file, "--quiet"]);
  assert.equal(made.code, 0, made.stderr.join("\n"));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      commandPath("sample"),
      "--checkpoint",
      file,
      "-n",
      "1000000000000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (text.split("\n").length < 4) text += (await reader.read()).value ?? "";
  await reader.cancel(); // as `| head -3` does
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(status.code, 0, stderr);
  assert.ok(text.split("\n").slice(0, 3).every((name) => /^[a-z]*$/.test(name)), text);
});

test("a run bigger than the machine's memory is refused with what it would need", () => {
  const config = { ...DEFAULT_CONFIG, batch: 16_384 };
  const sizes = { vocab: 27, embd: 10, block: 3, hidden: 2000 };
  assert.throws(
    () => checkRunSize(config, sizes, 2 ** 30),
    (e: unknown) =>
      e instanceof NinjagradError &&
      /^a run of batch 16,384 and hidden 2,000 \(float32\) would need about [\d.]+ GiB of memory, more than this machine's 1\.0 GiB: use a smaller --batch or --hidden$/
        .test(e.message),
  );
  checkRunSize(config, sizes, 2 ** 40); // fits a bigger machine
});

test("(the server closes)", () => server.close());
