/**
 * A checkpoint cannot lie: it carries the SHA-256 of its content, checked on resume, so one
 * base64 character of W1 changed or `step` edited is refused in one line, the file left as it
 * was; every config field is bounded (`chunkMs: 1e9` would keep Ctrl-C from ever being handled);
 * and weights that give an infinite loss before any update are blamed on the checkpoint, not on
 * the learning rate.
 */
import assert from "node:assert/strict";
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint } from "../exercises/checkpoint.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import {
  assertOneLine,
  type CommandOutcome,
  lectureNames,
  runCommand,
  scratchDir,
} from "./helpers.ts";

const at = await scratchDir("ninjagrad-ckpt-adv-");
const DATA = at("names.txt");
await Deno.writeTextFile(DATA, (await lectureNames(100)).join("\n") + "\n");
const GOOD = at("good.ckpt");
const made = await runCommand("train", [
  ...["--data", DATA, "--hidden", "8", "--steps", "20", "--save", GOOD, "--quiet"],
]);
assert.equal(made.code, 0, made.stderr.join("\n"));
const goodText = await Deno.readTextFile(GOOD);

/** Writes `text` as checkpoint `name`, resumes it to step 40, and returns the outcome. */
async function resume(name: string, text: string): Promise<CommandOutcome> {
  await Deno.writeTextFile(at(name), text);
  return runCommand("train", ["--resume", at(name), "--steps", "40", "--quiet"]);
}

const CHANGED =
  /checkpoint .*: its content does not match its checksum: a weight, the step or a setting was changed after train --save wrote it, so a resumed run would not be the run it says; use an unedited checkpoint, or train again with --save$/;

Deno.test("one base64 character of W1 changed: --resume refused in one line, file unchanged", async () => {
  const j = JSON.parse(goodText);
  const b64: string = j.params.W1.base64;
  // The first character holds the low bits of the first value's mantissa: still a finite number.
  const swapped = b64[0] === "A" ? "B" : "A";
  const text = goodText.replace(`"base64":"${b64}"`, `"base64":"${swapped}${b64.slice(1)}"`);
  assert.notEqual(text, goodText);
  const out = await resume("w1.ckpt", text);
  assertOneLine(out, 1, CHANGED);
  assert.equal(await Deno.readTextFile(at("w1.ckpt")), text, "the file is as it was");
});

Deno.test("`step` edited (20 → 10): --resume refused in one line", async () => {
  assert.match(goodText, /"step":20,/);
  const text = goodText.replace('"step":20,', '"step":10,');
  const out = await resume("step.ckpt", text);
  assertOneLine(out, 1, CHANGED);
  assert.equal(await Deno.readTextFile(at("step.ckpt")), text);
});

Deno.test("the unedited checkpoint resumes, and pretty-printing it keeps its checksum", async () => {
  const pretty = JSON.stringify(JSON.parse(goodText), null, 2);
  const out = await resume("pretty.ckpt", pretty);
  assert.equal(out.code, 0, out.stderr.join("\n"));
  assert.equal((await loadCheckpoint(at("pretty.ckpt"))).step, 40);
});

Deno.test("config.chunkMs 1e9 (Ctrl-C never handled) is refused, as is every unbounded field", async () => {
  const out = await resume("chunk.ckpt", goodText.replace(/"chunkMs":\d+/, '"chunkMs":1e9'));
  assertOneLine(
    out,
    1,
    /"config": chunkMs must be a positive number of milliseconds, at most 1000 \(Ctrl-C is handled between chunks\), got 1000000000$/,
  );
  const edits: [string, unknown, RegExp][] = [
    ["lr", 1e9, /lr must be from 1e-10 to 1000 .*, got 1000000000$/],
    ["lr", 1e-300, /lr must be from 1e-10 to 1000 .*, got 1e-300$/],
    ["hidden", 2 ** 40, /hidden must be a whole number from 1 to 2147483647, got 1099511627776/],
    ["evalEvery", 1e15, /evalEvery must be a whole number from 0 to 1000000000/],
    ["decayAt", 1e15, /decayAt must be a whole number from 0 to 1000000000/],
    ["evalExamples", 1e15, /evalExamples must be a whole number from 2 to 2147483647/],
    ["batch", 1e15, /batch must be a whole number from 2 to 2147483647, got 1000000000000000/],
    ["seed", 2 ** 53, /seed must be a whole number from 0 to 9007199254740981/],
  ];
  for (const [field, value, says] of edits) {
    const j = JSON.parse(goodText);
    j.config[field] = value;
    assert.throws(
      () => decodeCheckpoint(JSON.stringify(j)),
      (e: unknown) => e instanceof NinjagradError && says.test(e.message) && !/\n/.test(e.message),
      `${field}: ${value}`,
    );
  }
});

Deno.test("a checkpoint without its checksum, or of version 1, is refused", () => {
  const j = JSON.parse(goodText);
  delete j.sha256;
  assert.throws(() => decodeCheckpoint(JSON.stringify(j)), /"sha256" .* is missing/);
  j.version = 1;
  assert.throws(
    () => decodeCheckpoint(JSON.stringify(j)),
    /version 1 was written before checkpoints carried a checksum .*: train again with --save$/,
  );
});

Deno.test("huge finite weights: blamed on the checkpoint, not on the learning rate", async () => {
  // Written through encodeCheckpoint, so its checksum is right: a file made by another tool.
  const c = decodeCheckpoint(goodText);
  c.model.weights.W1.fill(3e38);
  const out = await resume("huge.ckpt", encodeCheckpoint(c));
  assertOneLine(
    out,
    1,
    /the loss is NaN at step 21, the first after resuming, before any update of this run: the checkpoint's weights give it \(the largest weight is W1\[0\] = 3\.00e\+38\), not the learning rate; resume from another checkpoint, or train again$/,
  );
});
