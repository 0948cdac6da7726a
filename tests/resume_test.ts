/**
 * Nothing lost: a run saved at step 150 and resumed to 300 ends where a straight 300-step run
 * ends, bit for bit (parameters, step losses, random state, split losses), and a checkpoint is
 * written atomically, so a failed write leaves the good file it would have replaced.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "../exercises/checkpoint.ts";
import { PARAM_NAMES } from "../exercises/model/ex4.ts";
import { DEFAULT_CONFIG, type TrainConfig } from "../exercises/train/config.ts";
import { prepareData } from "../exercises/train/data.ts";
import type { DoneEvent } from "../exercises/train/events.ts";
import { train, type TrainOptions } from "../exercises/train/run.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { sha256Hex } from "../exercises/data.ts";
import { lectureNames, runScript, trainToEnd } from "./helpers.ts";

const TRAIN = fileURLToPath(new URL("../exercises/cli/train.ts", import.meta.url));
const WORDS = await lectureNames(100);
const FIXTURE = prepareData(WORDS, 3, "100 names");
/** Which names the fixture's runs trained on, as a checkpoint records it. */
const FINGERPRINT = { names: WORDS.length, sha256: await sha256Hex(WORDS.join("\n")) };
const CONFIG: TrainConfig = {
  ...DEFAULT_CONFIG,
  steps: 300,
  hidden: 16,
  evalEvery: 0,
  seed: 5,
  decayAt: 150,
};

/** Runs on the fixture to the end: every step's loss and the final event. */
const runToEnd = (config: TrainConfig, options: TrainOptions = {}) =>
  trainToEnd(config, FIXTURE, options);

/** The run's state as a checkpoint holds it, through its JSON text (as a file would). */
function saved(config: TrainConfig, done: DoneEvent): Checkpoint {
  return decodeCheckpoint(encodeCheckpoint({
    config,
    step: done.step,
    model: done.model,
    rngState: done.rngState,
    data: FINGERPRINT,
  }));
}

function assertSameRun(a: DoneEvent, b: DoneEvent) {
  for (const name of PARAM_NAMES) {
    const x = new Uint8Array(a.model.weights[name].buffer);
    const y = new Uint8Array(b.model.weights[name].buffer);
    assert.deepEqual(x, y, `${name} differs`);
  }
  assert.deepEqual(a.rngState, b.rngState);
  assert.equal(a.train, b.train);
  assert.equal(a.val, b.val);
}

Deno.test("150 steps, saved, resumed to 300 = 300 straight: every loss and every bit", async () => {
  for (
    const variant of [
      {},
      { rng: "torch", dtype: "float64", backward: "auto", batch: 8 } as const,
    ]
  ) {
    const config = { ...CONFIG, ...variant };
    const straight = await runToEnd(config);
    const first = await runToEnd({ ...config, steps: 150 });
    const ckpt = saved({ ...config, steps: 150 }, first.done);
    const rest = await runToEnd(config, {
      start: { step: ckpt.step, weights: ckpt.model.weights, rngState: ckpt.rngState },
    });
    assert.equal(rest.losses.length, 150, "the resumed run does steps 151..300 only");
    assert.deepEqual([...first.losses, ...rest.losses], straight.losses);
    assert.equal(rest.done.step, 300);
    assertSameRun(rest.done, straight.done);
  }
});

Deno.test("resuming needs the step to be restored: from step 0 the run differs", async () => {
  const straight = await runToEnd(CONFIG);
  const first = await runToEnd({ ...CONFIG, steps: 150 });
  const ckpt = saved({ ...CONFIG, steps: 150 }, first.done);
  // The right weights and random state, but the wrong step: the learning rate is wrong for
  // steps 151..300 (and there are 300 of them).
  const wrong = await runToEnd(CONFIG, {
    start: { step: 0, weights: ckpt.model.weights, rngState: ckpt.rngState },
  });
  assert.notDeepEqual(wrong.losses.slice(0, 150), straight.losses.slice(150));
});

Deno.test("periodic evaluations draw nothing from the training generator", async () => {
  const quiet = await runToEnd(CONFIG);
  const evaluated = await runToEnd({ ...CONFIG, evalEvery: 7, evalExamples: 50 });
  assert.deepEqual(evaluated.losses, quiet.losses);
  assertSameRun(evaluated.done, quiet.done);
});

