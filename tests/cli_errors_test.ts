/**
 * Bad input at the command line: every case is one line on stderr that starts with "error:",
 * says what was wrong, and exits 2 for a usage mistake or 1 for anything else, with no stack
 * trace. The CLIs are spawned as a person runs them, a few at a time, on a 100-name fixture.
 */
import assert from "node:assert/strict";
import { loadNames } from "../exercises/data.ts";
import { type CommandOutcome, merged, runCommand, scratchDir } from "./helpers.ts";

const NAMES = new URL("../exercises/data/names.txt", import.meta.url);

const at = await scratchDir("ninjagrad-cli-errors-");
const names = (await loadNames(NAMES)).slice(0, 100);

// The fixtures: the first 100 of the lecture's names, bad names files, and a small checkpoint.
const DATA = at("names.txt");
await Deno.writeTextFile(DATA, names.join("\n") + "\n");
const files: Record<string, string | Uint8Array> = {
  "empty.txt": "",
  "dot.txt": "emma\nan.na\nolivia\n",
  "latin1.txt": new Uint8Array([...new TextEncoder().encode("emma\n"), 0xe9, 0x6c, 0x6f, 0x0a]),
  "nul.txt": "emma\nbo\0b\n",
  "few.txt": "emma\nolivia\n",
  // The same 27 symbols in other names; and names without q, x and z (a smaller vocabulary).
  "other.txt": [...names.slice(1), "zoe"].join("\n"),
  "smaller.txt": names.filter((w) => !/[qxz]/.test(w)).join("\n"),
};
for (const [name, content] of Object.entries(files)) {
  if (typeof content === "string") await Deno.writeTextFile(at(name), content);
  else await Deno.writeFile(at(name), content);
}
await Deno.mkdir(at("folder"));
const GOOD = at("good.ckpt");
const made = await runCommand("train", [
  "--data",
  DATA,
  "--steps",
  "20",
  "--hidden",
  "8",
  "--eval-every",
  "0",
  "--save",
  GOOD,
  "--quiet",
]);
assert.equal(made.code, 0, made.stderr.join("\n"));

// A checkpoint whose names file is gone since.
const GONE = at("gone.ckpt");
await Deno.writeTextFile(at("gone.txt"), names.join("\n"));
const goneArgs = `--steps 5 --hidden 8 --quiet --save ${GONE} --data ${at("gone.txt")}`;
const gone = await runCommand("train", goneArgs.split(" "));
assert.equal(gone.code, 0, gone.stderr.join("\n"));
await Deno.remove(at("gone.txt"));

// Checkpoints broken in each way a file can be.
const goodText = await Deno.readTextFile(GOOD);
/** The parts of a checkpoint's JSON the cases edit. */
interface CheckpointJson {
  format?: string;
  version: number;
  config: Record<string, unknown>;
  vocab: string[];
  params: Record<string, { base64: string }>;
}
const edited = (edit: (j: CheckpointJson) => void) => {
  const j = JSON.parse(goodText);
  edit(j);
  return JSON.stringify(j);
};
const base64Of = (f: (bytes: Uint8Array) => void, b64: string) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  f(bytes);
  return btoa(String.fromCharCode(...bytes));
};
const checkpoints: Record<string, string | Uint8Array> = {
  "truncated.ckpt": goodText.slice(0, Math.floor(goodText.length / 2)),
  "empty.ckpt": "",
  "syntax.ckpt": goodText.replace('"step":', '"step"'),
  "binary.ckpt": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
  "names.ckpt": names.join("\n"),
  "format.ckpt": edited((j) => delete j.format),
  "version.ckpt": edited((j) => (j.version = 99)),
  "base64.ckpt": edited((j) => (j.params.W1.base64 = "!!!!" + j.params.W1.base64)),
  "nan.ckpt": edited((j) => {
    // float32 NaN, little-endian, as the first value of W2.
    j.params.W2.base64 = base64Of((b) => b.set([0, 0, 0xc0, 0x7f]), j.params.W2.base64);
  }),
  "sizes.ckpt": edited((j) => (j.config.hidden = 12)),
  "vocab.ckpt": edited((j) => (j.vocab = [".", ..."abcdefghijklmnopqrs"])),
  "novocab.ckpt": edited((j) => (j.vocab = [..."abcdefghijklmnopqrstuvwxyz."])),
  "values.ckpt": edited((j) => (j.params.b1.base64 = j.params.b1.base64.slice(0, 16))),
};
for (const [name, content] of Object.entries(checkpoints)) {
  if (typeof content === "string") await Deno.writeTextFile(at(name), content);
  else await Deno.writeFile(at(name), content);
}

