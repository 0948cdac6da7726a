import assert from "node:assert/strict";
import { join } from "node:path";
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
import { sampleNames, samplingRandom } from "../exercises/train/sample.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { sha256Hex } from "../exercises/data.ts";
import { lectureNames, runScript, trainToEnd } from "./helpers.ts";

const WORDS = await lectureNames(200);
const FIXTURE = prepareData(WORDS, 3, "200 names");
/** Which names the fixture's runs trained on, as a checkpoint records it. */
const DATA = { names: WORDS.length, sha256: await sha256Hex(WORDS.join("\n")) };
const CONFIG: TrainConfig = { ...DEFAULT_CONFIG, steps: 100, hidden: 24, evalEvery: 0, seed: 11 };

/** A small trained model, as a checkpoint. */
async function trained(config = CONFIG): Promise<Checkpoint> {
  const { done } = await trainToEnd(config, FIXTURE);
  return { config, step: done.step, model: done.model, rngState: done.rngState, data: DATA };
}

const CKPT = await trained();

/** Asserts `fn` throws a one-line NinjagradError matching `pattern`. */
async function rejectsOneLine(fn: () => Promise<unknown> | unknown, pattern: RegExp) {
  await assert.rejects(async () => await fn(), (e: unknown) => {
    assert.ok(e instanceof NinjagradError, `not a NinjagradError: ${e}`);
    assert.ok(!e.message.includes("\n"), `more than one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("save → load → sample gives the names of the model in memory", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "model.ckpt");
  await saveCheckpoint(path, CKPT);
  const loaded = await loadCheckpoint(path);
  for (const name of PARAM_NAMES) {
    assert.deepEqual(loaded.model.weights[name], CKPT.model.weights[name], `${name} changed`);
  }
  assert.deepEqual(loaded.model.bn, CKPT.model.bn);
  assert.deepEqual(loaded.rngState, CKPT.rngState);
  assert.equal(loaded.step, 100);
  const fromMemory = sampleNames(CKPT.model, 20, samplingRandom(CONFIG.seed));
  const fromFile = sampleNames(loaded.model, 20, samplingRandom(loaded.config.seed));
  assert.deepEqual(fromFile, fromMemory);
  // Atomic: the temp file was renamed, nothing else is left behind.
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.ckpt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("float64 models round-trip bit for bit", async () => {
  const ckpt = await trained({ ...CONFIG, steps: 5, dtype: "float64" });
  const back = decodeCheckpoint(encodeCheckpoint(ckpt));
  assert.ok(back.model.weights.W1 instanceof Float64Array);
  assert.deepEqual(back.model.weights.W1, ckpt.model.weights.W1);
});

Deno.test("a broken checkpoint is a one-line error naming what is wrong", async () => {
  const text = encodeCheckpoint(CKPT);
  const edit = (f: (j: Record<string, unknown>) => void) => {
    const j = JSON.parse(text);
    f(j);
    return JSON.stringify(j);
  };
  const cases: [string, RegExp][] = [
    [text.slice(0, text.length / 2), /not valid JSON \(truncated or corrupt\?\)/],
    ["{}", /not a ninjagrad checkpoint/],
    [edit((j) => (j.version = 99)), /version 99 is not supported/],
    [edit((j) => delete (j.params as Record<string, unknown>).W2), /missing field "params.W2"/],
    [edit((j) => delete j.bn), /missing field "bn.mean"/],
    [
      edit((j) => {
        const w1 = (j.params as Record<string, { base64: string }>).W1;
        w1.base64 = w1.base64.slice(0, 400); // 300 bytes: 75 float32 values
      }),
      /params.W1 holds 75 values but its shape \(30, 24\) needs 720/,
    ],
    [
      edit((j) => ((j.params as Record<string, { shape: number[] }>).b1.shape = [25])),
      /params.b1 has shape \(25,\) but the config and vocabulary need \(24,\)/,
    ],
    [
      edit((j) => ((j.config as Record<string, unknown>).batch = 1)),
      /batch must be at least 2/,
    ],
    [edit((j) => ((j.rng as Record<string, unknown>).main = {})), /"rng": the saved rng state/],
    // Every field that matters, typed: a resumed run must not go on with a wrong one.
    [
      edit((j) => {
        const bn = j.bn as Record<string, { base64: string }>;
        // float64 −1, little-endian, as the first variance.
        const bytes = Uint8Array.from(atob(bn.var.base64), (c) => c.charCodeAt(0));
        bytes.set([0, 0, 0, 0, 0, 0, 0xf0, 0xbf]);
        bn.var.base64 = btoa(String.fromCharCode(...bytes));
      }),
      /bn.var holds -1 at index 0; a variance is never negative/,
    ],
    [
      edit((j) => delete (j.config as Record<string, unknown>).chunkMs),
      /"config": chunkMs must be a positive number of milliseconds, at most 1000 \(Ctrl-C is handled between chunks\), got nothing/,
    ],
    [
      edit((j) => ((j.config as Record<string, unknown>).chunkMs = "50")),
      /"config": chunkMs must be a positive number of milliseconds, at most 1000 .*, got "50"/,
    ],
    [
      edit((j) => ((j.config as Record<string, unknown>).lr = "0.1")),
      /"config": lr must be a positive number, got "0.1"/,
    ],
    [
      edit((j) => ((j.config as Record<string, unknown>).steps = 1e12)),
      /"config": steps must be a whole number from 1 to 1000000000, got 1000000000000/,
    ],
    [
      edit((j) => delete j.data),
      /"data" is missing: a checkpoint says which names it was trained on/,
    ],
    [edit((j) => ((j.data as Record<string, unknown>).sha256 = "beef")), /"data" must be/],
    [
      edit((j) => (j.step = 1e300)),
      /"step" must be a whole number from 0 to the run's 100 steps, got 1e\+300/,
    ],
    [edit((j) => (j.step = 101)), /"step" must be a whole number from 0 to the run's 100 steps/],
    [edit((j) => (j.losses = { train: "2.1", val: 2 })), /"losses" must be \{ train, val \}/],
  ];
  for (const [bad, pattern] of cases) await rejectsOneLine(() => decodeCheckpoint(bad), pattern);
  // Where the JSON breaks is said once, in words.
  await rejectsOneLine(
    () => decodeCheckpoint(`${text}x`),
    /Unexpected non-whitespace character after JSON at line 1 column \d+; use another checkpoint/,
  );
  assert.throws(() => decodeCheckpoint(`${text}x`), (e: Error) => {
    assert.equal(e.message.match(/column/g)?.length, 1, e.message);
    return true;
  });
  await rejectsOneLine(() => loadCheckpoint("/nonexistent/model.ckpt"), /not found/);
  await rejectsOneLine(
    () => saveCheckpoint("/nonexistent/dir/model.ckpt", CKPT),
    /directory \/nonexistent\/dir does not exist/,
  );
});

Deno.test("deno task sample: names from a checkpoint; a corrupt one exits 1 with one line", async () => {
  const dir = await Deno.makeTempDir();
  const good = join(dir, "good.ckpt"), bad = join(dir, "bad.ckpt");
  await saveCheckpoint(good, CKPT);
  await Deno.writeTextFile(bad, (await Deno.readTextFile(good)).slice(0, 1000));
  const run = async (args: string[]) => {
    const out = await runScript("exercises/cli/sample.ts", ...args);
    const lines = (text: string) => text.trim().split("\n").filter(Boolean);
    return { code: out.code, stdout: lines(out.stdout), stderr: lines(out.stderr) };
  };
  const [ok, corrupt, missing, usage] = await Promise.all([
    run(["--checkpoint", good, "-n", "5"]),
    run(["--checkpoint", bad]),
    run(["--checkpoint", join(dir, "nope.ckpt")]),
    run(["-n", "3"]),
  ]);
  assert.equal(ok.code, 0, ok.stderr.join("\n"));
  assert.deepEqual(ok.stdout, sampleNames(CKPT.model, 5, samplingRandom(CONFIG.seed)));
  for (const [r, want] of [[corrupt, /not valid JSON/], [missing, /not found/]] as const) {
    assert.equal(r.code, 1);
    assert.equal(r.stderr.length, 1);
    assert.match(r.stderr[0], want);
  }
  assert.equal(usage.code, 2);
  assert.match(usage.stderr[0], /needs --checkpoint FILE/);
  await Deno.remove(dir, { recursive: true });
});