Deno.test("a start that does not fit the net is refused with one line", async () => {
  const first = await runToEnd({ ...CONFIG, steps: 10 });
  const start = { step: 10, weights: first.done.model.weights, rngState: first.done.rngState };
  assert.throws(
    () => train({ ...CONFIG, hidden: 32 }, FIXTURE, { start }),
    (e: unknown) =>
      e instanceof NinjagradError && /the saved W1 does not fit a float32 net/.test(e.message),
  );
  assert.throws(
    () => train({ ...CONFIG, steps: 10 }, FIXTURE, { start }),
    /the run is already at step 10 of 10: ask for more steps/,
  );
});

/** Runs the train CLI on the fixture; fails the test unless it exits 0. */
async function cli(args: string[]): Promise<string> {
  const out = await runScript("exercises/cli/train.ts", ...args);
  const text = out.stdout + out.stderr;
  assert.equal(out.code, 0, `train ${args.join(" ")}:\n${text}`);
  return text;
}

const dir = await Deno.makeTempDir({ prefix: "ninjagrad-resume-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const DATA = join(dir, "names.txt");
await Deno.writeTextFile(DATA, WORDS.join("\n"));
const common = ["--data", DATA, "--hidden", "16", "--eval-every", "100", "--quiet"];

Deno.test("train --steps 150 --save A, then --resume A --steps 300: A is the 300-step file, byte for byte", async () => {
  const straight = join(dir, "straight.ckpt"), a = join(dir, "a.ckpt");
  await cli([...common, "--steps", "300", "--save", straight]);
  // A 150-step run would drop its learning rate at step 75; this one is to go on to 300.
  await cli([...common, "--steps", "150", "--lr-decay-at", "150", "--save", a]);
  assert.equal((await loadCheckpoint(a)).step, 150);
  const resumed = await cli(["--resume", a, "--steps", "300", "--quiet"]); // data from A
  assert.match(resumed, new RegExp(`checkpoint saved to ${a}`));
  const [x, y] = [await Deno.readFile(a), await Deno.readFile(straight)];
  assert.deepEqual(x, y, "the resumed run's checkpoint differs from the straight run's");
  assert.equal((await loadCheckpoint(a)).step, 300);
});

Deno.test("a resumed run keeps the schedule it was saved with (a 150-step run decays at 75)", async () => {
  const b = join(dir, "b.ckpt"), straight = join(dir, "straight2.ckpt");
  await cli([...common, "--steps", "150", "--save", b]);
  await cli(["--resume", b, "--steps", "300", "--quiet"]);
  await cli([...common, "--steps", "300", "--lr-decay-at", "75", "--save", straight]);
  const resumed = await loadCheckpoint(b), same = await loadCheckpoint(straight);
  assert.equal(resumed.config.decayAt, 75);
  assert.deepEqual(resumed.model.weights, same.model.weights);
});

Deno.test("a failed save leaves no temp file behind and says why", async () => {
  const sub = join(dir, "taken");
  await Deno.mkdir(join(sub, "inside"), { recursive: true });
  const first = await runToEnd({ ...CONFIG, steps: 5 });
  // Renaming over a directory that holds something fails after the temp file is written.
  await assert.rejects(
    () => saveCheckpoint(sub, saved({ ...CONFIG, steps: 5 }, first.done)),
    (e: unknown) =>
      e instanceof NinjagradError && /^cannot write checkpoint .*taken: /.test(e.message),
  );
  assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")), []);
});

Deno.test({
  name: "a file-size limit is found before training: the old checkpoint stays whole, no temp file",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const path = join(dir, "kept.ckpt");
    await cli([...common, "--steps", "20", "--save", path]);
    const before = await Deno.readFile(path);
    // A 200-unit net's checkpoint is ~100 kB; the shell lets a file grow to 16 kB only (sh counts 512-byte blocks; SIGXFSZ
    // ignored, so Deno's own cache writes fail quietly): the limit is read before the probe.
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `trap '' XFSZ; ulimit -f 32; exec "$0" run -A "$1" --data "$2" --steps 5 --hidden 200 --eval-every 0 --quiet --save "$3"`,
        Deno.execPath(),
        TRAIN,
        DATA,
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 1, stderr);
    // Found before the first step, by a probe of a checkpoint's size: nothing trained in vain.
    assert.match(
      stderr,
      /^error: cannot save to .*kept\.ckpt: this shell's file-size limit \(ulimit -f\) is \d+ KiB, less than a checkpoint of about \d+ KiB; raise it \(ulimit -f unlimited\) or train without --save \(nothing was trained\)$/,
    );
    assert.ok(!stderr.includes("\n"), stderr);
    assert.deepEqual(await Deno.readFile(path), before, "the old checkpoint was changed");
    assert.equal((await loadCheckpoint(path)).step, 20);
    const left = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(".kept.ckpt."));
    assert.deepEqual(left, [], "a temp file was left behind");
  },
});