/** One bad input: the command, its arguments, the exit code and what the line must say. */
interface Case {
  what: string;
  cli: "train" | "exercise" | "sample" | "ninja";
  args: string[];
  code: 1 | 2;
  says: RegExp;
}

const train = (what: string, args: string[], code: 1 | 2, says: RegExp): Case => ({
  what,
  cli: "train",
  args: merged(["--data", DATA, "--steps", "5", "--hidden", "8", "--quiet"], args),
  code,
  says,
});
const sample = (what: string, file: string, says: RegExp, args: string[] = []): Case => ({
  what,
  cli: "sample",
  args: [...(file === "" ? [] : ["--checkpoint", file]), ...args],
  code: args.length > 0 || file === "" ? 2 : 1,
  says,
});

const CASES: Case[] = [
  // train flags
  train(
    "an unknown flag, with the one meant",
    ["--stesp", "5"],
    2,
    /unknown flag --stesp; did you mean --steps\?/,
  ),
  train(
    "an unknown flag, with the list",
    ["--frobnicate"],
    2,
    /unknown flag --frobnicate; its flags are --steps, /,
  ),
  train("a flag without its value", ["--lr"], 2, /train: --lr needs a value$/),
  train("a value for a switch", ["--json=yes"], 2, /--json is a switch and takes no value/),
  train("an empty value", ["--data", ""], 2, /train: --data needs a value, got ""/),
  train("an argument that is not a flag", ["fast"], 2, /unexpected argument "fast"/),
  train("--steps abc", ["--steps", "abc"], 2, /--steps must be a number, got "abc"/),
  train("--steps 0", ["--steps", "0"], 2, /--steps must be between 1 and 1000000000, got 0/),
  train("--steps 2.5", ["--steps", "2.5"], 2, /--steps must be a whole number, got 2.5/),
  train("--batch 0", ["--batch", "0"], 2, /^error: --batch must be at least 2, got 0$/),
  train(
    "--batch 1 (unbiased variance)",
    ["--batch", "1"],
    2,
    /--batch must be at least 2, got 1: BatchNorm's unbiased variance divides by n − 1, which is 0 for a batch of one/,
  ),
  train("--lr -1", ["--lr", "-1"], 2, /^error: --lr must be a positive number, got -1$/),
  train("--lr 0", ["--lr", "0"], 2, /--lr must be a positive number, got 0/),
  train("--lr abc", ["--lr", "abc"], 2, /--lr must be a number, got "abc"/),
  train("--lr 1e9", ["--lr", "1e9"], 2, /--lr 1e9 is too large to train: .*; use at most 1000$/),
  train("--hidden -3", ["--hidden", "-3"], 2, /--hidden must be at least 1, got -3/),
  train("--lr-decay-at -1", ["--lr-decay-at", "-1"], 2, /--lr-decay-at must be at least 0, got -1/),
  train("--seed -1", ["--seed", "-1"], 2, /--seed must be between 0 and \d+, got -1/),
  train(
    "--rng numpy",
    ["--rng", "numpy"],
    2,
    /--rng must be one of seedrandom, torch, got "numpy"/,
  ),
  train("--dtype float16", ["--dtype", "float16"], 2, /--dtype must be one of float32, float64/),
  train(
    "--save into a missing directory",
    ["--save", at("nowhere/model.ckpt")],
    1,
    /cannot save to .*: directory .*nowhere does not exist/,
  ),
  train(
    "--save naming a directory",
    ["--save", at("folder")],
    1,
    /cannot save to .*folder: it is a directory/,
  ),
  // exercise flags
  {
    what: "an exercise that does not exist",
    cli: "exercise",
    args: ["9"],
    code: 2,
    says: /exercise needs a number: 1, 2, 3, 4, got "9"/,
  },
  {
    what: "exercise: an unknown flag",
    cli: "exercise",
    args: ["1", "--sede", "3"],
    code: 2,
    says: /exercise 1: unknown flag --sede; did you mean --seed\?/,
  },
  {
    what: "exercise: --seed -1",
    cli: "exercise",
    args: ["1", "--seed", "-1"],
    code: 2,
    says: /--seed must be between 0 and 4294967295, got -1/,
  },
  {
    what: "exercise: --seed abc",
    cli: "exercise",
    args: ["2", "--seed", "abc"],
    code: 2,
    says: /--seed must be a number, got "abc"/,
  },
  {
    what: "exercise: --dtype half",
    cli: "exercise",
    args: ["3", "--dtype", "half"],
    code: 2,
    says: /--dtype must be one of float32, float64, got "half"/,
  },
  {
    what: "exercise 4: --steps 0",
    cli: "exercise",
    args: ["4", "--steps", "0"],
    code: 2,
    says: /--steps must be at least 1, got 0/,
  },
  // sample flags
  sample("sample without --checkpoint", "", /sample needs --checkpoint FILE/),
  sample("sample -n 0", GOOD, /--count must be at least 1, got 0/, ["-n", "0"]),
  sample("sample -n abc", GOOD, /--count must be a number, got "abc"/, ["-n", "abc"]),
  sample("sample --seed -5", GOOD, /--seed must be between 0 and \d+, got -5/, ["--seed", "-5"]),
  sample(
    "sample: an unknown flag",
    GOOD,
    /sample: unknown flag --names; its flags are --checkpoint, --count, --seed, --help/,
    ["--names"],
  ),
  // data
  train(
    "a names file that is not there",
    ["--data", at("missing.txt")],
    1,
    /names file .*missing.txt not found: check the path/,
  ),
  train(
    "an empty names file",
    ["--data", at("empty.txt")],
    1,
    /names file .*empty.txt has no names: put one name per line/,
  ),
  train(
    "a name containing '.'",
    ["--data", at("dot.txt")],
    1,
    /line 2: "an.na" contains ".", which is the start\/end token/,
  ),
  train(
    "bytes that are not UTF-8 text",
    ["--data", at("latin1.txt")],
    1,
    /line 2 is not valid UTF-8 text: save it as UTF-8/,
  ),
  train("a NUL byte", ["--data", at("nul.txt")], 1, /line 2 contains control character U\+0000/),
  train(
    "a directory as names",
    ["--data", at("folder")],
    1,
    /is a directory: pass a text file with one name per line/,
  ),
  train(
    "too few names to split",
    ["--data", at("few.txt")],
    1,
    /has 2 names: too few to split 80\/10\/10/,
  ),
  {
    what: "exercise: a names file that is not there",
    cli: "exercise",
    args: ["1", "--data", at("missing.txt")],
    code: 1,
    says: /names file .*missing.txt not found/,
  },
  {
    what: "exercise: a name containing '.'",
    cli: "exercise",
    args: ["2", "--data", at("dot.txt")],
    code: 1,
    says: /"an.na" contains "."/,
  },
  // checkpoints, read by sample
  sample(
    "a checkpoint that is not there",
    at("missing.ckpt"),
    /checkpoint .*missing.ckpt not found: check the path, or train with --save/,
  ),
  sample(
    "a truncated checkpoint",
    at("truncated.ckpt"),
    /truncated.ckpt is not valid JSON \(truncated or corrupt\?\): it stops after [\d,]+ characters, in the middle of its JSON/,
  ),
  sample("an empty checkpoint", at("empty.ckpt"), /empty.ckpt is empty: not a checkpoint/),
  sample(
    "corrupt JSON",
    at("syntax.ckpt"),
    /syntax.ckpt is not valid JSON \(truncated or corrupt\?\): Expected ':' after property name at line 1 column \d+/,
  ),
  sample(
    "a binary file",
    at("binary.ckpt"),
    /binary.ckpt holds binary data, not the JSON text that train --save writes/,
  ),
  sample(
    "a names file as a checkpoint",
    at("names.ckpt"),
    /names.ckpt is not valid JSON \(truncated or corrupt\?\): it starts with "emma\\nolivia\\n", not "\{"/,
  ),
  sample(
    "JSON that is not a checkpoint",
    at("format.ckpt"),
    /not a ninjagrad checkpoint \(no "format": "ninjagrad-checkpoint"\)/,
  ),
  sample(
    "a checkpoint of another version",
    at("version.ckpt"),
    /version 99 is not supported; this ninjagrad reads version 2/,
  ),
  sample(
    "corrupt binary data (base64)",
    at("base64.ckpt"),
    /"params.W1.base64" is not base64 text/,
  ),
  sample(
    "a NaN among the weights",
    at("nan.ckpt"),
    /params.W2 holds NaN at index 0; a saved model holds finite numbers only/,
  ),
  sample(
    "arrays that do not match the declared sizes",
    at("sizes.ckpt"),
    /params.W1 has shape \(30, 8\) but the config and vocabulary need \(30, 12\): its arrays do not match its declared sizes/,
  ),
  sample(
    "another vocabulary than its arrays",
    at("vocab.ckpt"),
    /params.C has shape \(27, 10\) but the config and vocabulary need \(20, 10\): its arrays do not match its declared sizes/,
  ),
  sample(
    "a vocabulary without the '.' token first",
    at("novocab.ckpt"),
    /"vocab" must be a list of symbols starting with "."/,
  ),
  sample(
    "too few values for a shape",
    at("values.ckpt"),
    /params.b1 holds 3 values but its shape \(8,\) needs 8/,
  ),
  sample(
    "a directory as checkpoint",
    at("folder"),
    /folder is a directory: pass the file train --save wrote/,
  ),
  // checkpoints, resumed by train
  {
    what: "resume: a checkpoint that is not there",
    cli: "train",
    args: ["--resume", at("missing.ckpt")],
    code: 1,
    says: /missing.ckpt not found/,
  },
  {
    what: "resume: a truncated checkpoint",
    cli: "train",
    args: ["--resume", at("truncated.ckpt")],
    code: 1,
    says: /truncated.ckpt is not valid JSON/,
  },
  {
    what: "resume with another --hidden",
    cli: "train",
    args: ["--resume", GOOD, "--steps", "40", "--hidden", "16"],
    code: 2,
    says:
      /--hidden 16 does not match the checkpoint's 8: a resumed run keeps the settings it was saved with; leave --hidden out/,
  },
  {
    what: "resume with another --dtype",
    cli: "train",
    args: ["--resume", GOOD, "--steps", "40", "--dtype", "float64"],
    code: 2,
    says: /--dtype float64 does not match the checkpoint's float32/,
  },
  {
    what: "resume a finished run",
    cli: "train",
    args: ["--resume", GOOD],
    code: 2,
    says: /good.ckpt is at step 20 already, the end of its run: pass --steps N with N > 20/,
  },
  {
    what: "resume with another vocabulary",
    cli: "train",
    args: ["--resume", GOOD, "--steps", "40", "--data", at("smaller.txt")],
    code: 1,
    says:
      /was trained on a vocabulary of 27 symbols \(\.abcdefghijklmnopqrstuvwxyz\) but .*smaller.txt gives 24/,
  },
  {
    what: "resume with other names",
    cli: "train",
    args: ["--resume", GOOD, "--steps", "40", "--data", at("other.txt")],
    code: 1,
    says: /was trained on .*names.txt \(100 names\), but .*other.txt holds other names/,
  },
  {
    what: "resume when the names it was trained on are gone",
    cli: "train",
    args: ["--resume", GONE, "--steps", "10"],
    code: 1,
    says:
      /gone.ckpt was trained on .*gone.txt \(100 names\), which cannot be loaded now \(names file .*gone.txt not found\); pass --data with the same names$/,
  },
];

