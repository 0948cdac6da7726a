/**
 * Ctrl-C during `deno task train --save FILE`: the step in progress finishes, the checkpoint is
 * written and named, the exit code is 130, and `--resume FILE` carries the run on as if it had
 * never stopped. With `--charts DIR`, the charts of the steps done are written before exiting.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCheckpoint } from "../exercises/checkpoint.ts";
import { loadNames } from "../exercises/data.ts";
import { merged } from "./helpers.ts";

const NAMES = new URL("../exercises/data/names.txt", import.meta.url);
const TRAIN = fileURLToPath(new URL("../exercises/cli/train.ts", import.meta.url));

const dir = await Deno.makeTempDir({ prefix: "ninjagrad-sigint-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const DATA = join(dir, "names.txt");
await Deno.writeTextFile(DATA, (await loadNames(NAMES)).slice(0, 100).join("\n"));
/** A run far too long to finish: only Ctrl-C ends it. Its learning rate never drops. */
const LONG = [
  "--data",
  DATA,
  "--hidden",
  "16",
  "--steps",
  "5000000",
  "--lr-decay-at",
  "5000000",
  "--eval-every",
  "100",
  "--json",
];

/** Starts a long run, waits for its first evaluation (step 100), then sends SIGINT. */
async function interrupt(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", TRAIN, ...LONG, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  // The first line says what it trains on; the second is the first evaluation.
  while (seen.split("\n").length < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  assert.equal(JSON.parse(seen.split("\n")[0]).type, "start", seen);
  const first = JSON.parse(seen.split("\n")[1]);
  assert.equal(first.type, "eval", seen);
  child.kill("SIGINT");
  for (;;) if ((await reader.read()).done) break;
  const status = await child.status;
  const stderr = (await new Response(child.stderr).text()).trim().split("\n");
  return { code: status.code, signal: status.signal, stderr, firstEval: first.step as number };
}

Deno.test("Ctrl-C with --save: the checkpoint is written, named, and exit is 130", async () => {
  const file = join(dir, "run.ckpt");
  const { code, stderr, firstEval } = await interrupt(["--save", file]);
  assert.equal(code, 130, stderr.join("\n"));
  const last = stderr.at(-1)!;
  const m = last.match(
    /^interrupted at step (\d+) of 5000000; checkpoint saved to (.+); continue with: deno task train --resume (.+)$/,
  );
  assert.ok(m, `last line: ${last}`);
  assert.equal(m[2], file);
  const ckpt = await loadCheckpoint(file);
  assert.equal(ckpt.step, Number(m[1]));
  assert.ok(ckpt.step >= firstEval, `saved step ${ckpt.step}, but step ${firstEval} was done`);
  assert.ok(ckpt.step < 5_000_000);
  assert.ok(Number.isFinite(ckpt.losses?.train), "the losses of the stopped run are measured");

  // Resumed to 50 steps past the stop, it equals a straight run of that length, byte for byte.
  const steps = String(ckpt.step + 50), straight = join(dir, "straight.ckpt");
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", TRAIN, ...args],
      stdout: "null",
    })
      .output();
  const [resumed, whole] = await Promise.all([
    run(["--resume", file, "--steps", steps, "--quiet"]),
    run(merged(LONG.slice(0, -1), ["--steps", steps, "--save", straight, "--quiet"])),
  ]);
  assert.equal(resumed.code, 0);
  assert.equal(whole.code, 0);
  assert.deepEqual(await Deno.readFile(file), await Deno.readFile(straight));
});

Deno.test("Ctrl-C without --save: exit 130 and a line that says nothing was saved", async () => {
  const { code, stderr } = await interrupt([]);
  assert.equal(code, 130);
  assert.match(
    stderr.at(-1)!,
    /^interrupted at step \d+ of 5000000; nothing saved \(--save FILE keeps an interrupted run\)$/,
  );
  assert.ok(!stderr.some((l) => /^\s+at /.test(l)), stderr.join("\n"));
});

Deno.test("Ctrl-C with --charts: the charts of the steps done are written, then exit 130", async () => {
  const charts = join(dir, "charts");
  const { code, stderr } = await interrupt(["--charts", charts]);
  assert.equal(code, 130, stderr.join("\n"));
  assert.match(stderr.at(-1)!, /^interrupted at step \d+ of 5000000; nothing saved/);
  assert.match(stderr.at(-2)!, /^\d+ charts \(.*loss.*\) written to /);
  const spec = JSON.parse(await Deno.readTextFile(join(charts, "loss.vl.json")));
  assert.ok(JSON.stringify(spec).includes("loss"), "the loss chart has the run's losses");
  assert.ok((await Deno.stat(join(charts, "report.html"))).size > 100_000);
  assert.ok((await Deno.stat(join(charts, "loss.png"))).size > 1_000);
});
