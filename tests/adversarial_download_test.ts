/**
 * Downloads bounded in memory and in time, and credentials never stored: against a server on
 * 127.0.0.1 (tests/fixtures/hostile_server.ts), a 5 MB gzip body that expands to 1 GiB and an
 * endless plain body are stopped at the size cap with the process's peak memory under the cap
 * (measured by /usr/bin/time), a server that sends a byte every 200 ms is stopped at the overall
 * deadline, and a URL's user:pass@ and token are in neither the checkpoint, the charts, nor the
 * output.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { redactUrl } from "../exercises/data.ts";
import { hostileServer } from "./fixtures/hostile_server.ts";
import {
  assertOneLine,
  type CommandOutcome,
  commandPath,
  runCommand,
  scratchDir,
} from "./helpers.ts";

const at = await scratchDir("ninjagrad-download-");
const server = hostileServer();
const CAP = 256 * 2 ** 20; // the default NINJAGRAD_MAX_NAMES_BYTES
const TIME = "/usr/bin/time";
const haveTime = await Deno.stat(TIME).then(() => true, () => false);

function test(name: string, fn: () => Promise<void>, ignore = false): void {
  Deno.test({ name, fn, ignore, sanitizeOps: false, sanitizeResources: false });
}

/** Runs train on `--data URL` under /usr/bin/time: its outcome and peak resident memory. */
async function measured(path: string): Promise<CommandOutcome & { peak: number }> {
  const out = await new Deno.Command(TIME, {
    args: [
      ...["-f", "peak-rss-kib=%M", Deno.execPath(), "run", "--quiet", "-A", commandPath("train")],
      ...["--data", `${server.base}${path}`, "--steps", "1", "--quiet", "--no-charts"],
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_CACHE_HOME: at(`cache${path.replace(/\W/g, "-")}`) },
  }).output();
  const lines = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l.trim() !== "");
  const peak = Number(lines.find((l) => l.startsWith("peak-rss-kib="))?.split("=")[1]) * 1024;
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: lines.filter((l) => !l.startsWith("peak-rss-kib=") && !/^Command exited/.test(l)),
    peak,
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

// Skipped only where /usr/bin/time is missing: the peak cannot be measured without it.
test("a gzip body expanding to 1 GiB: stopped at the cap, peak memory under the cap", async () => {
  const out = await measured("/bomb.gz");
  assertOneLine(
    out,
    1,
    /^error: the download of .*\/bomb\.gz ran past 268,435,456 bytes: more than the 268,435,456 bytes a names list may hold .*; nothing was kept$/,
  );
  console.log(`gzip bomb: peak resident memory ${mib(out.peak)} (cap ${mib(CAP)})`);
  assert.ok(out.peak > 0 && out.peak < CAP, `peak ${mib(out.peak)}`);
  const cache = join(at("cache-bomb-gz"), "ninjagrad");
  assert.deepEqual([...Deno.readDirSync(cache)], [], "nothing left in the cache");
}, !haveTime);

test("an endless plain body: stopped at the cap, peak memory under the cap", async () => {
  const out = await measured("/endless");
  assertOneLine(out, 1, /^error: the download of .*\/endless ran past 268,435,456 bytes/);
  console.log(`endless body: peak resident memory ${mib(out.peak)} (cap ${mib(CAP)})`);
  assert.ok(out.peak > 0 && out.peak < CAP, `peak ${mib(out.peak)}`);
}, !haveTime);

test("a byte every 200 ms: stopped at the overall deadline, in one line", async () => {
  const started = performance.now();
  const out = await runCommand(
    "train",
    ["--data", `${server.base}/trickle`, "--steps", "1", "--quiet", "--no-charts"],
    {
      XDG_CACHE_HOME: at("cache-trickle"),
      NINJAGRAD_HTTP_IDLE_MS: "1000",
      NINJAGRAD_HTTP_DEADLINE_MS: "2000",
    },
  );
  assertOneLine(
    out,
    1,
    /^error: could not download names from .*\/trickle: the download stopped after \d+ bytes \(it took longer than the 2 s a download may take\); nothing was cached/,
  );
  assert.ok(performance.now() - started < 20_000, "it ended");
});

test("a URL's user:pass@ and token are never stored: checkpoint, charts, output", async () => {
  const [user, pass, token] = ["ninja", "s3cret-pass", "t0ps3cret"];
  const url = `${server.base.replace("//", `//${user}:${pass}@`)}/private.txt?token=${token}`;
  const ckpt = at("private.ckpt"), charts = at("charts");
  const out = await runCommand(
    "train",
    ["--data", url, "--steps", "5", "--hidden", "8", "--save", ckpt, "--charts", charts],
    { XDG_CACHE_HOME: at("cache-private") },
  );
  assert.equal(out.code, 0, out.stderr.join("\n"));
  const stored = await Deno.readTextFile(ckpt);
  assert.match(stored, /"path":"http:\/\/127\.0\.0\.1:\d+\/private\.txt\?token=REDACTED"/);
  const everything = [
    stored,
    await Deno.readTextFile(join(charts, "report.html")),
    out.stdout,
    out.stderr.join("\n"),
  ];
  for (const text of everything) {
    for (const secret of [pass, token]) assert.ok(!text.includes(secret), `${secret} stored`);
  }
  // The user alone is no secret, but goes with the password.
  assert.ok(!stored.includes(`${user}:`), "user stored");
});

Deno.test("redactUrl: credentials out, the rest kept", () => {
  assert.equal(
    redactUrl("https://u:p@example.org/a/names.txt?v=2&access_token=x&X-Amz-Signature=y#top"),
    "https://example.org/a/names.txt?v=2&access_token=REDACTED&X-Amz-Signature=REDACTED#top",
  );
  assert.equal(redactUrl("names.txt"), "names.txt");
  assert.equal(redactUrl("http://example.org/n.txt"), "http://example.org/n.txt");
});

test("(the server closes)", () => server.close());