/** Runs the cases a few at a time as the module loads; each test awaits its own. */
function runAll(cases: Case[], width = 4): Promise<CommandOutcome>[] {
  const results: Promise<CommandOutcome>[] = [];
  const slots: Promise<unknown>[] = [];
  cases.forEach((c, i) => {
    const previous = slots[i % width] ?? Promise.resolve();
    const p = previous.then(() => runCommand(c.cli, c.args));
    slots[i % width] = p.catch(() => {});
    results.push(p);
  });
  return results;
}
const outcomes = runAll(CASES);

CASES.forEach((c, i) => {
  Deno.test(`${c.cli}: ${c.what} → exit ${c.code}, one line`, async () => {
    const { code, stderr } = await outcomes[i];
    const shown = `${c.cli} ${c.args.join(" ")}\n${stderr.join("\n")}`;
    assert.equal(code, c.code, shown);
    assert.equal(stderr.length, 1, `more than one line on stderr: ${shown}`);
    assert.ok(stderr[0].startsWith("error: "), shown);
    assert.ok(!stderr.some((l) => /^\s+at /.test(l)), `a stack trace: ${shown}`);
    assert.match(stderr[0], c.says);
  });
});

Deno.test("the fixture checkpoint itself is good: sample reads it (exit 0)", async () => {
  const { code, stdout } = await runCommand("sample", ["--checkpoint", GOOD, "-n", "3"]);
  assert.equal(code, 0);
  assert.equal(stdout.trim().split("\n").length, 3);
});
